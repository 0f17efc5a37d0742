package gpio

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"ringbox/board"
	"ringbox/board/gpio/gpiotest"
)

// edge is one change of an LED, at an offset from when its pattern was set.
type edge struct {
	At  time.Duration
	Lit bool
}

// edges returns the LED changes recorded on pin from start on.
func edges(pin *gpiotest.Pin, start time.Time, activeLow bool) []edge {
	var got []edge
	for _, o := range pin.Outs() {
		if o.At.Before(start) {
			continue
		}
		got = append(got, edge{o.At.Sub(start), bool(o.Level) != activeLow})
	}
	return got
}

// wantEdges plays steps from 0 until end: lit at 0, then a change at the
// end of each step.
func wantEdges(steps []time.Duration, end time.Duration) []edge {
	want := []edge{{0, true}}
	at, lit := time.Duration(0), true
	for i := 0; ; i++ {
		at += steps[i%len(steps)]
		if at >= end {
			return want
		}
		lit = !lit
		want = append(want, edge{at, lit})
	}
}

func TestPatternTiming(t *testing.T) {
	for _, pat := range []board.Pattern{board.SlowBlink, board.FastBlink, board.DoubleBlink} {
		t.Run(pat.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := gpiotest.New("LED1", gpio.Low)
				p, err := Play([]LEDPin{{Pin: pin}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				time.Sleep(time.Second)
				led := p.LED(0)
				start := time.Now()
				led.Set(pat)
				time.Sleep(3*time.Second + 50*ms)
				synctest.Wait()
				got := edges(pin, start, false)
				want := wantEdges(pat.Steps(), 3*time.Second+50*ms)
				if !slices.Equal(got, want) {
					t.Errorf("%v for 3s:\n got %v\nwant %v", pat, got, want)
				}
				if led.Get() != pat {
					t.Errorf("Get = %v, want %v", led.Get(), pat)
				}
			})
		})
	}
}

func TestSteadyPatterns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := gpiotest.New("LED1", gpio.High)
		p, err := Play([]LEDPin{{Pin: pin, ActiveLow: true}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if got := edges(pin, start, true); !slices.Equal(got, []edge{{0, false}}) {
			t.Errorf("after Play: %v, want dark at once", got)
		}
		led := p.LED(0)
		time.Sleep(time.Second)
		led.Set(board.On)
		time.Sleep(5 * time.Second)
		led.Set(board.Off)
		time.Sleep(time.Second)
		synctest.Wait()
		want := []edge{{0, false}, {time.Second, true}, {6 * time.Second, false}}
		if got := edges(pin, start, true); !slices.Equal(got, want) {
			t.Errorf("on for 5s (active low):\n got %v\nwant %v", got, want)
		}
		p.Close()
	})
}

// TestLEDsKeepTheirPhase: LEDs set at different times keep their own
// phase, and setting the pattern an LED already shows does not restart it.
func TestLEDsKeepTheirPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := gpiotest.New("A", gpio.Low), gpiotest.New("B", gpio.Low)
		p, err := Play([]LEDPin{{Pin: a}, {Pin: b}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		time.Sleep(time.Second)
		start := time.Now()
		p.LED(0).Set(board.SlowBlink)
		time.Sleep(250 * ms)
		p.LED(1).Set(board.FastBlink)
		time.Sleep(500 * ms)
		p.LED(0).Set(board.SlowBlink) // a refresh: no restart
		time.Sleep(1250*ms + ms)
		synctest.Wait()
		if got, want := edges(a, start, false), wantEdges(board.SlowBlink.Steps(), 2*time.Second+ms); !slices.Equal(got, want) {
			t.Errorf("LED A:\n got %v\nwant %v", got, want)
		}
		if got, want := edges(b, start.Add(250*ms), false), wantEdges(board.FastBlink.Steps(), 1750*ms+ms); !slices.Equal(got, want) {
			t.Errorf("LED B:\n got %v\nwant %v", got, want)
		}
	})
}

func TestCloseDarkens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := gpiotest.New("LED", gpio.Low)
		p, err := Play([]LEDPin{{Pin: pin}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.LED(0).Set(board.On)
		synctest.Wait()
		p.Close()
		if pin.Level() != gpio.Low {
			t.Error("LED still lit after Close")
		}
	})
}

func TestPlayFailsOnABadPin(t *testing.T) {
	pin := gpiotest.New("LED7", gpio.Low)
	pin.Fail(errors.New("device or resource busy"))
	if _, err := Play([]LEDPin{{Pin: pin}}, nil); err == nil {
		t.Error("Play on a pin that cannot be an output succeeded")
	}
}

// BenchmarkLEDState measures what the player does for each LED when it
// wakes: where in its pattern the LED is and when it next changes.
func BenchmarkLEDState(b *testing.B) {
	p, err := Play([]LEDPin{{Pin: gpiotest.New("LED", gpio.Low)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	l := p.leds[0]
	l.Set(board.DoubleBlink)
	now := time.Now().Add(time.Hour + 350*ms)
	b.ReportAllocs()
	for b.Loop() {
		l.state(now)
	}
}

func TestLEDStateDoesNotAllocate(t *testing.T) {
	p, err := Play([]LEDPin{{Pin: gpiotest.New("LED", gpio.Low)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l := p.leds[0]
	l.Set(board.DoubleBlink)
	now := time.Now().Add(time.Hour)
	if n := testing.AllocsPerRun(100, func() { l.state(now) }); n != 0 {
		t.Errorf("state allocates %v times a call, want 0", n)
	}
}
