package hw

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	"ringbox/board"
	"ringbox/board/gpio/gpiotest"
	"ringbox/board/line"
	"ringbox/board/profile"
	"ringbox/board/proslic"
	"ringbox/board/si3050"
)

// fakePins is a board's GPIO lines by name.
type fakePins map[string]*gpiotest.Pin

func (f fakePins) open(name string) (gpio.PinIO, error) {
	if p, ok := f[name]; ok {
		return p, nil
	}
	return nil, ErrPinNotFound
}

// referencePins returns the buttons' and LEDs' lines of a profile, the
// buttons released (high: active low).
func referencePins(p *profile.Profile) fakePins {
	f := fakePins{}
	for _, b := range p.Buttons {
		f[b.Pin] = gpiotest.New(b.Pin, gpio.High)
	}
	f[p.ServiceButton.Pin] = gpiotest.New(p.ServiceButton.Pin, gpio.High)
	for _, l := range append(p.LEDs, p.QueueLEDs...) {
		f[l.Pin] = gpiotest.New(l.Pin, gpio.Low)
	}
	f[p.StatusLED.Pin] = gpiotest.New(p.StatusLED.Pin, gpio.Low)
	for _, l := range p.Lines {
		if l.Reset != "" {
			f[l.Reset] = gpiotest.New(l.Reset, gpio.High)
		}
	}
	return f
}

// noLines is the reference board's profile without its analog ports.
func noLines(t *testing.T) *profile.Profile {
	t.Helper()
	p, err := profile.Load("pbx-a", "")
	if err != nil {
		t.Fatal(err)
	}
	p.Lines = nil
	return p
}

func TestReferenceBoardPanel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := noLines(t)
		pins := referencePins(p)
		b, err := Open(p, Options{Pin: pins.open})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if b.Name() != "pbx-a" || len(b.Buttons()) != 4 || b.QueueLEDs() != 4 || b.StatusLED() == nil {
			t.Fatalf("board %s: %d buttons, %d queue LEDs, status %v", b.Name(), len(b.Buttons()), b.QueueLEDs(), b.StatusLED())
		}
		if b.LED(5) != nil || b.QueueLED(0) != nil || b.QueueLED(5) != nil {
			t.Error("LEDs the board does not have are not nil")
		}
		events := b.Events(t.Context())
		pins["QLOGIN3"].Set(gpio.Low)
		time.Sleep(3 * time.Second)
		pins["QLOGIN3"].Set(gpio.High)
		pins["SERVICE"].Set(gpio.Low)
		time.Sleep(board.ServiceHold)
		synctest.Wait()
		var got []board.ButtonEvent
		for range 2 {
			got = append(got, <-events)
		}
		if got[0].Button != 3 || got[0].Kind != board.Long || got[1].Button != 0 || got[1].Kind != board.Service {
			t.Errorf("presses %v, want button 3 long then the service button held", got)
		}

		b.LED(2).Set(board.On)
		b.QueueLED(4).Set(board.On)
		b.StatusLED().Set(board.On)
		synctest.Wait()
		for name, want := range map[string]gpio.Level{"QLED2": gpio.High, "QLED1": gpio.Low, "QUEUE4": gpio.High, "QUEUE1": gpio.Low, "STATUS": gpio.High} {
			if got := pins[name].Level(); got != want {
				t.Errorf("%s is %v, want %v", name, got, want)
			}
		}
		b.Close()
		if pins["QLED2"].Level() != gpio.Low {
			t.Error("LED still lit after Close")
		}
	})
}

func TestMissingPinNamesIt(t *testing.T) {
	p := noLines(t)
	pins := referencePins(p)
	delete(pins, "QUEUE2")
	_, err := Open(p, Options{Pin: pins.open})
	if err == nil || err.Error() != "queue LED 2: GPIO line QUEUE2 not found (is this the pbx-a board?)" {
		t.Errorf("Open without QUEUE2: %v", err)
	}
}

func TestBusyPin(t *testing.T) {
	p := noLines(t)
	pins := referencePins(p)
	pins["QLOGIN1"].Fail(errors.New("device or resource busy"))
	_, err := Open(p, Options{Pin: pins.open})
	if err == nil || !strings.Contains(err.Error(), "button 1") || !strings.Contains(err.Error(), "busy") {
		t.Errorf("Open with a busy button line: %v", err)
	}
}

func TestLinesErrorClosesPanel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := profile.Load("pbx-a", "")
		if err != nil {
			t.Fatal(err)
		}
		pins := referencePins(p)
		spiErr := errors.New("no /dev/spidev1.0")
		_, err = Open(p, Options{
			Pin: pins.open,
			SPI: func(string) (spi.Conn, io.Closer, error) { return nil, nil, spiErr },
			PCM: func(PCMSpec) (Slots, error) { return nil, errors.New("no card") },
		})
		if err == nil || !strings.HasPrefix(err.Error(), "analog lines: ") {
			t.Fatalf("Open with no SPI: %v, want an analog lines error", err)
		}
		// The watcher and player goroutines were joined: the bubble ends
		// with none left (synctest fails the test otherwise).
	})
}

func TestLineSpecs(t *testing.T) {
	p, err := profile.Load("pbx-a", "")
	if err != nil {
		t.Fatal(err)
	}
	specs := LineSpecs(p)
	if len(specs) != 3 {
		t.Fatalf("%d specs, want 3", len(specs))
	}
	want := LineSpec{Kind: 1, N: 2, Chip: "si3215", SPI: "SPI1.1", Slot: 1, Reset: "SLIC2_RST", IRQ: "SLIC2_IRQ"}
	if specs[1] != want {
		t.Errorf("fxs:2 = %+v, want %+v", specs[1], want)
	}
	if specs[2].Kind.String() != "fxo" || specs[2].Chip != "si3050" {
		t.Errorf("fxo:1 = %+v", specs[2])
	}
}

func TestRaspberryPiCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := profile.Load("rpi", "")
		if err != nil {
			t.Fatal(err)
		}
		pins := referencePins(p)
		fxs, fxo := proslic.NewFake(), si3050.NewFake()
		devs := map[string]spi.Conn{"SPI0.0": fxs, "SPI0.1": fxo}
		closed := map[string]bool{}
		bus := &fakeSlots{}
		b, err := Open(p, Options{
			Pin: pins.open,
			SPI: func(name string) (spi.Conn, io.Closer, error) {
				c, ok := devs[name]
				if !ok {
					return nil, nil, errors.New("no such device")
				}
				return c, closerFunc(func() error { closed[name] = true; return nil }), nil
			},
			PCM: func(s PCMSpec) (Slots, error) {
				if s.Channels != 2 || s.Device != "ringbox-pcm" {
					t.Errorf("PCM bus %+v, want the profile's", s)
				}
				return bus, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Each chip was reset before its driver spoke to it: low 10 ms,
		// then high.
		for _, l := range p.Lines {
			outs := pins[l.Reset].Outs()
			if len(outs) != 2 || outs[0].Level != gpio.Low || outs[1].Level != gpio.High || outs[1].At.Sub(outs[0].At) != resetHold {
				t.Errorf("%s reset line %s: %+v, want low then high %v later", l.Port, l.Reset, outs, resetHold)
			}
		}
		var names []string
		for _, l := range b.Lines() {
			names = append(names, line.Name(l))
		}
		if strings.Join(names, " ") != "fxs:1 fxo:1" {
			t.Fatalf("ports %v, want fxs:1 fxo:1", names)
		}
		// A phone lifted on the FXS chip reaches the line engine.
		fxs.SetOffHook(true)
		select {
		case ev := <-b.Lines()[0].Events():
			if ev.Type != line.OffHook {
				t.Errorf("fxs:1 reported %v, want off_hook", ev.Type)
			}
		case <-time.After(time.Second):
			t.Error("fxs:1: no event a second after the phone was lifted")
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if !closed["SPI0.0"] || !closed["SPI0.1"] || !bus.closed {
			t.Errorf("after Close: SPI closed %v, PCM closed %v", closed, bus.closed)
		}
	})
}
