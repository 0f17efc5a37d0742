package web_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
	"ringbox/web"
)

// The principals every scope table is checked against: an admin, mona
// (manager of al, ann and joe), al (an agent of mona's team, in queue
// service) and a manager API token bound to no agent. Anonymous callers
// cannot open a stream (the route table checks their 401).
var tableRoles = []struct {
	name string
	p    auth.Principal
}{
	{"admin", auth.Principal{Login: "root", Role: auth.Admin}},
	{"manager", auth.Principal{Login: "mona", Role: auth.Manager, Agent: "m1"}},
	{"agent", auth.Principal{Login: "al", Role: auth.Agent, Agent: "a1"}},
	{"token", auth.Principal{Login: "token:report", Role: auth.Manager}},
}

// eventCase is what each role sees of one event type. Each event comes
// in three versions: mine (al's own, so also mona's team), team (mona's
// team but not al's own) and other (max's team: bea, 201, queue sales).
// See holds one letter per version, y or n, for each role.
type eventCase struct {
	mine, team, other events.Payload
	// prime are the events the stream saw before, per version: call
	// events that name only the call are shown when the stream showed
	// the call's start.
	prime [3]events.Payload
	see   map[string]string
	// check inspects what a role was shown (redactions).
	check func(t *testing.T, role string, ev events.Event)
}

func all3(p events.Payload) (events.Payload, events.Payload, events.Payload) { return p, p, p }

// scoped is the usual pattern: admins everything, the manager their
// team, the agent their own, the token nothing.
var scoped = map[string]string{"admin": "yyy", "manager": "yyn", "agent": "ynn", "token": "nnn"}

// adminOnly events name the box or logins, nobody a manager answers for.
var adminOnly = map[string]string{"admin": "yyy", "manager": "nnn", "agent": "nnn", "token": "nnn"}

var callPrime = [3]events.Payload{
	events.CallStarted{Call: "m", From: "101", To: "+15550001"},
	events.CallStarted{Call: "t", From: "+15550002", To: "104"},
	events.CallStarted{Call: "o", From: "+15550003", To: "201"},
}

func eventTable() map[string]eventCase {
	sched := events.ScheduleOverride{Schedule: "office", Override: "closed"}
	conf := events.ConfigChanged{Version: 7}
	return map[string]eventCase{
		"CallStarted": {mine: events.CallStarted{Call: "m", From: "101", To: "+15550001"}, team: events.CallStarted{Call: "t", To: "104"}, other: events.CallStarted{Call: "o", To: "201"}, see: scoped},
		"CallAnswered": {mine: events.CallAnswered{Call: "m", By: "agent:a1/ext:101", Agent: "a1"}, team: events.CallAnswered{Call: "t", By: "ext:104"},
			other: events.CallAnswered{Call: "o", By: "agent:b1/ext:201", Agent: "b1"}, see: scoped},
		"CallEnded":        {mine: events.CallEnded{Call: "m"}, team: events.CallEnded{Call: "t"}, other: events.CallEnded{Call: "o"}, prime: callPrime, see: scoped},
		"CallDTMF":         {mine: events.CallDTMF{Call: "m", Digit: "1"}, team: events.CallDTMF{Call: "t", Digit: "1"}, other: events.CallDTMF{Call: "o", Digit: "1"}, prime: callPrime, see: scoped},
		"RecordingStopped": {mine: events.RecordingStopped{Call: "m"}, team: events.RecordingStopped{Call: "t"}, other: events.RecordingStopped{Call: "o"}, prime: callPrime, see: scoped},
		// A call reaching a queue is the queue's managers' business; an
		// agent follows only the calls that reach them.
		"CallState": {mine: events.CallState{Call: "m", State: "ringing", Dest: "extension:101"}, team: events.CallState{Call: "t", State: "queued", Dest: "queue:service"},
			other: events.CallState{Call: "o", State: "queued", Dest: "queue:sales"}, see: scoped},
		"ScheduleOverride": func() eventCase {
			m, tm, o := all3(sched)
			return eventCase{mine: m, team: tm, other: o, see: map[string]string{"admin": "yyy", "manager": "yyy", "agent": "nnn", "token": "yyy"}}
		}(),
		"ConfigChanged": func() eventCase {
			m, tm, o := all3(conf)
			return eventCase{mine: m, team: tm, other: o, see: map[string]string{"admin": "yyy", "manager": "yyy", "agent": "nnn", "token": "yyy"}}
		}(),
		"PresenceChanged": {mine: events.PresenceChanged{Key: "ext:101", OnCall: true}, team: events.PresenceChanged{Key: "agent:a4", OnCall: true},
			other: events.PresenceChanged{Key: "ext:201", OnCall: true}, see: scoped},
		// Registrations carry addresses: managers of the extension's
		// team only; agents never.
		"SIPRegistered": {mine: events.SIPRegistered{Extension: "101", Source: "10.0.0.1"}, team: events.SIPRegistered{Extension: "104"}, other: events.SIPRegistered{Extension: "201"},
			see: map[string]string{"admin": "yyy", "manager": "yyn", "agent": "nnn", "token": "nnn"}},
		"SIPUnregistered": {mine: events.SIPUnregistered{Extension: "101"}, team: events.SIPUnregistered{Extension: "104"}, other: events.SIPUnregistered{Extension: "201"},
			see: map[string]string{"admin": "yyy", "manager": "yyn", "agent": "nnn", "token": "nnn"}},
		"AgentStatus":      {mine: events.AgentStatus{Agent: "a1"}, team: events.AgentStatus{Agent: "a4"}, other: events.AgentStatus{Agent: "b1"}, see: scoped},
		"AgentState":       {mine: events.AgentState{Agent: "a1", Call: "m"}, team: events.AgentState{Agent: "a4"}, other: events.AgentState{Agent: "b1"}, see: scoped},
		"AgentQueue":       {mine: events.AgentQueue{Agent: "a1", Queue: "service"}, team: events.AgentQueue{Agent: "a3", Queue: "service"}, other: events.AgentQueue{Agent: "b1", Queue: "sales"}, see: scoped},
		"AgentMaxNoAnswer": {mine: events.AgentMaxNoAnswer{Agent: "a1"}, team: events.AgentMaxNoAnswer{Agent: "a4"}, other: events.AgentMaxNoAnswer{Agent: "b1"}, see: scoped},
		"AgentOffered": {mine: events.AgentOffered{Agent: "a1", CallID: "m", Caller: "+15550001"}, team: events.AgentOffered{Agent: "a3", CallID: "t", Caller: "+15550002"},
			other: events.AgentOffered{Agent: "b1", CallID: "o", Caller: "+15550003"}, see: scoped},
		"AgentOfferEnded": {mine: events.AgentOfferEnded{Agent: "a1", CallID: "m"}, team: events.AgentOfferEnded{Agent: "a3", CallID: "t"}, other: events.AgentOfferEnded{Agent: "b1", CallID: "o"}, see: scoped},
		// An agent sees the comings and goings of their queues (the
		// waiting count), not the callers' numbers nor who else took them.
		"QueueCaller": {mine: events.QueueCaller{Queue: "service", Call: "m", Event: "joined", From: "+15550001"},
			team:  events.QueueCaller{Queue: "service", Call: "t", Event: "connected", From: "+15550002", Agent: "a3"},
			other: events.QueueCaller{Queue: "sales", Call: "o", Event: "joined", From: "+15550003"},
			see:   map[string]string{"admin": "yyy", "manager": "yyn", "agent": "yyn", "token": "nnn"},
			check: func(t *testing.T, role string, ev events.Event) {
				d := ev.Data.(events.QueueCaller)
				switch {
				case role == "agent" && (d.From != "" || d.Agent == "a3"):
					t.Errorf("agent shown a queue caller's number or another agent: %+v", d)
				case role != "agent" && d.From == "":
					t.Errorf("%s not shown the caller's number: %+v", role, d)
				}
			}},
		"QueueEmptyWarning": {mine: events.QueueEmptyWarning{Queue: "service", Waiting: 2}, team: events.QueueEmptyWarning{Queue: "service", Waiting: 1},
			other: events.QueueEmptyWarning{Queue: "sales", Waiting: 3}, see: map[string]string{"admin": "yyy", "manager": "yyn", "agent": "yyn", "token": "nnn"}},
		"BoardButton": func() eventCase {
			m, tm, o := all3(events.BoardButton{Button: 1})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
		"LineChanged": func() eventCase {
			m, tm, o := all3(events.LineChanged{Port: "fxs:1"})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
		"FactoryReset": func() eventCase {
			m, tm, o := all3(events.FactoryReset{State: "requested"})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
		"UserLogin": func() eventCase {
			m, tm, o := all3(events.UserLogin{Login: "al", Role: "agent"})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
		// Bans name attackers' addresses and guessed extensions: the
		// box's security, which only administrators act on.
		"SIPBanned": func() eventCase {
			m, tm, o := all3(events.SIPBanned{Key: "ext:101", Reason: "authentication failures for this extension"})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
		"SIPBanLifted": func() eventCase {
			m, tm, o := all3(events.SIPBanLifted{Key: "ext:101", By: "admin"})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
		"TollFraudAlert": func() eventCase {
			m, tm, o := all3(events.TollFraudAlert{Kind: "limit", Extension: "101"})
			return eventCase{mine: m, team: tm, other: o, see: adminOnly}
		}(),
	}
}

// eventTypes lists the event payload types the events package declares:
// every type with a Type method, read from its source, so a type added
// later without an entry in eventTable fails TestEventScopeTable.
func eventTypes(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join("..", "firmware", "events")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "Type" || fn.Recv == nil || len(fn.Recv.List) != 1 {
				continue
			}
			typ := fn.Recv.List[0].Type
			if st, ok := typ.(*ast.StarExpr); ok {
				typ = st.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				names = append(names, id.Name)
			}
		}
	}
	slices.Sort(names)
	if len(names) < 20 {
		t.Fatalf("found only %d event types in %s: the scan is broken", len(names), dir)
	}
	return names
}

// TestEventScopeTable checks, for every event type and every role, what
// the live event stream shows, against the two-team site.
func TestEventScopeTable(t *testing.T) {
	s, err := site.Parse([]byte(teamsSite), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := func() *site.Site { return s }
	table := eventTable()
	types := eventTypes(t)
	for _, name := range types {
		if _, ok := table[name]; !ok {
			t.Errorf("event type events.%s has no entry in the event scope table: say what each role sees of it (web/scope_events.go)", name)
		}
	}
	for name, c := range table {
		if !slices.Contains(types, name) {
			t.Errorf("event scope table entry %s names no event type", name)
			continue
		}
		for i, p := range []events.Payload{c.mine, c.team, c.other} {
			if got := reflect.TypeOf(p).Name(); got != name {
				t.Errorf("%s: version %d is a %s", name, i, got)
			}
		}
		for _, r := range tableRoles {
			want := c.see[r.name]
			if len(want) != 3 {
				t.Errorf("%s: no expectation for role %s", name, r.name)
				continue
			}
			for i, p := range []events.Payload{c.mine, c.team, c.other} {
				view := web.StreamView(r.p, st)
				if c.prime[i] != nil {
					view(events.Event{Seq: 1, Type: c.prime[i].Type(), Data: c.prime[i]})
				}
				ev, shown := view(events.Event{Seq: 2, Type: p.Type(), Data: p})
				if shown != (want[i] == 'y') {
					t.Errorf("%s (%s) to %s: shown = %v, want %c", p.Type(), []string{"mine", "team", "other"}[i], r.name, shown, want[i])
				}
				if shown && c.check != nil {
					c.check(t, r.name, ev)
				}
			}
		}
	}
}
