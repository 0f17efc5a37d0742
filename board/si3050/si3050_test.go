package si3050

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/board/line"
)

var quietLog = slog.New(slog.DiscardHandler)

func open(t *testing.T, f *Fake) (*Chip, line.FXOPort) {
	t.Helper()
	c, err := Open(f, Config{Logger: quietLog})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.Port(1, nil)
}

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

func expect(t *testing.T, p line.Port, want line.EvType, d time.Duration) line.Event {
	t.Helper()
	ev := next(t, p, d)
	if ev.Type != want {
		t.Fatalf("event %v, want %v", ev.Type, want)
	}
	return ev
}

func quiet(t *testing.T, p line.Port, d time.Duration) {
	t.Helper()
	select {
	case ev := <-p.Events():
		t.Fatalf("unexpected event %v", ev.Type)
	case <-time.After(d):
	}
}

func TestInitSequence(t *testing.T) {
	tests := []struct {
		country string
		want    []Write
	}{
		{"us", []Write{{regIntl1, 0x01}, {regDCTerm, 0xc0}, {regACTerm, 0x00}, {regDAACtl5, 0xa3}}},
		{"ctr21", []Write{{regIntl1, 0x00}, {regDCTerm, 0xc2}, {regACTerm, 0x02}, {regDAACtl5, 0xa3}}},
	}
	for _, tt := range tests {
		t.Run(tt.country, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := NewFake()
				c, err := Open(f, Config{Country: tt.country, Logger: quietLog})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				got := f.Writes()
				want := append([]Write{{regControl1, 0x80}, {regPCMMode, 0x38}}, tt.want...)
				want = append(want, Write{regDAACtl2, 0x00}, Write{regDAACtl1, daaONHM})
				i := 0
				for _, w := range got {
					if i < len(want) && w == want[i] {
						i++
					}
				}
				if i < len(want) {
					t.Errorf("init writes %v\nmiss %v (in order)", got, want[i:])
				}
				if last := got[len(got)-1]; last != (Write{regDAACtl1, daaONHM}) {
					t.Errorf("last init write %v, want the on-hook line monitor on", last)
				}
				if f.OffHook() {
					t.Error("the line is seized after Open")
				}
			})
		})
	}
	if _, err := Open(NewFake(), Config{Country: "mars"}); err == nil || !strings.Contains(err.Error(), "ctr21") {
		t.Errorf("Open(mars) = %v, want an error listing the countries", err)
	}
}

func TestOpenErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		f.SetAbsent(true)
		_, err := Open(f, Config{Logger: quietLog})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "register 2") {
			t.Errorf("Open on an empty bus = %v, want ErrNotFound naming register 2", err)
		}
		f = NewFake()
		f.StallLineSide()
		start := time.Now()
		_, err = Open(f, Config{Logger: quietLog})
		if err == nil || !strings.Contains(err.Error(), "register 11") {
			t.Errorf("Open with a dead line side = %v, want an error naming register 11", err)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("gave up after %v, want 2 s", d)
		}
	})
}

func TestRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		_, p := open(t, f)
		for range 2 { // US cadence: 2 s on, 4 s off
			start := time.Now()
			f.Ring(true)
			ev := expect(t, p, line.RingOn, 100*time.Millisecond)
			if d := ev.At.Sub(start); d < 0 || d > 5*time.Millisecond {
				t.Errorf("RingOn At %v after the ring began, want the first poll", d)
			}
			quiet(t, p, 2*time.Second-100*time.Millisecond) // steady while it rings
			f.Ring(false)
			stop := time.Now()
			expect(t, p, line.RingOff, 200*time.Millisecond)
			if d := time.Since(stop); d < 50*time.Millisecond {
				t.Errorf("RingOff %v after the ring stopped, want the 64 ms debounce", d)
			}
			quiet(t, p, 3*time.Second) // no polarity or parallel events from the ring swing
		}
		// A short burst of noise on the ring detector is not a ring.
		f.Ring(true)
		time.Sleep(8 * time.Millisecond)
		f.Ring(false)
		quiet(t, p, 300*time.Millisecond)
	})
}

func TestPolarity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		_, p := open(t, f)
		f.ReversePolarity()
		time.Sleep(30 * time.Millisecond)
		f.ReversePolarity() // a 30 ms glitch
		quiet(t, p, 200*time.Millisecond)
		f.ReversePolarity()
		rev := time.Now()
		expect(t, p, line.PolarityReversal, 200*time.Millisecond)
		if d := time.Since(rev); d < 64*time.Millisecond {
			t.Errorf("reversal reported after %v, want the 64 ms debounce", d)
		}
		if v := p.Status().Voltage; v != -48 {
			t.Errorf("Status().Voltage = %v, want -48", v)
		}
		f.ReversePolarity()
		expect(t, p, line.PolarityReversal, 200*time.Millisecond)
	})
}

func TestBattery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		_, p := open(t, f)
		f.SetBattery(0)
		expect(t, p, line.BatteryLost, 200*time.Millisecond)
		if v := p.Status().Voltage; v != 0 {
			t.Errorf("Status().Voltage = %v with no battery", v)
		}
		quiet(t, p, 200*time.Millisecond) // not a parallel phone, not a reversal
		f.SetBattery(48)
		expect(t, p, line.BatteryRestored, 200*time.Millisecond)
		quiet(t, p, 200*time.Millisecond)
	})
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		f.SetBattery(0)
		_, p := open(t, f)
		expect(t, p, line.BatteryLost, 10*time.Millisecond) // reported at Open
	})
}

func TestLoopCurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		_, p := open(t, f)
		if err := p.SetHook(true); err != nil {
			t.Fatal(err)
		}
		if !f.OffHook() {
			t.Fatal("the line is not seized after SetHook(true)")
		}
		time.Sleep(50 * time.Millisecond)
		st := p.Status()
		if !st.OffHook || st.LoopCurrent < 24 || st.LoopCurrent > 26 {
			t.Errorf("Status = %+v, want off hook with 25 mA", st)
		}
		quiet(t, p, 200*time.Millisecond) // the off-hook voltage drop is not a parallel phone
		f.SetLoopCurrent(0)
		expect(t, p, line.LoopCurrentLost, 200*time.Millisecond)
		quiet(t, p, 200*time.Millisecond) // once
		p.SetHook(false)
		if f.OffHook() {
			t.Error("the line is still seized after SetHook(false)")
		}
		quiet(t, p, 200*time.Millisecond)
	})
}

func TestParallelOffHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		_, p := open(t, f)
		f.SetParallelOffHook(true)
		expect(t, p, line.ParallelOffHook, 200*time.Millisecond)
		f.SetParallelOffHook(false)
		expect(t, p, line.ParallelOnHook, 200*time.Millisecond)
		// While the box holds the line the low voltage is its own.
		p.SetHook(true)
		f.SetParallelOffHook(true)
		quiet(t, p, 200*time.Millisecond)
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		c, p := open(t, f)
		p.SetHook(true)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if f.OffHook() {
			t.Error("the line is still seized after Close")
		}
		if _, ok := <-p.Events(); ok {
			t.Error("Events still open after Close")
		}
		if err := p.SetHook(true); err != line.ErrClosed {
			t.Errorf("SetHook after Close = %v, want ErrClosed", err)
		}
	})
}

// BenchmarkFXOPoll measures one poll cycle (three register reads on hook,
// four off hook, nine SPI bytes each three) against the fake.
func BenchmarkFXOPoll(b *testing.B) {
	c, err := Open(NewFake(), Config{Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.Port(1, nil).SetHook(true)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.pollLocked(now)
		c.mu.Unlock()
	}
}
