package flow

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/cdr"
	"ringbox/firmware/events"
)

// liveOne returns the only call in progress.
func liveOne(t *testing.T, e *Engine) LiveCall {
	t.Helper()
	l := e.LiveCalls()
	if len(l) != 1 {
		t.Fatalf("LiveCalls = %+v, want one call", l)
	}
	return l[0]
}

// A call shows up as soon as it starts, ringing while the phone rings,
// talking once answered (with who answered and when), and is gone when
// it ends.
func TestLiveCallLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		bus := events.New()
		sub := bus.Subscribe(64, events.Filter("call."))
		defer sub.Close()
		o.e.Bus = bus
		// The bubble starts on a Saturday: the office is closed, so the
		// inbound route sends the call to Sue (103).
		sue := calltest.NewLeg("103", calltest.AnswerAfter(5*time.Second))
		o.leg("103", sue)
		caller := calltest.NewLeg("+15550007777", calltest.From("+15550007777", "Ann Caller"))
		start := time.Now()

		var wg sync.WaitGroup
		wg.Go(func() { o.inbound(t, caller, "+15551230000") })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := liveOne(t, o.e)
		if got.State != LiveRinging || got.Caller != "+15550007777" || got.CallerName != "Ann Caller" ||
			got.Direction != cdr.Inbound || got.Trunk != "carrier" || !got.Started.Equal(start) {
			t.Errorf("while ringing: %+v", got)
		}
		if !slices.Equal(got.Path, []string{"extension:103"}) {
			t.Errorf("path = %v, want [extension:103]", got.Path)
		}

		time.Sleep(10 * time.Second)
		synctest.Wait()
		got = liveOne(t, o.e)
		if got.State != LiveTalking || got.AnsweredBy != "agent:sue/ext:103" || got.Agent != "sue" || !got.Answered.Equal(start.Add(5*time.Second)) ||
			!got.StateSince.Equal(got.Answered) {
			t.Errorf("after answer: %+v, want talking with agent sue on ext:103 since 5s", got)
		}

		caller.Hangup(call.Normal)
		wg.Wait()
		if l := o.e.LiveCalls(); len(l) != 0 {
			t.Errorf("after the call: LiveCalls = %+v, want none", l)
		}
		var types []string
		for len(sub.C()) > 0 {
			types = append(types, (<-sub.C()).Type)
		}
		want := []string{"call.started", "call.state", "call.answered", "call.ended"}
		if !slices.Equal(types, want) {
			t.Errorf("events %v, want %v", types, want)
		}
	})
}

// The path and state follow the call through an IVR into a ring group.
func TestLiveCallPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.silent("101", "102", "+15550001001")
		caller := calltest.NewLeg("+15550008888")
		var wg sync.WaitGroup
		wg.Go(func() { o.inbound(t, caller, "+15559999999") }) // "*": ivr:main
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if got := liveOne(t, o.e); got.State != LiveMenu || !slices.Equal(got.Path, []string{"ivr:main"}) {
			t.Errorf("in the menu: state %q path %v", got.State, got.Path)
		}
		caller.Press("9") // ivr:sub
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := liveOne(t, o.e); got.State != LiveMenu || !slices.Equal(got.Path, []string{"ivr:main", "ivr:sub"}) {
			t.Errorf("in the sub-menu: state %q path %v", got.State, got.Path)
		}
		caller.Hangup(call.Normal)
		wg.Wait()
	})
}

// Hangup ends a call in conversation: both parties are hung up normally,
// the CDR is written, the call leaves the list, and the audit log says
// who did it.
func TestLiveHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		var audit []string
		o.e.Audit = func(ctx context.Context, actor, action, object, detail string) error {
			audit = append(audit, actor+" "+action+" "+object)
			return nil
		}
		steve := calltest.NewLeg("102", calltest.AnswerAfter(time.Second))
		o.leg("102", steve)
		caller := calltest.NewLeg("105")
		var wg sync.WaitGroup
		wg.Go(func() {
			o.e.Handle(t.Context(), caller, Inbound{CallID: "c1", From: caller.Remote(), To: "102", Extension: "105"})
		})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := liveOne(t, o.e); got.State != LiveTalking {
			t.Fatalf("before hang-up: %+v", got)
		}
		if err := o.e.Hangup(t.Context(), "c1", "alice"); err != nil {
			t.Fatalf("Hangup: %v", err)
		}
		wg.Wait()
		for _, l := range []*calltest.Leg{caller, steve} {
			if ended, cause, _ := l.Ended(); !ended || cause != call.Normal {
				t.Errorf("%v: ended %v with %v, want ended normally", l, ended, cause)
			}
		}
		rec := o.cdr.last(t)
		if rec.CallID != "c1" || rec.Billable != time.Minute-time.Second || rec.HangupBy != cdr.BySystem || rec.Cause != "normal" {
			t.Errorf("CDR %+v", rec)
		}
		if l := o.e.LiveCalls(); len(l) != 0 {
			t.Errorf("LiveCalls = %+v, want none", l)
		}
		if !slices.Equal(audit, []string{"alice call.hangup c1"}) {
			t.Errorf("audit %v", audit)
		}
		if err := o.e.Hangup(t.Context(), "c1", "alice"); !errors.Is(err, ErrNoCall) {
			t.Errorf("second Hangup = %v, want ErrNoCall", err)
		}
	})
}

// A call still ringing is hung up too: the ringing phone stops without a
// missed-call mark (it hangs up normally, not as no answer).
func TestLiveHangupWhileRinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.silent("102")
		caller := calltest.NewLeg("105")
		var wg sync.WaitGroup
		wg.Go(func() {
			o.e.Handle(t.Context(), caller, Inbound{CallID: "c2", From: caller.Remote(), To: "102", Extension: "105"})
		})
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := liveOne(t, o.e); got.State != LiveRinging {
			t.Fatalf("before hang-up: %+v", got)
		}
		start := time.Now()
		if err := o.e.Hangup(t.Context(), "c2", "alice"); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if d := time.Since(start); d != 0 {
			t.Errorf("the call took %v to end, want at once", d)
		}
		if ended, _, _ := caller.Ended(); !ended {
			t.Error("caller not hung up")
		}
		if len(o.e.LiveCalls()) != 0 {
			t.Error("call still listed")
		}
	})
}

// Two calls are listed oldest first.
func TestLiveCallsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.silent("101", "102")
		a, b := calltest.NewLeg("105"), calltest.NewLeg("106")
		var wg sync.WaitGroup
		wg.Go(func() {
			o.e.Handle(t.Context(), a, Inbound{CallID: "z-first", From: a.Remote(), To: "101", Extension: "105"})
		})
		time.Sleep(time.Second)
		wg.Go(func() {
			o.e.Handle(t.Context(), b, Inbound{CallID: "a-second", From: b.Remote(), To: "102", Extension: "106"})
		})
		time.Sleep(time.Second)
		synctest.Wait()
		var ids []string
		for _, l := range o.e.LiveCalls() {
			ids = append(ids, l.ID)
		}
		if !slices.Equal(ids, []string{"z-first", "a-second"}) {
			t.Errorf("order %v, want oldest first", ids)
		}
		a.Hangup(call.Normal)
		b.Hangup(call.Normal)
		wg.Wait()
	})
}
