package flow

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/cdr"
)

// trackingCDRs is a CDR writer that also keeps calls in progress, as the
// store does.
type trackingCDRs struct {
	cdrs
	mu       sync.Mutex // protects following
	started  map[string]cdr.Record
	answered map[string]time.Time
}

func (c *trackingCDRs) CallStarted(r cdr.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started[r.CallID] = r
}

func (c *trackingCDRs) CallAnswered(id string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered[id] = at
}

// TestCallInProgressTracked checks that a CDR writer that keeps calls in
// progress learns of the call's start and answer before its CDR, with the
// CDR's own values.
func TestCallInProgressTracked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d, _ := newEngine(t)
		w := &trackingCDRs{started: map[string]cdr.Record{}, answered: map[string]time.Time{}}
		e.CDR = w
		bob := calltest.NewLeg("bob", calltest.AnswerAfter(3*time.Second))
		d.Add("101", func() *calltest.Leg { return bob })
		caller := calltest.NewLeg("sue", calltest.From("102", "Sue"))
		time.AfterFunc(63*time.Second, func() { caller.Hangup(call.Normal) })
		e.Handle(t.Context(), caller, Inbound{CallID: "c1", From: call.Party{Number: "102"}, To: "101", Extension: "102"})

		r := w.last(t)
		s, ok := w.started["c1"]
		if !ok || s.Caller != "102" || s.Callee != "101" || s.Direction != cdr.Internal || !s.Start.Equal(r.Start) {
			t.Errorf("started %+v (%v), want the CDR's parties, direction and start %v", s, ok, r.Start)
		}
		if at := w.answered["c1"]; r.Answer.IsZero() || !at.Equal(r.Answer) {
			t.Errorf("answered at %v, want the CDR's answer %v", at, r.Answer)
		}
	})
}
