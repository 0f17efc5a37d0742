package flow

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

func TestIVR(t *testing.T) {
	tests := []struct {
		name   string
		keys   map[time.Duration]string // when the caller presses what
		want   []string                 // the path
		dialAt time.Duration            // when the destination was dialled
	}{
		// The greeting lasts 10 s; a key during it counts at once.
		{"barge-in", map[time.Duration]string{time.Second: "2"}, []string{"ivr:main", "extension:102"}, time.Second},
		// 1 could be the start of 101: wait the 2 s inter-digit time.
		{"option prefix of an extension", map[time.Duration]string{time.Second: "1"}, []string{"ivr:main", "extension:103"}, 3 * time.Second},
		{"direct dial", map[time.Duration]string{time.Second: "10", 2 * time.Second: "1"}, []string{"ivr:main", "extension:101"}, 2 * time.Second},
		{"# ends the wait", map[time.Duration]string{time.Second: "1#"}, []string{"ivr:main", "extension:103"}, time.Second},
		{"nested", map[time.Duration]string{time.Second: "9", 12 * time.Second: "1"}, []string{"ivr:main", "ivr:sub", "extension:102"}, 12 * time.Second},
		// Greeting 10 s, then 10 s wait, three times: on_timeout at 60 s.
		{"timeouts", nil, []string{"ivr:main", "extension:104"}, 60 * time.Second},
		{"invalid keys", map[time.Duration]string{time.Second: "5", 3 * time.Second: "6", 5 * time.Second: "7"}, []string{"ivr:main", "extension:107"}, 5 * time.Second},
		// Invalid and timeout counts are separate: two timeouts do not
		// make the third invalid key any earlier, nor the reverse.
		{"separate counts", map[time.Duration]string{time.Second: "5", 23 * time.Second: "6", 45 * time.Second: "7"}, []string{"ivr:main", "extension:107"}, 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := newOffice(t, nil)
				o.prompts.lens["main-menu"] = 10 * time.Second
				for _, n := range []string{"101", "102", "103", "104", "107"} {
					o.leg(n, calltest.NewLeg("x"+n, calltest.AnswerAfter(time.Second)))
				}
				caller := calltest.NewLeg("caller")
				for at, k := range tt.keys {
					caller.PressAfter(at, k)
				}
				time.AfterFunc(200*time.Second, func() { caller.Hangup(call.Normal) })
				o.inbound(t, caller, "+15559999999")
				r := o.cdr.last(t)
				if !slices.Equal(r.Path, tt.want) {
					t.Errorf("path %v, want %v", r.Path, tt.want)
				}
				dials := o.d.log()
				if len(dials) == 0 {
					t.Fatal("nothing dialled")
				}
				// The fake leg notices a key at its next 20 ms frame.
				if d := dials[0].At - tt.dialAt; d < 0 || d > 20*time.Millisecond {
					t.Errorf("destination dialled at %v, want %v", dials[0].At, tt.dialAt)
				}
			})
		})
	}
}

func TestIVRInvalidPromptBetweenTries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.leg("107", calltest.NewLeg("lobby", calltest.AnswerAfter(time.Second)))
		caller := calltest.NewLeg("caller")
		caller.PressAfter(time.Second, "5")
		caller.PressAfter(4*time.Second, "5")
		caller.PressAfter(8*time.Second, "5")
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.inbound(t, caller, "+15559999999")
		want := []string{"main-menu", "invalid-option", "main-menu", "invalid-option", "main-menu"}
		if got := o.prompts.asked(); !slices.Equal(got, want) {
			t.Errorf("prompts %v, want %v", got, want)
		}
	})
}

func TestIVRLoopIsCaught(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		caller := calltest.NewLeg("caller")
		start := time.Now()
		if c := o.dest(t, caller, "ivr:loop"); c != call.Normal {
			t.Errorf("looping call ended with %v, want loop_to (hangup) normally", c)
		}
		r := o.cdr.last(t)
		n := 0
		for _, p := range r.Path {
			if p == "ivr:loop" {
				n++
			}
		}
		if n != 5 || r.Path[len(r.Path)-1] != "hangup" {
			t.Errorf("path %v, want ivr:loop 5 times (loop_limit) then hangup", r.Path)
		}
		// Each visit: 1 s greeting and 10 s wait, three times.
		if d := time.Since(start); d != 5*3*11*time.Second {
			t.Errorf("loop ended after %v", d)
		}
	})
}
