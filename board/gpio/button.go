package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"ringbox/board"
)

// Button is one button's pin.
type Button struct {
	// N is the button's number, from 1; 0 is the service button, whose
	// press held board.ServiceHold is reported as board.Service.
	N         int
	Pin       gpio.PinIn
	ActiveLow bool // pressed pulls the pin low (the usual switch to ground)
}

// pollEvery bounds every WaitForEdge: how long Close may wait for a button
// goroutine, and how soon a missed edge is noticed by reading the level.
const pollEvery = 250 * time.Millisecond

// Watcher reports presses of its buttons.
type Watcher struct {
	log  *slog.Logger
	out  chan board.ButtonEvent // every button's presses
	stop chan struct{}          // closed by Close
	pins []gpio.PinIn

	mu     sync.Mutex // protects following
	closed bool
	wg     sync.WaitGroup
}

// Watch sets up each button's pin as an input with edge detection (pulled
// up for an active-low button, down otherwise) and starts watching them.
func Watch(buttons []Button, log *slog.Logger) (*Watcher, error) {
	if log == nil {
		log = slog.Default()
	}
	w := &Watcher{
		log:  log.With("pkg", "gpio"),
		out:  make(chan board.ButtonEvent, 16),
		stop: make(chan struct{}),
	}
	for _, b := range buttons {
		pull := gpio.PullDown
		if b.ActiveLow {
			pull = gpio.PullUp
		}
		if err := b.Pin.In(pull, gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("%s: set up %s as an input with edge detection: %w", buttonName(b.N), b.Pin.Name(), err)
		}
	}
	for _, b := range buttons {
		w.pins = append(w.pins, b.Pin)
		w.wg.Go(func() { w.watch(b) })
	}
	return w, nil
}

func buttonName(n int) string {
	if n == 0 {
		return "service button"
	}
	return fmt.Sprintf("button %d", n)
}

// Events delivers presses until ctx ends or the watcher is closed; the
// channel is then closed. One consumer at a time: a second would share
// the presses with the first.
func (w *Watcher) Events(ctx context.Context) <-chan board.ButtonEvent {
	c := make(chan board.ButtonEvent)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		close(c)
		return c
	}
	w.wg.Go(func() {
		defer close(c)
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			case ev := <-w.out:
				select {
				case c <- ev:
				case <-ctx.Done():
					return
				case <-w.stop:
					return
				}
			}
		}
	})
	return c
}

// Close stops watching and waits for the goroutines.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.stop)
	w.mu.Unlock()
	var errs []error
	for _, p := range w.pins {
		// gpioioctl's Halt interrupts a pending WaitForEdge; otherwise
		// the poll timeout ends it.
		if err := p.Halt(); err != nil {
			errs = append(errs, fmt.Errorf("halt %s: %w", p.Name(), err))
		}
	}
	w.wg.Wait()
	return errors.Join(errs...)
}

func (w *Watcher) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

func (w *Watcher) emit(ev board.ButtonEvent) {
	select {
	case w.out <- ev:
	default:
		// Nobody has read the last 16 presses: the panel is not running.
		w.log.Warn("button press dropped: no reader", "button", ev.Button, "kind", ev.Kind)
	}
}

// watch follows one button until Close.
//
// The debounce: a level that differs from the accepted one starts a
// Debounce window; an edge back to the accepted level cancels it (a
// bounce or a glitch), another edge restarts it. The change is accepted
// when the window ends with the level still changed, and dated from the
// edge that began it, so presses are measured from contact to release
// and the Debounce delay does not count against the thresholds.
func (w *Watcher) watch(b Button) {
	active := gpio.High
	if b.ActiveLow {
		active = gpio.Low
	}
	var (
		pressed     bool      // the accepted state
		pressedAt   time.Time // when the accepted press began
		serviceSent bool      // this press was reported as Service
		changing    bool      // the level differs from the accepted state
		changeAt    time.Time // first edge of that difference
		settleAt    time.Time // the end of its debounce window
	)
	for !w.stopped() {
		now := time.Now()
		wait := pollEvery
		if changing {
			wait = min(wait, settleAt.Sub(now))
		}
		if b.N == 0 && pressed && !serviceSent && !changing {
			wait = min(wait, pressedAt.Add(board.ServiceHold).Sub(now))
		}
		edge := false
		if wait > 0 {
			edge = b.Pin.WaitForEdge(wait)
		}
		now = time.Now()
		down := b.Pin.Read() == active
		switch {
		case down == pressed:
			changing = false
		case edge || !changing:
			// A new difference, or a bounce within one: (re)start the
			// window. A difference found by reading with no edge is a
			// missed edge; it is debounced the same way.
			if !changing {
				changeAt = now
			}
			changing, settleAt = true, now.Add(board.Debounce)
		case !now.Before(settleAt):
			changing, pressed = false, down
			if down {
				pressedAt, serviceSent = changeAt, false
				continue
			}
			if serviceSent {
				continue // the Service event was this press's only one
			}
			kind := board.Short
			if changeAt.Sub(pressedAt) >= board.LongPress {
				kind = board.Long
			}
			w.emit(board.ButtonEvent{Button: b.N, Kind: kind, Time: changeAt})
		}
		// A release under debounce holds the service press back: it
		// ends the hold if it lasts, and was no release if it did not.
		if b.N == 0 && pressed && !serviceSent && !changing && !now.Before(pressedAt.Add(board.ServiceHold)) {
			serviceSent = true
			w.emit(board.ButtonEvent{Button: 0, Kind: board.Service, Time: now})
		}
	}
}
