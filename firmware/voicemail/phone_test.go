package voicemail

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

type pinLog struct {
	mu  sync.Mutex
	got []string
}

func (p *pinLog) SetMailboxPIN(ctx context.Context, box, pin, actor string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, box+"="+pin+" by "+actor)
	return nil
}

// TestChangePINByPhone: options 4, the new PIN twice, and it is stored;
// typed differently the second time, or too short, it is not.
func TestChangePINByPhone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		pins := &pinLog{}
		f.s.PINs = pins
		for _, c := range []struct{ first, again, want string }{
			{"97531", "97531", "101=97531 by phone:101"},
			{"97531", "97532", ""},
			{"123", "", ""}, // too short: not asked again
		} {
			pins.got = nil
			owner := calltest.NewLeg("bob")
			owner.PressAfter(100*time.Millisecond, "04")
			owner.PressAfter(3*time.Second, c.first+"#")
			if c.again != "" {
				owner.PressAfter(6*time.Second, c.again+"#")
			}
			owner.PressAfter(12*time.Second, "*")
			if got := f.s.Listen(t.Context(), owner, testSite(), "101"); got != call.Normal {
				t.Errorf("Listen = %v", got)
			}
			if want := []string{c.want}; (c.want == "" && len(pins.got) != 0) || (c.want != "" && !slices.Equal(pins.got, want)) {
				t.Errorf("new PIN %s then %s: stored %v, want %q", c.first, c.again, pins.got, c.want)
			}
		}
	})
}

// TestNameInDefaultGreeting: with only a name recorded, callers hear the
// name then "is on the phone" (busy) or "is not available".
func TestNameInDefaultGreeting(t *testing.T) {
	f := newFixture(t)
	name := make([]int16, 16000) // 2 s at 8 kHz
	for i := range name {
		name[i] = 777
	}
	if err := f.s.saveGreeting("101", NameFile, name, 8000); err != nil {
		t.Fatal(err)
	}
	b, _ := Lookup(testSite(), "101")
	for _, c := range []struct {
		busy bool
		tail string
	}{{true, "vm-is-busy"}, {false, "vm-is-unavailable"}} {
		f.asked = nil
		src := f.s.greeting(b, "en", c.busy, 8000)
		frame := make([]int16, 160)
		n, first := 0, int16(0)
		for src.ReadFrame(frame) {
			if n == 0 {
				first = frame[0]
			}
			n++
		}
		// The name's 100 frames, then the fixture's 1 s (50 frames) tail.
		if first != 777 || n != 150 || !slices.Equal(f.asked, []string{c.tail}) {
			t.Errorf("busy %v: %d frames starting %d, prompts %v; want the name then %s", c.busy, n, first, f.asked, c.tail)
		}
	}
}

// TestStarInGreetingLogsIn: '*' during a box's greeting is its owner
// calling from outside: the PIN opens the box, no message is left.
func TestStarInGreetingLogsIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		s := testSite()
		s.Voicemail[0].PIN = "2468"
		caller := calltest.NewLeg("owner", calltest.Speaks(5))
		caller.PressAfter(500*time.Millisecond, "*")
		caller.PressAfter(2*time.Second, "2468#")
		c, err := f.s.Leave(t.Context(), caller, Leave{Site: s, Box: "general", From: caller.Remote(), CallID: "o"})
		if err != nil || c != call.Normal {
			t.Errorf("Leave = %v, %v", c, err)
		}
		if len(f.st.msgs) != 0 || !slices.Contains(f.asked, "vm-enter-pin") || !slices.Contains(f.asked, "no-more-messages") {
			t.Errorf("messages %d, prompts %v; want logged in to the box, nothing left", len(f.st.msgs), f.asked)
		}
	})
}
