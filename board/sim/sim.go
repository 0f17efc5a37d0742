// Package sim is the simulated board: what `make run`, tests and demos use
// in place of the box's hardware.
//
// Its buttons are pressed by tests, the REST API or the web panel, and its
// LEDs' patterns read back. Its analog ports implement board/line with a
// simulated device on the far side of each: an analog [Phone] on every
// FXS port and the telephone company's [Exchange] on every FXO port. The
// devices behave in time as the real ones do (a rotary dial's 60/40 ms
// breaks and makes, DTMF keys 80 ms long, the exchange's ring cadence with
// caller ID after the first ring, dial tone while the box holds the line),
// so the line engine above is exercised by the sim exactly as by the chips.
//
// # Time
//
// Everything is paced by plain timers and sleeps: under testing/synctest
// the whole board runs on the bubble's fake clock. A port's audio is paced
// by its own 20 ms clock (Audio().ReadFrame sleeps until the next tick).
//
// # Concurrency
//
// Every method is safe for concurrent use. Goroutines the board starts
// (ringing, dialling in the background, a battery coming back) are owned
// by the board and joined by [Board.Close].
package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"ringbox/audio/tone"
	"ringbox/board"
	"ringbox/board/line"
)

// Options says what the simulated board has. The zero value is a board
// with nothing on it.
type Options struct {
	Buttons   int    // queue-login buttons, each with an LED
	QueueLEDs int    // LEDs showing queues
	FXS       int    // FXS ports, each with a phone
	FXO       int    // FXO ports, each on an exchange line
	Zone      string // tone zone of the exchange's tones; "" or unknown: us
}

// Board is an in-process board.
type Board struct {
	buttons   []board.Button
	leds      []*led
	queueLEDs []*led
	events    chan board.ButtonEvent
	zone      *tone.Set
	phones    []*Phone
	exchanges []*Exchange
	ports     []line.Port

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the board's goroutines

	mu     sync.Mutex // protects closed (so wg.Add never races Close's Wait)
	closed bool
}

// ErrClosed is returned by a closed board's devices.
var ErrClosed = errors.New("sim: board closed")

// New returns a simulated board.
func New(o Options) *Board {
	zone, err := tone.Zone(o.Zone)
	if err != nil {
		zone, _ = tone.Zone("us")
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Board{events: make(chan board.ButtonEvent, 16), zone: zone, ctx: ctx, cancel: cancel}
	for i := 1; i <= o.Buttons; i++ {
		b.buttons = append(b.buttons, board.Button{N: i, Label: fmt.Sprintf("Queue login %d", i)})
		b.leds = append(b.leds, &led{})
	}
	for range o.QueueLEDs {
		b.queueLEDs = append(b.queueLEDs, &led{})
	}
	for i := 1; i <= o.FXS; i++ {
		p := newPhone(b, i)
		b.phones = append(b.phones, p)
		b.ports = append(b.ports, &fxsPort{p})
	}
	for i := 1; i <= o.FXO; i++ {
		x := newExchange(b, i)
		b.exchanges = append(b.exchanges, x)
		b.ports = append(b.ports, &fxoPort{x})
	}
	return b
}

// Name implements board.Board.
func (b *Board) Name() string { return "sim" }

// Zone is the tone zone the exchange plays.
func (b *Board) Zone() string { return b.zone.Name() }

// Buttons implements board.Board.
func (b *Board) Buttons() []board.Button { return slices.Clone(b.buttons) }

// LED implements board.Board.
func (b *Board) LED(n int) board.LED {
	if n < 1 || n > len(b.leds) {
		return nil
	}
	return b.leds[n-1]
}

// QueueLEDs implements board.Board.
func (b *Board) QueueLEDs() int { return len(b.queueLEDs) }

// QueueLED implements board.Board.
func (b *Board) QueueLED(n int) board.LED {
	if n < 1 || n > len(b.queueLEDs) {
		return nil
	}
	return b.queueLEDs[n-1]
}

// Lines implements board.Board: the FXS ports, then the FXO ports.
func (b *Board) Lines() []line.Port { return slices.Clone(b.ports) }

// Phone returns the phone on FXS port n (1-based), nil if there is none.
func (b *Board) Phone(n int) *Phone {
	if n < 1 || n > len(b.phones) {
		return nil
	}
	return b.phones[n-1]
}

// Exchange returns the exchange line on FXO port n (1-based), nil if
// there is none.
func (b *Board) Exchange(n int) *Exchange {
	if n < 1 || n > len(b.exchanges) {
		return nil
	}
	return b.exchanges[n-1]
}

// Events implements board.Board: presses made with Press and
// PressService.
func (b *Board) Events(ctx context.Context) <-chan board.ButtonEvent {
	out := make(chan board.ButtonEvent)
	started := b.Go(func(bctx context.Context) {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-bctx.Done():
				return
			case ev := <-b.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				case <-bctx.Done():
					return
				}
			}
		}
	})
	if !started { // closed: no presses will come
		close(out)
	}
	return out
}

// Press simulates a press of button n. It fails for a button the board
// lacks, and when 16 presses are already waiting for the consumer.
func (b *Board) Press(n int, kind board.Press) error {
	if n < 1 || n > len(b.buttons) {
		return fmt.Errorf("sim: no button %d (the board has %d)", n, len(b.buttons))
	}
	return b.send(board.ButtonEvent{Button: n, Kind: kind, Time: time.Now()})
}

// PressService simulates the service button held for board.ServiceHold:
// a factory-reset request.
func (b *Board) PressService() error {
	return b.send(board.ButtonEvent{Button: 0, Kind: board.Service, Time: time.Now()})
}

func (b *Board) send(ev board.ButtonEvent) error {
	if b.ctx.Err() != nil {
		return ErrClosed
	}
	select {
	case b.events <- ev:
		return nil
	default:
		return errors.New("sim: too many presses waiting")
	}
}

// Go runs f on a goroutine the board owns: its context ends at Close,
// which waits for f to return. After Close, f does not run and Go
// returns false.
func (b *Board) Go(f func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f(b.ctx)
	}()
	return true
}

// Close ends every device, port and goroutine of the board and waits for
// its goroutines.
func (b *Board) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	for _, p := range b.ports {
		p.Close()
	}
	b.wg.Wait()
	return nil
}

// sleep waits d, or until the board closes (false).
func (b *Board) sleep(d time.Duration) bool {
	if d <= 0 {
		return b.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

type led struct {
	mu sync.Mutex // protects p
	p  board.Pattern
}

func (l *led) Set(p board.Pattern) { l.mu.Lock(); l.p = p; l.mu.Unlock() }
func (l *led) Get() board.Pattern  { l.mu.Lock(); defer l.mu.Unlock(); return l.p }
