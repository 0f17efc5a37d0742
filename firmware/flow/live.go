package flow

// The registry of calls in progress: what the live dashboard lists and
// what an admin can hang up. The engine owns it: a call is added when
// Handle starts, updated by the call's own goroutine as it moves through
// the graph, and removed when its CDR is written.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// States of a call in progress, as [LiveCall.State] shows them.
const (
	LiveRouting   = "routing"      // deciding where the call goes, a feature code
	LiveMenu      = "menu"         // in an IVR
	LiveAnnounce  = "announcement" // hearing an announcement
	LiveRinging   = "ringing"      // extensions, agents, groups or an outside number ring
	LiveQueued    = "queued"       // waiting in a queue
	LiveVoicemail = "voicemail"    // leaving a message
	LiveTalking   = "talking"      // answered and bridged
	LiveParked    = "parked"       // parked on a slot (park.go)
)

// ErrNoCall is returned by [Engine.Hangup] for a call that is not in
// progress (it ended meanwhile, or never was).
var ErrNoCall = errors.New("flow: no such call in progress")

// LiveCall is one call in progress as the dashboard shows it.
type LiveCall struct {
	ID         string `json:"id"`
	Direction  string `json:"direction"` // internal | inbound | outbound
	Caller     string `json:"caller"`
	CallerName string `json:"caller_name,omitempty"`
	Callee     string `json:"callee"` // the number dialled
	Extension  string `json:"extension,omitempty"`
	Trunk      string `json:"trunk,omitempty"`
	// State is one of the Live* constants; StateSince is when it began.
	State      string    `json:"state"`
	StateSince time.Time `json:"state_since"`
	Started    time.Time `json:"started"`
	Answered   time.Time `json:"answered,omitzero"`
	// AnsweredBy is the answering leg's target ("agent:bob/ext:101",
	// "ext:102", "external:+1555…"); Agent is set when an agent answered.
	AnsweredBy string `json:"answered_by,omitempty"`
	Agent      string `json:"agent,omitempty"`
	// Queue is the queue the caller waits in or was answered from.
	Queue string `json:"queue,omitempty"`
	// Path is every destination the call has been through, in order.
	Path []string `json:"path"`
}

// liveCalls is the engine's registry; its zero value is ready.
type liveCalls struct {
	mu    sync.Mutex // protects following
	calls map[string]*liveEntry
}

type liveEntry struct {
	info   LiveCall
	cancel context.CancelCauseFunc
}

// add registers a call; the returned remove takes it out again (and only
// it, should a second call ever reuse the id).
func (l *liveCalls) add(info LiveCall, cancel context.CancelCauseFunc) (remove func()) {
	en := &liveEntry{info: info, cancel: cancel}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string]*liveEntry{}
	}
	l.calls[info.ID] = en
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.calls[info.ID] == en {
			delete(l.calls, info.ID)
		}
	}
}

// update changes call id's entry under the lock.
func (l *liveCalls) update(id string, f func(*LiveCall)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if en := l.calls[id]; en != nil {
		f(&en.info)
	}
}

func (l *liveCalls) list() []LiveCall {
	l.mu.Lock()
	out := make([]LiveCall, 0, len(l.calls))
	for _, en := range l.calls {
		c := en.info
		c.Path = slices.Clone(c.Path)
		out = append(out, c)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b LiveCall) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (l *liveCalls) cancel(id string) (context.CancelCauseFunc, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	en := l.calls[id]
	if en == nil {
		return nil, false
	}
	return en.cancel, true
}

// LiveCalls lists the calls in progress, oldest first.
func (e *Engine) LiveCalls() []LiveCall { return e.live.list() }

// Hangup ends call id at once, whatever it is doing: its legs hang up
// normally, ringing legs stop, a queued caller leaves the queue, and the
// CDR is written as for any call (hung up by the system). by is who asked,
// for the audit log. It returns once the call has been told, not when it
// has ended (call.ended says so).
func (e *Engine) Hangup(ctx context.Context, id, by string) error {
	cancel, ok := e.live.cancel(id)
	if !ok {
		return fmt.Errorf("hang up %s: %w", id, ErrNoCall)
	}
	// Normal, not Cancelled or Failure: nobody did anything wrong, and
	// the callee's phone must not show a missed call.
	cancel(call.Normal)
	e.logger().Info("call hung up from the web", "call", id, "by", by)
	if e.Audit != nil {
		if err := e.Audit(ctx, by, "call.hangup", id, "ended from the live dashboard"); err != nil {
			e.logger().Error("audit", "err", fmt.Errorf("audit hang-up of %s: %w", id, err))
		}
	}
	return nil
}

// liveState is the state a call is in while it is at a destination.
func liveState(dest string) string {
	kind, _, _ := strings.Cut(dest, ":")
	switch kind {
	case site.DestIVR:
		return LiveMenu
	case site.DestAnnounce:
		return LiveAnnounce
	case site.DestQueue:
		return LiveQueued
	case site.DestVoicemail:
		return LiveVoicemail
	case site.DestExtension, site.DestAgent, site.DestRingGroup, site.DestHunt, site.DestExternal:
		return LiveRinging
	}
	return LiveRouting
}

// enter records that the call reached dest (already appended to the CDR's
// path) and says so on the bus.
func (c *Call) enter(dest string) {
	st := liveState(dest)
	now := time.Now()
	c.e.live.update(c.info.CallID, func(l *LiveCall) {
		l.Path = append(l.Path, dest)
		if st != l.State {
			l.State, l.StateSince = st, now
		}
		if st == LiveQueued {
			_, l.Queue, _ = strings.Cut(dest, ":")
		}
	})
	c.e.publish(events.CallState{Call: c.info.CallID, State: st, Dest: dest})
}

// setLive moves the call to state st (ringing an outside number, talking)
// without a new destination.
func (c *Call) setLive(st string, f func(*LiveCall)) {
	now := time.Now()
	changed := false
	c.e.live.update(c.info.CallID, func(l *LiveCall) {
		if l.State != st {
			l.State, l.StateSince, changed = st, now, true
		}
		if f != nil {
			f(l)
		}
	})
	if changed && st != LiveTalking { // talking: call.answered says it
		c.e.publish(events.CallState{Call: c.info.CallID, State: st})
	}
}
