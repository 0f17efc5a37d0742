package hw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/host/v3"

	"ringbox/board"
	bgpio "ringbox/board/gpio"
	"ringbox/board/line"
	"ringbox/board/profile"
)

// ErrPinNotFound is returned when a profile names a GPIO line the system
// does not have.
var ErrPinNotFound = errors.New("GPIO line not found")

// Options are what Open needs besides the profile. The zero value opens
// the real hardware.
type Options struct {
	// Pin finds a GPIO line by name; nil: periph's registry after
	// host.Init (device-tree gpio-line-names through gpioioctl).
	Pin func(name string) (gpio.PinIO, error)
	// SPI and PCM open the chips' buses; nil: DefaultSPI, DefaultPCM.
	SPI func(name string) (spi.Conn, io.Closer, error)
	PCM func(PCMSpec) (Slots, error)
	// RingHz is the ringing frequency when the profile leaves it to the
	// site (ring_hz: 0); 0: 25.
	RingHz int
	Poll   time.Duration // see LineOptions.Poll
	Logger *slog.Logger  // nil: slog.Default()
}

// Board is a board described by a profile. It implements board.Board.
type Board struct {
	name      string
	buttons   []board.Button
	watcher   *bgpio.Watcher
	player    *bgpio.Player
	leds      map[int]board.LED // button n -> its LED
	queueLEDs []board.LED       // queue LED n at n-1; nil where the profile has a gap
	status    board.LED
	lines     []line.Port
	linesC    io.Closer

	closeOnce sync.Once
	closeErr  error
}

var _ board.Board = (*Board)(nil)

// Open claims the profile's pins, starts the button watcher and the LED
// player, and opens the analog ports. An error names the part of the
// profile that failed; what was opened is closed again.
func Open(p *profile.Profile, opt Options) (_ *Board, err error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Pin == nil {
		opt.Pin = hostPin
	}
	if opt.SPI == nil {
		opt.SPI = func(name string) (spi.Conn, io.Closer, error) {
			// DefaultSPI needs the host drivers (sysfs spidev) registered.
			if _, err := host.Init(); err != nil {
				return nil, nil, fmt.Errorf("periph host drivers: %w", err)
			}
			return DefaultSPI(name)
		}
	}
	if opt.PCM == nil {
		opt.PCM = DefaultPCM
	}
	b := &Board{name: p.Name, leds: map[int]board.LED{}}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	pin := func(what, name string) (gpio.PinIO, error) {
		g, err := opt.Pin(name)
		if errors.Is(err, ErrPinNotFound) {
			return nil, fmt.Errorf("%s: GPIO line %s not found (is this the %s board?)", what, name, p.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: GPIO line %s: %w", what, name, err)
		}
		return g, nil
	}

	var buttons []bgpio.Button
	for _, pb := range p.Buttons {
		g, err := pin(fmt.Sprintf("button %d", pb.N), pb.Pin)
		if err != nil {
			return nil, err
		}
		buttons = append(buttons, bgpio.Button{N: pb.N, Pin: g, ActiveLow: pb.ActiveLow})
		b.buttons = append(b.buttons, board.Button{N: pb.N, Label: pb.Label})
	}
	if s := p.ServiceButton; s != nil {
		g, err := pin("service button", s.Pin)
		if err != nil {
			return nil, err
		}
		buttons = append(buttons, bgpio.Button{N: 0, Pin: g, ActiveLow: s.ActiveLow})
	}

	// All LEDs play on one player; remember which index is which.
	var leds []bgpio.LEDPin
	type slot struct {
		kind string
		n    int
	}
	var order []slot
	for _, l := range p.LEDs {
		g, err := pin(fmt.Sprintf("LED %d", l.N), l.Pin)
		if err != nil {
			return nil, err
		}
		leds = append(leds, bgpio.LEDPin{Pin: g, ActiveLow: l.ActiveLow})
		order = append(order, slot{"button", l.N})
	}
	for _, l := range p.QueueLEDs {
		g, err := pin(fmt.Sprintf("queue LED %d", l.N), l.Pin)
		if err != nil {
			return nil, err
		}
		leds = append(leds, bgpio.LEDPin{Pin: g, ActiveLow: l.ActiveLow})
		order = append(order, slot{"queue", l.N})
	}
	if s := p.StatusLED; s != nil {
		g, err := pin("status LED", s.Pin)
		if err != nil {
			return nil, err
		}
		leds = append(leds, bgpio.LEDPin{Pin: g, ActiveLow: s.ActiveLow})
		order = append(order, slot{"status", 0})
	}

	if b.watcher, err = bgpio.Watch(buttons, opt.Logger); err != nil {
		return nil, err
	}
	if b.player, err = bgpio.Play(leds, opt.Logger); err != nil {
		return nil, err
	}
	for i, s := range order {
		switch s.kind {
		case "button":
			b.leds[s.n] = b.player.LED(i)
		case "queue":
			for len(b.queueLEDs) < s.n {
				b.queueLEDs = append(b.queueLEDs, nil)
			}
			b.queueLEDs[s.n-1] = b.player.LED(i)
		case "status":
			b.status = b.player.LED(i)
		}
	}

	if len(p.Lines) > 0 {
		if err := resetChips(p, opt.Pin); err != nil {
			return nil, err
		}
		hz := p.RingHz
		if hz == 0 {
			hz = opt.RingHz
		}
		if hz == 0 {
			hz = 25
		}
		b.lines, b.linesC, err = OpenLines(LineSpecs(p), PCMSpec{Device: p.PCM.Device, Channels: p.PCM.Channels},
			LineOptions{RingHz: hz, Poll: opt.Poll}, opt.SPI, opt.PCM)
		if err != nil {
			return nil, fmt.Errorf("analog lines: %w", err)
		}
	}
	return b, nil
}

// Reset timing of the line chips: held low 10 ms (the Si321x and Si3050
// need microseconds; DAHDI holds its cards' reset for milliseconds), then
// 50 ms for their oscillators to settle before the first SPI access.
const (
	resetHold   = 10 * time.Millisecond
	resetSettle = 50 * time.Millisecond
)

// resetChips pulses the reset line of every chip that has one (chips on
// one line are reset together), so each driver starts from the chip's
// reset values whatever ran before: a crashed process or the boot loader.
// The interrupt lines are not used: the drivers poll (LineOptions.Poll).
func resetChips(p *profile.Profile, pin func(string) (gpio.PinIO, error)) error {
	var pins []gpio.PinIO
	seen := map[string]bool{}
	for _, l := range p.Lines {
		if l.Reset == "" || seen[l.Reset] {
			continue
		}
		seen[l.Reset] = true
		rp, err := pin(l.Reset)
		if err != nil {
			return fmt.Errorf("%s: reset: GPIO line %s: %w", l.Port, l.Reset, err)
		}
		if err := rp.Out(gpio.Low); err != nil {
			return fmt.Errorf("%s: reset: GPIO line %s: %w", l.Port, l.Reset, err)
		}
		pins = append(pins, rp)
	}
	if len(pins) == 0 {
		return nil
	}
	time.Sleep(resetHold)
	for _, rp := range pins {
		if err := rp.Out(gpio.High); err != nil {
			return fmt.Errorf("reset: GPIO line %s: %w", rp.Name(), err)
		}
	}
	time.Sleep(resetSettle)
	return nil
}

// LineSpecs returns a validated profile's analog ports.
func LineSpecs(p *profile.Profile) []LineSpec {
	var out []LineSpec
	for i := range p.Lines {
		l := &p.Lines[i]
		kind, n := l.Kind()
		out = append(out, LineSpec{
			Kind: kind, N: n, Chip: l.Chip, SPI: l.SPI, Channel: l.Channel,
			Slot: l.Slot, Reset: l.Reset, IRQ: l.IRQ,
		})
	}
	return out
}

// hostPin finds a GPIO line in periph's registry. host.Init registers
// the drivers on its first call and answers the same on later ones;
// drivers for hardware the box lacks fail harmlessly.
func hostPin(name string) (gpio.PinIO, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("periph host drivers: %w", err)
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, ErrPinNotFound
	}
	return p, nil
}

func (b *Board) Name() string            { return b.name }
func (b *Board) Buttons() []board.Button { return b.buttons }
func (b *Board) Lines() []line.Port      { return b.lines }
func (b *Board) QueueLEDs() int          { return len(b.queueLEDs) }

// LED returns button n's LED.
func (b *Board) LED(n int) board.LED {
	if l, ok := b.leds[n]; ok {
		return l
	}
	return nil
}

// QueueLED returns queue LED n.
func (b *Board) QueueLED(n int) board.LED {
	if n < 1 || n > len(b.queueLEDs) || b.queueLEDs[n-1] == nil {
		return nil
	}
	return b.queueLEDs[n-1]
}

// StatusLED returns the board's status LED, nil if it has none.
func (b *Board) StatusLED() board.LED { return b.status }

// Events delivers button presses; the service button's are button 0.
func (b *Board) Events(ctx context.Context) <-chan board.ButtonEvent {
	return b.watcher.Events(ctx)
}

// Close stops the buttons and LEDs and closes the analog ports.
func (b *Board) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		if b.linesC != nil {
			if err := b.linesC.Close(); err != nil {
				errs = append(errs, fmt.Errorf("analog lines: %w", err))
			}
		}
		if b.watcher != nil {
			errs = append(errs, b.watcher.Close())
		}
		if b.player != nil {
			errs = append(errs, b.player.Close())
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
