package flow

import (
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

func TestRingGroupStagesRepeatThenNoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.silent("101", "102", "103", "+15550001001", "+15550001003", "+15550001004")
		lobby := calltest.NewLeg("lobby", calltest.AnswerAfter(time.Second))
		o.leg("107", lobby)
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		time.AfterFunc(90*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:front")

		want := []dialAt{
			{"101", 0}, {"102", 0}, // Bob (extension) and Steve
			{"+15550001001", 15 * time.Second}, // Bob's mobile joins after mobile_after
			{"103", 20 * time.Second}, {"+15550001003", 20 * time.Second}, {"+15550001004", 20 * time.Second},
			{"101", 40 * time.Second}, {"102", 40 * time.Second}, // back to Bob and Steve
			{"+15550001001", 55 * time.Second},
			{"103", 60 * time.Second}, {"+15550001003", 60 * time.Second}, {"+15550001004", 60 * time.Second},
			{"107", 80 * time.Second}, // no_answer after two rounds
		}
		got := o.d.log()
		sortDials(got)
		sortDials(want)
		if !slices.Equal(got, want) {
			t.Errorf("dials:\n got %v\nwant %v", got, want)
		}
		if ok, at := lobby.Answered(); !ok || at.Sub(o.d.start) != 81*time.Second {
			t.Errorf("no-answer destination answered %v at %v, want at 81s", ok, at.Sub(o.d.start))
		}
		if !caller.HadProgress() {
			t.Error("caller got no progress (183) while the group rang")
		}
		if caller.Played() < 80*50 {
			t.Errorf("caller heard %d frames of ringback, want 80 s worth", caller.Played())
		}
		if r := o.cdr.last(t); !slices.Equal(r.Path, []string{"ringgroup:front", "extension:107"}) {
			t.Errorf("path %v", r.Path)
		}
	})
}

// sortDials orders by time, then number, so that dials at the same
// instant compare equal whatever goroutine ran first.
func sortDials(ds []dialAt) {
	slices.SortFunc(ds, func(a, b dialAt) int {
		if a.At != b.At {
			return int(a.At - b.At)
		}
		if a.Number < b.Number {
			return -1
		}
		if a.Number > b.Number {
			return 1
		}
		return 0
	})
}

func TestRingGroupFirstAnswerWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		bob := calltest.NewLeg("bob")
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(5*time.Second))
		o.leg("101", bob)
		o.leg("102", steve)
		o.silent("+15550001001")
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:front")

		if got := steve.BridgedWith(); len(got) != 1 || got[0] != caller.ID() {
			t.Errorf("steve bridged with %v, want the caller", got)
		}
		if ended, c, at := bob.Ended(); !ended || c != call.AnsweredElsewhere || at.Sub(o.d.start) != 5*time.Second {
			t.Errorf("bob ended %v with %v at %v, want answered elsewhere at 5s", ended, c, at.Sub(o.d.start))
		}
		if slices.Contains(numbers(o.d.log()), "+15550001001") {
			t.Error("bob's mobile was dialled after steve answered")
		}
		for _, d := range o.d.Dials() {
			if d.From.Name != "Office: Alice" || d.From.Number != "+15557770000" {
				t.Errorf("target %s shows caller %+v, want name prefixed, number untouched", d.Number, d.From)
			}
		}
		if r := o.cdr.last(t); r.Answer.Sub(o.d.start) != 5*time.Second || r.Billable != 25*time.Second {
			t.Errorf("CDR answer %v billable %v", r.Answer.Sub(o.d.start), r.Billable)
		}
	})
}

func TestRingGroupMarksPresenceWhileBridged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.silent("101")
		o.leg("102", calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)))
		caller := calltest.NewLeg("caller")
		time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
		var during atomic.Bool
		time.AfterFunc(5*time.Second, func() { during.Store(o.pres.Busy("agent:steve") && o.pres.Busy("ext:102")) })
		o.dest(t, caller, "ringgroup:front")
		if !during.Load() {
			t.Error("steve not marked on a call while bridged")
		}
		if o.pres.Busy("agent:steve", "ext:102") {
			t.Error("steve still marked on a call after the call")
		}
	})
}

func TestRingGroupSkipsBusyAndMovesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		end := o.pres.Begin("agent:bob")
		defer end()
		end2 := o.pres.Begin("ext:102")
		defer end2()
		o.silent("103", "+15550001003", "+15550001004", "101", "102", "+15550001001")
		o.silent("107")
		caller := calltest.NewLeg("caller")
		time.AfterFunc(50*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:front")
		// Stage 1 has nobody free, so stage 2 rings at once.
		got := o.d.log()
		sortDials(got)
		want := []dialAt{{"+15550001003", 0}, {"+15550001004", 0}, {"103", 0},
			{"+15550001003", 20 * time.Second}, {"+15550001004", 20 * time.Second}, {"103", 20 * time.Second},
			{"107", 40 * time.Second}}
		if !slices.Equal(got, want) {
			t.Errorf("dials:\n got %v\nwant %v", got, want)
		}
	})
}

func TestConfirmDeclineMovesOnAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		m1 := calltest.NewLeg("m1", calltest.AnswerAfter(2*time.Second))
		m1.PressAfter(3*time.Second, "2") // during the prompts
		m2 := calltest.NewLeg("m2", calltest.RejectAfter(time.Second, call.Busy))
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(time.Second))
		o.leg("+15550009001", m1)
		o.leg("+15550009002", m2)
		o.leg("102", steve)
		caller := calltest.NewLeg("caller")
		time.AfterFunc(20*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:confirm")

		if c := m1.HangupCause(); c != call.Rejected {
			t.Errorf("decliner ended with %v, want rejected", c)
		}
		if len(m1.BridgedWith()) != 0 {
			t.Error("the decliner was bridged")
		}
		got := o.d.log()
		// The fake leg notices a key at its next 20 ms frame.
		if len(got) != 3 || got[2].Number != "102" || got[2].At < 3*time.Second || got[2].At > 3*time.Second+20*time.Millisecond {
			t.Errorf("dials %v, want ext 102 at 3s (+ one frame), right after the decline", got)
		}
		if b := steve.BridgedWith(); len(b) != 1 {
			t.Errorf("steve bridged with %v", b)
		}
		if p := o.prompts.asked(); !slices.Contains(p, "call-for-office") || !slices.Contains(p, "accept-decline") {
			t.Errorf("prompts %v, want call-for-office and accept-decline", p)
		}
	})
}

func TestConfirmVoicemailNeverTakesTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		// Both mobiles go to their own voicemail: answered, never a key.
		vm1 := calltest.NewLeg("vm1", calltest.AnswerAfter(time.Second))
		vm2 := calltest.NewLeg("vm2", calltest.AnswerAfter(time.Second))
		o.leg("+15550009001", vm1)
		o.leg("+15550009002", vm2)
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(time.Second))
		o.leg("102", steve)
		caller := calltest.NewLeg("caller")
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:confirm")

		for _, vm := range []*calltest.Leg{vm1, vm2} {
			if ended, c, at := vm.Ended(); !ended || c != call.NoAnswer || at.Sub(o.d.start) != 13*time.Second {
				t.Errorf("%s ended %v with %v at %v, want no answer at 13s (1s ring, 2s prompts, 10s wait)", vm, ended, c, at.Sub(o.d.start))
			}
			if len(vm.BridgedWith()) != 0 {
				t.Errorf("%s was bridged", vm)
			}
		}
		if ok, at := steve.Answered(); !ok || at.Sub(o.d.start) != 14*time.Second {
			t.Errorf("steve answered %v at %v, want at 14s", ok, at.Sub(o.d.start))
		}
	})
}

func TestConfirmLateAnswererHearsCallTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		first := calltest.NewLeg("first", calltest.AnswerAfter(time.Second))
		first.PressAfter(4*time.Second, "1")
		late := calltest.NewLeg("late", calltest.AnswerAfter(2*time.Second))
		o.leg("+15550009001", first)
		o.leg("+15550009002", late)
		caller := calltest.NewLeg("caller")
		time.AfterFunc(20*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:confirm")

		if b := first.BridgedWith(); len(b) != 1 || b[0] != caller.ID() {
			t.Errorf("first bridged with %v", b)
		}
		if ended, c, _ := late.Ended(); !ended || c != call.AnsweredElsewhere {
			t.Errorf("late answerer ended %v with %v, want answered elsewhere", ended, c)
		}
		if !slices.Contains(o.prompts.asked(), "call-taken") {
			t.Errorf("prompts %v: the late answerer never heard call-taken", o.prompts.asked())
		}
		if len(late.BridgedWith()) != 0 {
			t.Error("late answerer was bridged")
		}
	})
}

func TestRingGroupMusicHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := officeSite()
		s.RingGroups[0].Music = "jazz"
		o := newOffice(t, s)
		var asked []string
		o.e.Music = func(class string) call.Source { asked = append(asked, class); return &silence{frames: 1 << 20} }
		o.leg("101", calltest.NewLeg("bob", calltest.AnswerAfter(3*time.Second)))
		o.silent("102")
		caller := calltest.NewLeg("caller")
		time.AfterFunc(5*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "ringgroup:front")
		if !slices.Equal(asked, []string{"jazz"}) {
			t.Errorf("music classes asked %v, want [jazz]", asked)
		}
	})
}
