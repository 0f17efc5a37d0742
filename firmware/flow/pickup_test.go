package flow

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

// pickAt dials code from extension ext at d from now, on its own call;
// it returns the picker's leg.
func (o *office) pickAt(t *testing.T, d time.Duration, ext, code string) *calltest.Leg {
	picker := calltest.NewLeg("picker-"+ext, calltest.From(ext, ""))
	time.AfterFunc(d, func() {
		go o.e.Handle(t.Context(), picker, Inbound{CallID: "pick-" + ext, From: call.Party{Number: ext}, To: code, Extension: ext})
	})
	return picker
}

// TestGroupPickupOfRingGroupCall: *8 from Nina's phone while the front
// group rings Bob and Steve takes the call: the caller is bridged to
// Nina, Bob's and Steve's phones stop as answered elsewhere, and the
// CDR says Nina (agent nina) answered.
func TestGroupPickupOfRingGroupCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		bob, steve := calltest.NewLeg("bob"), calltest.NewLeg("steve")
		o.leg("101", bob)
		o.leg("102", steve)
		o.silent("+15550001001")
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		picker := o.pickAt(t, 5*time.Second, "108", FeatureGroupPickup)
		time.AfterFunc(60*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:front")
		synctest.Wait()

		if got := caller.BridgedWith(); !slices.Equal(got, []string{picker.ID()}) {
			t.Fatalf("caller bridged with %v, want the picker %s", got, picker.ID())
		}
		if ok, at := picker.Answered(); !ok || at.Sub(o.d.start) != 5*time.Second {
			t.Errorf("picker answered %v at %v, want at 5s", ok, at.Sub(o.d.start))
		}
		for _, l := range []*calltest.Leg{bob, steve} {
			if ended, cause, at := l.Ended(); !ended || cause != call.AnsweredElsewhere || at.Sub(o.d.start) != 5*time.Second {
				t.Errorf("%s ended %v %v at %v, want answered elsewhere at 5s", l, ended, cause, at.Sub(o.d.start))
			}
		}
		var r = o.cdr.all[0]
		for _, x := range o.cdr.all {
			if x.CallID == "c-"+caller.ID() {
				r = x
			}
		}
		if r.AnsweredBy != "agent:nina/ext:108" || r.Agent != "nina" {
			t.Errorf("CDR answered by %q agent %q, want Nina", r.AnsweredBy, r.Agent)
		}
		if ended, _, _ := picker.Ended(); !ended {
			t.Error("picker still up after the caller hung up")
		}
	})
}

// TestDirectedPickup: **102 takes the call ringing Steve's phone, and
// only that one: **103 (not ringing) finds nothing and hears the busy
// tone, the call ringing 102 goes on ringing until the directed pickup.
func TestDirectedPickup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		steve := calltest.NewLeg("steve")
		o.leg("102", steve)
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		wrong := o.pickAt(t, 2*time.Second, "104", FeatureDirectedPickup+"103")
		picker := o.pickAt(t, 8*time.Second, "101", FeatureDirectedPickup+"102")
		time.AfterFunc(60*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "extension:102")
		synctest.Wait()

		if got := caller.BridgedWith(); !slices.Equal(got, []string{picker.ID()}) {
			t.Fatalf("caller bridged with %v, want the picker %s", got, picker.ID())
		}
		if ended, cause, at := steve.Ended(); !ended || cause != call.AnsweredElsewhere || at.Sub(o.d.start) != 8*time.Second {
			t.Errorf("steve ended %v %v at %v, want answered elsewhere at 8s", ended, cause, at.Sub(o.d.start))
		}
		if ended, cause, at := wrong.Ended(); !ended || cause != call.NotFound || at.Sub(o.d.start) != 2*time.Second+pickupTone {
			t.Errorf("**103 ended %v %v at %v, want not found after %v of busy tone", ended, cause, at.Sub(o.d.start), pickupTone)
		}
		if wrong.Played() < int(pickupTone/(20*time.Millisecond)) {
			t.Errorf("**103 heard %d frames, want %v of busy tone", wrong.Played(), pickupTone)
		}
	})
}

// TestPickupNothingRings: *8 with no call ringing anywhere (and a phone
// cannot pick its own call) is the busy tone, then the call ends.
func TestPickupNothingRings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		steve := calltest.NewLeg("steve")
		o.leg("102", steve)
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		own := o.pickAt(t, 2*time.Second, "102", FeatureGroupPickup)
		time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "extension:102")
		synctest.Wait()
		if ended, cause, _ := own.Ended(); !ended || cause != call.NotFound {
			t.Errorf("*8 by the rung phone itself ended %v %v, want not found", ended, cause)
		}
		late := calltest.NewLeg("late")
		o.e.Handle(t.Context(), late, Inbound{CallID: "late", To: FeatureGroupPickup, Extension: "101"})
		if ended, cause, _ := late.Ended(); !ended || cause != call.NotFound || late.Played() < int(pickupTone/(20*time.Millisecond)) {
			t.Errorf("*8 with nothing ringing: ended %v %v after %d frames, want not found after the busy tone", ended, cause, late.Played())
		}
	})
}

// TestPickupGroups: with pickup groups set, *8 and **EXT only take calls
// ringing an extension of the picker's own group: Janet (104, group
// "back") finds nothing while Steve (102, "front") rings; Bob (101,
// "front") then takes it.
func TestPickupGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := officeSite()
		for i, g := range map[int]string{0: "front", 1: "front", 3: "back"} {
			s.Extensions[i].PickupGroup = g
		}
		o := newOffice(t, s)
		steve := calltest.NewLeg("steve")
		o.leg("102", steve)
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		other := o.pickAt(t, 2*time.Second, "104", FeatureGroupPickup)
		otherDirect := o.pickAt(t, 3*time.Second, "104", FeatureDirectedPickup+"102")
		bob := o.pickAt(t, 9*time.Second, "101", FeatureGroupPickup)
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "extension:102")
		synctest.Wait()
		for _, l := range []*calltest.Leg{other, otherDirect} {
			if ended, cause, _ := l.Ended(); !ended || cause != call.NotFound {
				t.Errorf("%s from another pickup group ended %v %v, want not found", l, ended, cause)
			}
		}
		if got := caller.BridgedWith(); !slices.Equal(got, []string{bob.ID()}) {
			t.Errorf("caller bridged with %v, want bob (same group)", got)
		}
	})
}
