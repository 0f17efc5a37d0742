package flow

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

// TestParkAndRetrieve: Steve parks the caller with ##*70#: he hears the
// slot (701) and his leg ends; the caller waits on 701; Bob dials 701 and
// is bridged to the caller. A second call parked meanwhile takes 702.
// Dialling an empty slot is the busy tone.
func TestParkAndRetrieve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		bob := calltest.NewLeg("bob-phone")
		empty := calltest.NewLeg("empty-phone")
		var parkedAt []string
		go func() {
			time.Sleep(5 * time.Second)
			steve := xd.phone("102", 0)
			steve.Press("##*70#")
			time.Sleep(10 * time.Second)
			if ended, cause, _ := steve.Ended(); !ended || cause != call.Normal {
				t.Errorf("parker's leg ended %v %v, want ended normally once parked", ended, cause)
			}
			if steve.Played() < 50 {
				t.Errorf("parker heard %d frames, want the slot said", steve.Played())
			}
			parkedAt = o.e.Parked()
			go o.e.Handle(t.Context(), empty, Inbound{CallID: "r-empty", To: "705", Extension: "103"})
			go o.e.Handle(t.Context(), bob, Inbound{CallID: "r-bob", To: "701", Extension: "101"})
			time.Sleep(20 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		synctest.Wait()

		if !slices.Equal(parkedAt, []string{"701"}) {
			t.Errorf("parked slots %v, want 701", parkedAt)
		}
		steve := xd.phone("102", 0)
		if b := caller.BridgedWith(); !slices.Equal(b, []string{steve.ID(), bob.ID()}) {
			t.Fatalf("caller bridged with %v, want steve then bob (retrieved)", b)
		}
		if ok, at := bob.Answered(); !ok || at.Sub(o.d.start) != 15*time.Second {
			t.Errorf("retriever answered %v at %v, want at 15s", ok, at.Sub(o.d.start))
		}
		if ended, cause, _ := empty.Ended(); !ended || cause != call.NotFound || empty.Played() < int(pickupTone/(20*time.Millisecond)) {
			t.Errorf("empty slot: ended %v %v after %d frames, want not found after the busy tone", ended, cause, empty.Played())
		}
		if got := o.e.Parked(); len(got) != 0 {
			t.Errorf("slots still held after the call: %v", got)
		}
		var rec = o.cdr.all[0]
		for _, r := range o.cdr.all {
			if r.CallID == "c-"+caller.ID() {
				rec = r
			}
		}
		if len(rec.Transfers) != 1 || rec.Transfers[0].To != "park:701" || rec.Transfers[0].Result != "parked" {
			t.Errorf("cdr transfers %+v, want parked on 701", rec.Transfers)
		}
		if rec.AnsweredBy != "agent:bob/ext:101" {
			t.Errorf("cdr answered by %q, want bob (the retriever)", rec.AnsweredBy)
		}
	})
}

// TestParkTimeoutRingsParker: nobody retrieves the call; at exactly
// park_timeout (here 90 s) after Steve parked it, his phone rings again
// and answering it brings the caller back to him.
func TestParkTimeoutRingsParker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.e.Config.Current().Site.System.ParkTimeout = site.Duration(90 * time.Second)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).Press("##*71#") // the alternate park code
			time.Sleep(120 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		synctest.Wait()

		got := o.d.log()
		if len(got) != 2 || got[1].Number != "102" || got[1].At != 5*time.Second+90*time.Second {
			t.Fatalf("dials %v, want 102 rung again at 95s (parked at 5s + 90s)", got)
		}
		back := xd.phone("102", 1)
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != back.ID() {
			t.Fatalf("caller bridged with %v, want steve, then steve again after the timeout", b)
		}
	})
}
