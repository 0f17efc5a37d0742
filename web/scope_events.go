package web

import (
	"strings"

	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// streamFilter decides, for one live event stream, which events its user
// may see. Events that name an agent, an extension or a queue are shown
// when that is in the user's scope; call events that name only the call
// (call.ended, call.dtmf, recording.stopped) are shown when the stream
// has already shown that call, so a manager sees the end of each team
// call and nothing of the others.
//
// The filter is owned by the stream's goroutine.
type streamFilter struct {
	p     auth.Principal
	role  string
	site  func() *site.Site // the site may change while the stream is open
	calls map[string]bool

	// The scope computed for the site last seen: the site is an immutable
	// snapshot, so a new pointer is the only change to watch for.
	seen  *site.Site
	cache Scope
}

func newStreamFilter(p auth.Principal, st func() *site.Site) *streamFilter {
	if st == nil {
		st = func() *site.Site { return nil }
	}
	return &streamFilter{p: p, role: p.Role, site: st, calls: map[string]bool{}}
}

func (f *streamFilter) scope() Scope {
	st := f.site()
	if st != f.seen || f.cache.Agents == nil {
		f.seen, f.cache = st, ScopeOf(f.p, st)
	}
	return f.cache
}

// maxStreamCalls bounds the calls one stream remembers: calls that never
// send call.ended (a crash) must not grow it for ever. Past it the
// memory starts again, and only the end of older calls is lost.
const maxStreamCalls = 4096

// streamTypes are the event type prefixes a non-admin stream subscribes
// to; each is then filtered by scope in show. user.login, board.* and
// the like name no one the user may see and stay admin-only.
var streamTypes = map[string][]string{
	auth.Agent:   {"agent.", "queue.", "call.", "presence.", "recording."},
	auth.Manager: {"agent.", "queue.", "call.", "presence.", "recording.", "sip.", "config.", "schedule."},
}

// match is the bus's type pre-filter for the stream: nil (all) for admins.
func (f *streamFilter) match() func(string) bool {
	if f.role == auth.Admin {
		return nil
	}
	p := streamTypes[f.role]
	if p == nil {
		return func(string) bool { return false }
	}
	return events.Filter(p...)
}

// show reports whether the stream's user may see ev.
func (f *streamFilter) show(ev events.Event) bool {
	if f.role == auth.Admin {
		return true
	}
	sc := f.scope()
	remember := func(call string) {
		if call == "" {
			return
		}
		if len(f.calls) >= maxStreamCalls {
			clear(f.calls)
		}
		f.calls[call] = true
	}
	switch d := ev.Data.(type) {
	case events.AgentStatus:
		return sc.Agent(d.Agent)
	case events.AgentState:
		if !sc.Agent(d.Agent) {
			return false
		}
		remember(d.Call)
		return true
	case events.AgentMaxNoAnswer:
		return sc.Agent(d.Agent)
	case events.AgentQueue:
		return sc.Agent(d.Agent)
	case events.AgentOffered:
		if !sc.Agent(d.Agent) {
			return false
		}
		remember(d.CallID)
		return true
	case events.AgentOfferEnded:
		return sc.Agent(d.Agent)
	case events.CallStarted:
		if sc.Extension(d.From) || sc.Extension(d.To) {
			remember(d.Call)
			return true
		}
		return false
	case events.CallAnswered:
		if f.calls[d.Call] || sc.Agent(d.Agent) || sc.Extension(targetExtension(d.By)) {
			remember(d.Call)
			return true
		}
		return false
	case events.CallState:
		// Where the call went: a queue, an extension or an agent in scope
		// makes it a team call from then on.
		if f.calls[d.Call] || destInScope(sc, d.Dest) {
			remember(d.Call)
			return true
		}
		return false
	case events.CallEnded:
		ok := f.calls[d.Call]
		delete(f.calls, d.Call)
		return ok
	case events.CallDTMF:
		return f.calls[d.Call]
	case events.RecordingStopped:
		return f.calls[d.Call]
	case events.QueueCaller:
		if !sc.Queue(d.Queue) {
			return false
		}
		// A manager follows every caller of their team's queues; an
		// agent sees the queue's comings and goings (view redacts them)
		// and follows only the calls offered to them.
		if sc.Team {
			remember(d.Call)
		}
		return true
	case events.QueueEmptyWarning:
		return sc.Queue(d.Queue)
	case events.PresenceChanged:
		kind, id, _ := strings.Cut(d.Key, ":")
		switch kind {
		case "ext":
			return sc.Extension(id)
		case "agent":
			return sc.Agent(id)
		}
		return false // a mobile number says nothing of whose it is
	case events.SIPRegistered:
		return sc.Extension(d.Extension)
	case events.SIPUnregistered:
		return sc.Extension(d.Extension)
	case events.ConfigChanged, events.ScheduleOverride:
		// Names no person or call; the pages reload on it.
		return true
	}
	// A kind this filter does not know may name anyone: admins only.
	return false
}

// view is what the stream's user sees of ev, and whether they see it at
// all: an agent sees a queue's callers come and go (the waiting count)
// but not their numbers, nor which other agent took them.
func (f *streamFilter) view(ev events.Event) (events.Event, bool) {
	if !f.show(ev) {
		return ev, false
	}
	if f.role == auth.Admin {
		return ev, true
	}
	if d, ok := ev.Data.(events.QueueCaller); ok && !f.scope().Team {
		d.From, d.To = "", ""
		if !f.scope().Agent(d.Agent) {
			d.Agent = ""
		}
		ev.Data = d
	}
	return ev, true
}

// targetExtension is the extension of a leg target: "ext:101" and
// "agent:bob/ext:101" give "101", anything else "".
func targetExtension(target string) string {
	if i := strings.LastIndex(target, "ext:"); i >= 0 && (i == 0 || target[i-1] == '/') {
		return target[i+4:]
	}
	return ""
}

// destInScope reports whether destination dest ("queue:service",
// "extension:101", "voicemail:101", "agent:bob") names something in scope.
func destInScope(sc Scope, dest string) bool {
	kind, id, _ := strings.Cut(dest, ":")
	switch kind {
	case "queue":
		// An agent answers for their own calls, not their queues'.
		return sc.All || sc.Team && sc.Queue(id)
	case "extension", "voicemail":
		return sc.Extension(id)
	case "agent":
		return sc.Agent(id)
	}
	return false
}
