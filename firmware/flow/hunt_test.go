package flow

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

func TestHuntSkipsUnavailableThenLastMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		end := o.pres.Begin("ext:102") // Steve is on a call
		defer end()
		o.silent("101", "102", "105", "106", "107")
		caller := calltest.NewLeg("caller")
		start := time.Now()
		o.dest(t, caller, "hunt:support")
		// 105 is in DND, 106 blocked from hunting, Steve on a call.
		want := []dialAt{{"107", 0}, {"101", 15 * time.Second}}
		if got := o.d.log(); !slices.Equal(got, want) {
			t.Errorf("dials %v, want %v", got, want)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("hunt gave up after %v, want 30s", d)
		}
		// Nobody answered: the last member's mailbox (Voicemail is not
		// configured here, so the call ends there as unavailable).
		if r := o.cdr.last(t); !slices.Equal(r.Path, []string{"hunt:support", "voicemail:101"}) {
			t.Errorf("path %v", r.Path)
		}
	})
}

func TestHuntNobodyAvailableGoesOnAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := officeSite()
		s.HuntGroups[0].Members = []string{"ext:105", "ext:106"}
		s.HuntGroups[0].NoAnswer = "extension:107"
		o := newOffice(t, s)
		o.leg("107", calltest.NewLeg("lobby", calltest.AnswerAfter(time.Second)))
		caller := calltest.NewLeg("caller")
		time.AfterFunc(5*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "hunt:support")
		if got := o.d.log(); !slices.Equal(got, []dialAt{{"107", 0}}) {
			t.Errorf("dials %v, want only no_answer at once", got)
		}
	})
}

type fakeHuntState struct {
	mu    sync.Mutex
	next  map[string]int
	calls []string
}

func (f *fakeHuntState) HuntNext(ctx context.Context, group string, n int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.next[group] % n
	f.next[group] = i + 1
	f.calls = append(f.calls, group)
	return i, nil
}

func TestHuntStrategies(t *testing.T) {
	tests := []struct {
		strategy string
		busy     string
		want     []dialAt
		end      time.Duration // when the group gave up
	}{
		{site.HuntSequential, "", []dialAt{{"101", 0}, {"102", 10 * time.Second}, {"103", 20 * time.Second}}, 30 * time.Second},
		{site.HuntMemoryHunt, "", []dialAt{{"101", 0}, {"102", 10 * time.Second}, {"103", 20 * time.Second}}, 30 * time.Second},
		{site.HuntRingAll, "", []dialAt{{"101", 0}, {"102", 0}, {"103", 0}}, 10 * time.Second},
		{site.HuntFirstNotOnPhone, "ext:101", []dialAt{{"102", 0}}, 10 * time.Second},
		{site.HuntRoundRobin, "", []dialAt{{"101", 0}, {"102", 10 * time.Second}, {"103", 20 * time.Second}}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := officeSite()
				s.HuntGroups = []site.HuntGroup{{ID: "h", Strategy: tt.strategy, Members: []string{"ext:101", "ext:102", "ext:103"},
					Ring: site.Duration(10 * time.Second), NoAnswer: "hangup"}}
				o := newOffice(t, s)
				if tt.busy != "" {
					defer o.pres.Begin(tt.busy)()
				}
				var legs []*calltest.Leg
				for _, n := range []string{"101", "102", "103"} {
					l := calltest.NewLeg(n)
					legs = append(legs, l)
					o.leg(n, l)
				}
				caller := calltest.NewLeg("caller")
				start := time.Now()
				o.dest(t, caller, "hunt:h")
				got := o.d.log()
				sortDials(got)
				if !slices.Equal(got, tt.want) {
					t.Errorf("dials %v, want %v", got, tt.want)
				}
				if d := time.Since(start); d != tt.end {
					t.Errorf("gave up after %v, want %v", d, tt.end)
				}
				if tt.strategy == site.HuntMemoryHunt {
					// The first member rang through every step.
					if _, _, at := legs[0].Ended(); at.Sub(start) != 30*time.Second {
						t.Errorf("first member stopped at %v, want 30s", at.Sub(start))
					}
				}
			})
		})
	}
}

func TestHuntRoundRobinRotatesThroughHuntState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := officeSite()
		s.HuntGroups = []site.HuntGroup{{ID: "rr", Strategy: site.HuntRoundRobin, Members: []string{"ext:101", "ext:102", "ext:103"}}}
		o := newOffice(t, s)
		hs := &fakeHuntState{next: map[string]int{"rr": 1}} // as left by the last run
		o.e.HuntState = hs
		var first []string
		for i := 0; i < 4; i++ {
			for _, n := range []string{"101", "102", "103"} {
				o.leg(n, calltest.NewLeg(n, calltest.AnswerAfter(time.Second)))
			}
			before := len(o.d.log())
			caller := calltest.NewLeg("caller")
			time.AfterFunc(3*time.Second, func() { caller.Hangup(call.Normal) })
			o.dest(t, caller, "hunt:rr")
			first = append(first, o.d.log()[before].Number)
		}
		if want := []string{"102", "103", "101", "102"}; !slices.Equal(first, want) {
			t.Errorf("first member rung per call %v, want %v", first, want)
		}
		if len(hs.calls) != 4 {
			t.Errorf("HuntNext called %d times, want 4", len(hs.calls))
		}
	})
}

func TestHuntOrder(t *testing.T) {
	m := []string{"a", "b", "c", "d"}
	reverse := func(s []string) { slices.Reverse(s) }
	tests := []struct {
		strategy string
		start    int
		want     []string
	}{
		{site.HuntSequential, 2, []string{"a", "b", "c", "d"}},
		{site.HuntRoundRobin, 0, []string{"a", "b", "c", "d"}},
		{site.HuntRoundRobin, 2, []string{"c", "d", "a", "b"}},
		{site.HuntRoundRobin, 5, []string{"b", "c", "d", "a"}},
		{site.HuntRandom, 0, []string{"d", "c", "b", "a"}},
	}
	for _, tt := range tests {
		if got := huntOrder(tt.strategy, m, tt.start, reverse); !slices.Equal(got, tt.want) {
			t.Errorf("huntOrder(%s, start %d) = %v, want %v", tt.strategy, tt.start, got, tt.want)
		}
	}
	if !slices.Equal(m, []string{"a", "b", "c", "d"}) {
		t.Errorf("huntOrder changed the members: %v", m)
	}
}

func TestHuntRandomSpreadsCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := officeSite()
		s.HuntGroups = []site.HuntGroup{{ID: "r", Strategy: site.HuntRandom, Members: []string{"ext:101", "ext:102", "ext:103"}}}
		o := newOffice(t, s)
		counts := map[string]int{}
		for i := 0; i < 300; i++ {
			for _, n := range []string{"101", "102", "103"} {
				o.leg(n, calltest.NewLeg(n, calltest.AnswerAfter(time.Second)))
			}
			before := len(o.d.log())
			caller := calltest.NewLeg("caller")
			time.AfterFunc(2*time.Second, func() { caller.Hangup(call.Normal) })
			o.dest(t, caller, "hunt:r")
			counts[o.d.log()[before].Number]++
		}
		// Each member first about 100 times; 50 is over 7 standard
		// deviations away.
		for _, n := range []string{"101", "102", "103"} {
			if counts[n] < 50 {
				t.Errorf("first-rung counts %v: %s too rarely first", counts, n)
			}
		}
	})
}
