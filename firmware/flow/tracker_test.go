package flow

import (
	"context"
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
	routed   map[string][2]string // trunk, number sent
	// unstarted are CDRs written for calls CallStarted never saw: calls a
	// restart would have lost.
	unstarted []string
	// storeAfter is how long rows take to be stored (0: at once).
	storeAfter time.Duration
}

func newTracking() *trackingCDRs {
	return &trackingCDRs{started: map[string]cdr.Record{}, answered: map[string]time.Time{}, routed: map[string][2]string{}}
}

func (c *trackingCDRs) InsertCDR(ctx context.Context, r cdr.Record) error {
	c.mu.Lock()
	if _, ok := c.started[r.CallID]; !ok {
		c.unstarted = append(c.unstarted, r.CallID)
	}
	c.mu.Unlock()
	return c.cdrs.InsertCDR(ctx, r)
}

func (c *trackingCDRs) CallRouted(id, trunk, number string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routed[id] = [2]string{trunk, number}
}

// startedOf is the call in progress id as the tracker was told of it.
func (c *trackingCDRs) startedOf(id string) (cdr.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.started[id]
	return r, ok
}

// checkAllStarted fails t when a CDR was written for a call whose start
// the tracker never saw.
func (c *trackingCDRs) checkAllStarted(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.all) == 0 {
		t.Fatal("no CDR written")
	}
	if len(c.unstarted) > 0 {
		t.Errorf("CDRs of calls never recorded as in progress: %v", c.unstarted)
	}
}

func (c *trackingCDRs) CallStarted(r cdr.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started[r.CallID] = r
}

func (c *trackingCDRs) CallAnswered(id string, at time.Time) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered[id] = at
	stored := make(chan struct{})
	if c.storeAfter == 0 {
		close(stored)
	} else {
		time.AfterFunc(c.storeAfter, func() { close(stored) })
	}
	return stored
}

// TestCallInProgressTracked checks that a CDR writer that keeps calls in
// progress learns of the call's start and answer before its CDR, with the
// CDR's own values.
func TestCallInProgressTracked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d, _ := newEngine(t)
		w := newTracking()
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

// TestOutboundCallInProgressNamesTrunkAndNumberSent: an outside call's row
// learns, once the trunk answers, the trunk and the number sent to it
// (after the route's strip and prepend), so a restart's CDR names them.
func TestOutboundCallInProgressNamesTrunkAndNumberSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		w := newTracking()
		o.e.CDR = w
		far := calltest.NewLeg("far", calltest.AnswerAfter(2*time.Second))
		o.leg("+15559998888", far)
		caller := calltest.NewLeg("alice", calltest.From("101", "Alice"))
		seen := make(chan [2]string, 1)
		time.AfterFunc(10*time.Second, func() {
			w.mu.Lock()
			seen <- w.routed["out"]
			w.mu.Unlock()
			caller.Hangup(call.Normal)
		})
		o.e.Handle(t.Context(), caller, Inbound{CallID: "out", From: caller.Remote(), To: "95559998888", Extension: "101"})
		w.checkAllStarted(t)
		if got := <-seen; got != [2]string{"carrier", "+15559998888"} {
			t.Errorf("while up, the call in progress was routed %q, want carrier, +15559998888", got)
		}
		if r := w.last(t); r.Trunk != "carrier" || r.NumberSent != "+15559998888" || r.Callee != "95559998888" {
			t.Errorf("CDR trunk %q sent %q callee %q", r.Trunk, r.NumberSent, r.Callee)
		}
	})
}

// TestTransferSplitCallInProgress: when the caller transfers, the party
// that goes on in a call of its own is a call in progress from that
// moment (before, a crash lost it).
func TestTransferSplitCallInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		w := newTracking()
		o.e.CDR = w
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(2*time.Second)) })
		alice := &xferLeg{Leg: calltest.NewLeg("alice", calltest.From("101", "Alice")), c: make(chan call.Transfer)}
		var r reports
		var split []cdr.Record
		go func() {
			time.Sleep(5 * time.Second)
			alice.c <- call.Transfer{To: "103", Report: r.report}
			time.Sleep(10 * time.Second)
			w.mu.Lock()
			for id, s := range w.started {
				if id != "orig" {
					split = append(split, s)
				}
			}
			w.mu.Unlock()
			xd.phone("102", 0).Hangup(call.Normal)
		}()
		o.e.Handle(t.Context(), alice, Inbound{CallID: "orig", From: alice.Remote(), To: "102", Extension: "101"})
		if err := o.e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		w.checkAllStarted(t)
		if len(split) != 1 || split[0].TransferOf != "orig" || split[0].Answer.IsZero() {
			t.Errorf("calls in progress besides the original while the split call was up: %+v, want the split call, answered", split)
		}
	})
}

// TestCallbackInProgressFromTheFirstRing: a call back is a call in
// progress from the moment the user's phone rings, and one the phone
// never answers still gets its record.
func TestCallbackInProgressFromTheFirstRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		w := newTracking()
		o.e.CDR = w
		mobile := calltest.NewLeg("bob-mobile", calltest.AnswerAfter(5*time.Second))
		o.leg("+15550001001", mobile)
		o.leg("+15559998888", calltest.NewLeg("far", calltest.AnswerAfter(2*time.Second)))
		asked := time.Now()
		id, err := o.e.Callback(t.Context(), CallbackRequest{Extension: "101", Phone: "+15550001001", Number: "95559998888", By: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := w.startedOf(id); !ok || s.Caller != "101" || s.Callee != "95559998888" || s.Direction != cdr.Outbound {
			t.Errorf("right after the request, in progress: %+v (%v), want 101 -> 95559998888 outbound", s, ok)
		}
		time.AfterFunc(time.Minute, func() { mobile.Hangup(call.Normal) })
		if err := o.e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		w.checkAllStarted(t)
		if r := w.last(t); r.CallID != id || !r.Start.Equal(asked) || r.Answer.Sub(asked) != 7*time.Second {
			t.Errorf("CDR %s start %v answer %v, want the call back's, starting at the request (%v), answered when the number did (5s + 2s)", r.CallID, r.Start, r.Answer, asked)
		}

		// The phone never answers: the attempt is recorded, not lost.
		o.silent("+15550001007")
		id, err = o.e.Callback(t.Context(), CallbackRequest{Extension: "107", Phone: "+15550001007", Number: "102"})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		w.checkAllStarted(t)
		r := w.last(t)
		if r.CallID != id || r.Direction != cdr.Internal || r.Cause == "" || r.Cause == "normal" || len(r.Legs) != 1 ||
			r.Legs[0].Target != "external:+15550001007" || r.End.Sub(r.Start) != CallbackRing {
			t.Errorf("unanswered call back's CDR %+v, want the phone's leg unanswered after %v", r, CallbackRing)
		}
	})
}

// TestAnswerWaitsForTheStoredCall: the caller is answered only once the
// call's answer is stored, so a crash cannot lose a call its caller heard
// answered or record it unanswered; a store too slow delays the answer by
// at most StoredWait.
func TestAnswerWaitsForTheStoredCall(t *testing.T) {
	for _, tt := range []struct {
		store time.Duration
		want  time.Duration // answer after the call started
	}{
		{300 * time.Millisecond, 300 * time.Millisecond},
		{time.Hour, StoredWait},
	} {
		synctest.Test(t, func(t *testing.T) {
			o := newOffice(t, nil)
			w := newTracking()
			w.storeAfter = tt.store
			o.e.CDR = w
			caller := calltest.NewLeg("ann", calltest.From("+15550001", "Ann"))
			time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
			// The office's catch-all inbound route is an IVR, which answers
			// the caller before anything rings.
			o.e.Handle(t.Context(), caller, Inbound{CallID: "ivr", From: call.Party{Number: "+15550001"}, To: "+15559990000", Trunk: "carrier"})
			r := w.last(t)
			if r.Answer.IsZero() || r.Answer.Sub(r.Start) != tt.want {
				t.Errorf("stored after %v: answered %v after the start, want %v", tt.store, r.Answer.Sub(r.Start), tt.want)
			}
		})
	}
}
