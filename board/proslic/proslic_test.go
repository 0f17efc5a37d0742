package proslic

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/board/line"
)

// open opens a chip on a fresh fake and closes it at the end of the test.
func open(t *testing.T) (*Fake, *Chip, line.FXSPort) {
	t.Helper()
	f := NewFake()
	c, err := Open(f, Config{Logger: quietLog})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return f, c, c.Port(0, 1, nil)
}

// next returns the next event within d, or fails.
func next(t *testing.T, p line.Port, d time.Duration) line.Event {
	t.Helper()
	select {
	case ev := <-p.Events():
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return line.Event{}
}

// quiet fails if p reports anything within d.
func quiet(t *testing.T, p line.Port, d time.Duration) {
	t.Helper()
	select {
	case ev := <-p.Events():
		t.Fatalf("unexpected event %v", ev.Type)
	case <-time.After(d):
	}
}

func TestOpenInitSequence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f, c, _ := open(t)
		if c.Part() != "si3215" {
			t.Errorf("Part = %q, want si3215", c.Part())
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("Open took %v, want it to wait for the 200 ms calibration", d)
		}
		// The order that matters: converter off while the indirect
		// registers load, battery up, calibration, DC-DC calibration,
		// PCM, and the linefeed last.
		want := []Write{
			{regPowerDown, 0x10}, {regAutoCtl, 0x07}, {regDCPeriod, 0xff}, {regPowerDown, 0x00},
			{regDCCtl, 0x19}, {regCal2, 0x1f}, {regCal1, 0x5f}, {regDCCtl, 0x99},
			{regPCMMode, 0x38}, {regRingOsc, 0x00}, {regLinefeed, lfForward},
		}
		got := f.Writes()
		i := 0
		for _, w := range got {
			if i < len(want) && w == want[i] {
				i++
			}
		}
		if i < len(want) {
			t.Errorf("init writes %v\nmiss %v (in order)", got, want[i:])
		}
		if got[len(got)-1] != (Write{regLinefeed, lfForward}) {
			t.Errorf("last init write %v, want linefeed forward active", got[len(got)-1])
		}
		// Si3215 addresses of the ring oscillator: 7 (RCO), 8 (RNGX).
		if rco := f.Indirect(7); rco != 0x7efe {
			t.Errorf("ring oscillator coefficient 0x%04x, want 0x7efe (20 Hz)", rco)
		}
		if f.Indirect(8) == 0 {
			t.Error("ring amplitude not set")
		}
		if f.Feed() != line.FeedForward {
			t.Errorf("feed %v after Open, want forward", f.Feed())
		}
	})
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*Fake)
		want  string
	}{
		{"no chip", func(f *Fake) { f.SetID(0x0f) }, "register 0"},
		{"empty socket", func(f *Fake) { f.SetID(0) }, "register 0"},
		{"calibration", (*Fake).StallCalibration, "register 96"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := NewFake()
				tt.setup(f)
				c, err := Open(f, Config{Logger: quietLog})
				if err == nil {
					c.Close()
					t.Fatal("Open succeeded")
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Open = %v, want an error naming %s", err, tt.want)
				}
				if f.Feed() != line.FeedOpen {
					t.Errorf("feed %v after a failed Open, want open", f.Feed())
				}
			})
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		f := NewFake()
		f.SetID(0)
		if _, err := Open(f, Config{Logger: quietLog}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open = %v, want ErrNotFound", err)
		}
	})
}

func TestHookDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _, p := open(t)
		lifted := time.Now()
		f.SetOffHook(true)
		ev := next(t, p, 100*time.Millisecond)
		if ev.Type != line.OffHook {
			t.Fatalf("event %v, want off_hook", ev.Type)
		}
		if d := time.Since(lifted); d < 20*time.Millisecond || d > 30*time.Millisecond {
			t.Errorf("off hook reported after %v, want the 20 ms debounce", d)
		}
		if ev.At.Sub(lifted) > 5*time.Millisecond {
			t.Errorf("event At %v after the lift, want the first poll that saw it", ev.At.Sub(lifted))
		}
		if !p.OffHook() {
			t.Error("OffHook() = false after the event")
		}

		// A 5 ms glitch (a bad contact) is not a hang-up.
		f.SetOffHook(false)
		time.Sleep(5 * time.Millisecond)
		f.SetOffHook(true)
		quiet(t, p, 100*time.Millisecond)

		// A 60 ms pulse-dial break is seen, make and break.
		f.SetOffHook(false)
		time.Sleep(60 * time.Millisecond)
		f.SetOffHook(true)
		if ev := next(t, p, 100*time.Millisecond); ev.Type != line.OnHook {
			t.Fatalf("event %v, want on_hook for the break", ev.Type)
		}
		ev = next(t, p, 100*time.Millisecond)
		if ev.Type != line.OffHook {
			t.Fatalf("event %v, want off_hook for the make", ev.Type)
		}
	})
}

func TestRingAndTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _, p := open(t)
		if err := p.Ring(true); err != nil {
			t.Fatal(err)
		}
		if !f.Ringing() {
			t.Fatal("no ringing voltage after Ring(true)")
		}
		time.Sleep(time.Second)
		if err := p.Ring(false); err != nil {
			t.Fatal(err)
		}
		if f.Ringing() || f.Feed() != line.FeedForward {
			t.Fatalf("after Ring(false): ringing %v feed %v, want silent forward", f.Ringing(), f.Feed())
		}
		quiet(t, p, 50*time.Millisecond)

		// Lifted while ringing: ring trip stops the ringing and is the
		// answer, well before the hook debounce would be.
		p.Ring(true)
		time.Sleep(300 * time.Millisecond)
		lifted := time.Now()
		f.SetOffHook(true)
		ev := next(t, p, 100*time.Millisecond)
		if ev.Type != line.OffHook {
			t.Fatalf("event %v, want off_hook on ring trip", ev.Type)
		}
		if d := time.Since(lifted); d > 10*time.Millisecond {
			t.Errorf("ring trip reported after %v, want within two polls", d)
		}
		if f.Ringing() {
			t.Error("still ringing after ring trip")
		}
		if f.Feed() != line.FeedForward {
			t.Errorf("feed %v after ring trip, want forward", f.Feed())
		}
		quiet(t, p, 100*time.Millisecond) // no second off_hook from the loop closure
	})
}

func TestFeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _, p := open(t)
		if err := p.SetFeed(line.FeedReverse); err != nil {
			t.Fatal(err)
		}
		if !f.Reversed() || f.Feed() != line.FeedReverse {
			t.Errorf("feed %v reversed %v, want reverse", f.Feed(), f.Reversed())
		}
		p.SetFeed(line.FeedOnHookTx)
		if f.Feed() != line.FeedOnHookTx {
			t.Errorf("feed %v, want on-hook transmission", f.Feed())
		}
		// Ringing returns to the feed set last.
		p.Ring(true)
		p.Ring(false)
		if f.Feed() != line.FeedOnHookTx {
			t.Errorf("feed %v after ringing, want on-hook transmission back", f.Feed())
		}
		// No battery: a lifted phone draws no loop current.
		p.SetFeed(line.FeedOpen)
		if f.Feed() != line.FeedOpen {
			t.Errorf("feed %v, want open", f.Feed())
		}
		f.SetOffHook(true)
		quiet(t, p, 100*time.Millisecond)
		p.SetFeed(line.FeedForward)
		if ev := next(t, p, 100*time.Millisecond); ev.Type != line.OffHook {
			t.Errorf("event %v after battery back, want off_hook", ev.Type)
		}
	})
}

func TestOnHookTxAnswered(t *testing.T) {
	tests := []struct {
		name string
		ring bool
	}{{"lifted during caller ID", false}, {"ring trip", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, _, p := open(t)
				p.SetFeed(line.FeedOnHookTx)
				if tt.ring {
					p.Ring(true)
				}
				f.SetOffHook(true)
				if ev := next(t, p, 100*time.Millisecond); ev.Type != line.OffHook {
					t.Fatalf("event %v, want off_hook", ev.Type)
				}
				if f.Feed() != line.FeedForward {
					t.Errorf("feed %v after answering, want forward active", f.Feed())
				}
			})
		})
	}
}

func TestPowerAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _, p := open(t)
		f.PowerAlarm()
		ev := next(t, p, 50*time.Millisecond)
		if ev.Type != line.Fault || !strings.Contains(ev.Detail, "power alarm") {
			t.Fatalf("event %v %q, want a power-alarm fault", ev.Type, ev.Detail)
		}
		if f.Feed() != line.FeedForward {
			t.Errorf("feed %v after the alarm, want forward restored", f.Feed())
		}
		quiet(t, p, 50*time.Millisecond) // the alarm was cleared
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, c, p := open(t)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if f.Feed() != line.FeedOpen {
			t.Errorf("feed %v after Close, want open", f.Feed())
		}
		if _, ok := <-p.Events(); ok {
			t.Error("Events still open after Close")
		}
		if err := p.SetFeed(line.FeedForward); err != line.ErrClosed {
			t.Errorf("SetFeed after Close = %v, want ErrClosed", err)
		}
		n := len(f.Writes())
		time.Sleep(time.Second)
		if len(f.Writes()) != n {
			t.Error("the chip was written after Close")
		}
	})
}

func TestRingCoefficients(t *testing.T) {
	// wctdm.c's values: 25 Hz RCO 0x7e6d; RNGX 0x01b9 (default), 0x0247
	// (89 Vpk), 0x014b (50 Vpk); 20 Hz RNGX 0x0160 (default), 0x01d1 (89 Vpk).
	tests := []struct {
		hz       int
		vpk      float64
		wantX    uint16
		wantCoef uint16 // 0: don't check
	}{
		{25, 67, 0x01b9, 0x7e6d},
		{25, 89, 0x0247, 0},
		{25, 50, 0x014b, 0},
		{20, 67, 0x0160, 0},
		{20, 89, 0x01d1, 0},
	}
	for _, tt := range tests {
		coef, x, _, err := ringCoefficients(tt.hz, tt.vpk/1.4142)
		if err != nil && tt.vpk < 89 {
			t.Errorf("%d Hz %v Vpk: %v", tt.hz, tt.vpk, err)
			continue
		}
		if err != nil {
			continue // 89 Vpk needs more than the 94.5 V battery allows with headroom
		}
		if d := float64(x)/float64(tt.wantX) - 1; d > 0.03 || d < -0.03 {
			t.Errorf("%d Hz %v Vpk: RNGX 0x%04x, want about 0x%04x", tt.hz, tt.vpk, x, tt.wantX)
		}
		if tt.wantCoef != 0 && coef != tt.wantCoef {
			t.Errorf("%d Hz: RCO 0x%04x, want 0x%04x", tt.hz, coef, tt.wantCoef)
		}
	}
	if _, _, _, err := ringCoefficients(20, 90); err == nil {
		t.Error("90 Vrms accepted")
	}
}

// BenchmarkFXSPoll measures one poll cycle of one channel: the loop
// status and interrupt reads against the fake (the SPI cost on hardware is
// 4 bytes at the bus clock on top).
func BenchmarkFXSPoll(b *testing.B) {
	f := NewFake()
	c, err := Open(f, Config{Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.pollLocked(now)
		c.mu.Unlock()
	}
}

func TestPollNoAlloc(t *testing.T) {
	f := NewFake()
	c, err := Open(f, Config{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.mu.Lock()
	f.writes = f.writes[:0:0]
	f.mu.Unlock()
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() {
		c.mu.Lock()
		c.pollLocked(now)
		c.mu.Unlock()
	}); n != 0 {
		t.Errorf("poll allocates %v times, want 0", n)
	}
}

var quietLog = slog.New(slog.DiscardHandler)
