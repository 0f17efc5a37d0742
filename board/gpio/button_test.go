package gpio

import (
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"ringbox/board"
	"ringbox/board/gpio/gpiotest"
)

const ms = time.Millisecond

// watch starts a watcher on one active-low button n and returns its pin
// and its events; the watcher is closed at the end of the test.
func watch(t *testing.T, n int) (*gpiotest.Pin, <-chan board.ButtonEvent) {
	t.Helper()
	pin := gpiotest.New("QLOGIN", gpio.High)
	w, err := Watch([]Button{{N: n, Pin: pin, ActiveLow: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return pin, w.Events(t.Context())
}

// drain returns the presses reported so far.
func drain(c <-chan board.ButtonEvent) []board.ButtonEvent {
	synctest.Wait()
	var got []board.ButtonEvent
	for {
		select {
		case ev := <-c:
			got = append(got, ev)
		default:
			return got
		}
	}
}

// bounce sets the pin to l through a few contact bounces 3 ms apart.
func bounce(pin *gpiotest.Pin, l gpio.Level) {
	for range 3 {
		pin.Set(l)
		time.Sleep(3 * ms)
		pin.Set(!l)
		time.Sleep(3 * ms)
	}
	pin.Set(l)
}

func TestPressIsDebounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin, events := watch(t, 1)
		if pin.Pull() != gpio.PullUp {
			t.Errorf("pull = %v, want up for an active-low button", pin.Pull())
		}
		start := time.Now()
		bounce(pin, gpio.Low)
		time.Sleep(300 * ms)
		bounce(pin, gpio.High)
		time.Sleep(time.Second)
		got := drain(events)
		if len(got) != 1 {
			t.Fatalf("one bouncy press gave %d events (%v), want 1", len(got), got)
		}
		if got[0].Button != 1 || got[0].Kind != board.Short {
			t.Errorf("press = %+v, want a short press of button 1", got[0])
		}
		// Dated from the first contact of the release.
		if want := start.Add(336 * ms); !got[0].Time.Equal(want) {
			t.Errorf("press reported at %v, want %v", got[0].Time.Sub(start), want.Sub(start))
		}
	})
}

func TestGlitchIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin, events := watch(t, 1)
		for range 5 {
			pin.Set(gpio.Low)
			time.Sleep(board.Debounce - ms)
			pin.Set(gpio.High)
			time.Sleep(time.Second)
		}
		if got := drain(events); len(got) != 0 {
			t.Errorf("glitches shorter than the debounce gave %v, want nothing", got)
		}
	})
}

func TestPressKinds(t *testing.T) {
	tests := []struct {
		name   string
		button int
		hold   time.Duration
		want   []board.Press
	}{
		{"short", 1, 200 * ms, []board.Press{board.Short}},
		{"just short", 1, board.LongPress - ms, []board.Press{board.Short}},
		{"long at the threshold", 1, board.LongPress, []board.Press{board.Long}},
		{"long", 2, 5 * time.Second, []board.Press{board.Long}},
		{"queue button held long", 3, 15 * time.Second, []board.Press{board.Long}},
		{"service button short", 0, 300 * ms, []board.Press{board.Short}},
		{"service button just before the hold", 0, board.ServiceHold - ms, []board.Press{board.Long}},
		{"service hold", 0, board.ServiceHold + 5*time.Second, []board.Press{board.Service}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin, events := watch(t, tt.button)
				time.Sleep(time.Second)
				pin.Set(gpio.Low)
				time.Sleep(tt.hold)
				pin.Set(gpio.High)
				time.Sleep(time.Second)
				var got []board.Press
				for _, ev := range drain(events) {
					if ev.Button != tt.button {
						t.Errorf("event of button %d, want %d", ev.Button, tt.button)
					}
					got = append(got, ev.Kind)
				}
				if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
					t.Errorf("held %v: got %v, want %v", tt.hold, got, tt.want)
				}
			})
		})
	}
}

func TestServiceReportedWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin, events := watch(t, 0)
		start := time.Now()
		pin.Set(gpio.Low)
		time.Sleep(board.ServiceHold - ms)
		if got := drain(events); len(got) != 0 {
			t.Fatalf("before %v: %v, want nothing yet", board.ServiceHold, got)
		}
		time.Sleep(ms)
		got := drain(events)
		if len(got) != 1 || got[0].Kind != board.Service || got[0].Button != 0 {
			t.Fatalf("at %v, still held: %v, want one service press", board.ServiceHold, got)
		}
		if d := got[0].Time.Sub(start); d != board.ServiceHold {
			t.Errorf("service press dated %v after contact, want %v", d, board.ServiceHold)
		}
	})
}

func TestMissedEdgeIsNoticed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := gpiotest.New("SERVICE", gpio.High)
		w, err := Watch([]Button{{N: 1, Pin: pin, ActiveLow: true}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		events := w.Events(t.Context())
		// The kernel dropped both edges of a one-second press: only the
		// polled level shows it.
		pin.In(gpio.PullUp, gpio.NoEdge)
		pin.Set(gpio.Low)
		time.Sleep(time.Second)
		pin.Set(gpio.High)
		time.Sleep(time.Second)
		if got := drain(events); len(got) != 1 || got[0].Kind != board.Short {
			t.Errorf("press without edges: %v, want one short press", got)
		}
	})
}

func TestCloseEndsEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := gpiotest.New("B", gpio.Low)
		w, err := Watch([]Button{{N: 1, Pin: pin}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pin.Pull() != gpio.PullDown {
			t.Errorf("pull = %v, want down for an active-high button", pin.Pull())
		}
		events := w.Events(t.Context())
		w.Close()
		if _, ok := <-events; ok {
			t.Error("event after Close")
		}
		if _, ok := <-w.Events(t.Context()); ok {
			t.Error("Events after Close delivered")
		}
	})
}
