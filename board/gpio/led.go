package gpio

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"ringbox/board"
)

// LEDPin is one LED's pin.
type LEDPin struct {
	Pin       gpio.PinOut
	ActiveLow bool // the LED lights when the pin is low (sinks current)
}

// Player plays the patterns of a set of LEDs on one goroutine.
type Player struct {
	log  *slog.Logger
	leds []*led
	wake chan struct{} // a pattern changed; buffered 1
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// led is one LED. Its pattern is set by any goroutine; lit and failing
// belong to the player's goroutine.
type led struct {
	p   *Player
	pin LEDPin

	mu    sync.Mutex // protects following
	pat   board.Pattern
	start time.Time       // when pat was set: its cycle starts there, lit
	steps []time.Duration // pat.Steps(), kept: Steps allocates
	cycle time.Duration   // the steps' sum

	lit     int8 // -1 unknown, 0 dark, 1 lit: what the pin was last set to
	failing bool // the last Out failed (logged once until one succeeds)
}

// Play drives pins as LEDs, all dark to begin with, until Close.
func Play(pins []LEDPin, log *slog.Logger) (*Player, error) {
	if log == nil {
		log = slog.Default()
	}
	p := &Player{
		log:  log.With("pkg", "gpio"),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for _, pin := range pins {
		l := &led{p: p, pin: pin, lit: -1}
		// Set the pin as an output now, so a missing or busy line fails
		// the board's Open rather than blinking nothing later.
		if err := l.out(false); err != nil {
			return nil, err
		}
		l.lit = 0
		p.leds = append(p.leds, l)
	}
	go p.run()
	return p, nil
}

// LED returns LED i (0-based, in the order given to Play).
func (p *Player) LED(i int) board.LED { return p.leds[i] }

// Close stops the player, darkens the LEDs and waits.
func (p *Player) Close() error {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	return nil
}

// Set shows pat from now on; it does not block.
func (l *led) Set(pat board.Pattern) {
	l.mu.Lock()
	if l.pat == pat {
		// The same pattern again keeps its phase: a blink that restarted
		// on every refresh would stutter.
		l.mu.Unlock()
		return
	}
	l.pat, l.start, l.steps, l.cycle = pat, time.Now(), pat.Steps(), 0
	for _, s := range l.steps {
		l.cycle += s
	}
	l.mu.Unlock()
	select {
	case l.p.wake <- struct{}{}:
	default:
	}
}

// Get returns the pattern shown.
func (l *led) Get() board.Pattern {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pat
}

func (l *led) out(lit bool) error {
	lvl := gpio.Level(lit)
	if l.pin.ActiveLow {
		lvl = !lvl
	}
	if err := l.pin.Pin.Out(lvl); err != nil {
		return fmt.Errorf("LED %s: set output %v: %w", l.pin.Pin.Name(), lvl, err)
	}
	return nil
}

// state returns whether the LED is lit at now and when that next changes
// (the zero time: never).
func (l *led) state(now time.Time) (lit bool, next time.Time) {
	l.mu.Lock()
	pat, start, steps, cycle := l.pat, l.start, l.steps, l.cycle
	l.mu.Unlock()
	if steps == nil {
		return pat == board.On, time.Time{}
	}
	elapsed := now.Sub(start)
	at := start.Add(elapsed - elapsed%cycle) // this cycle's start
	for i, s := range steps {
		at = at.Add(s)
		if at.After(now) {
			return i%2 == 0, at
		}
	}
	return true, at // unreachable: the steps add up to the cycle
}

func (p *Player) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		var next time.Time
		for _, l := range p.leds {
			lit, n := l.state(now)
			l.show(lit)
			if !n.IsZero() && (next.IsZero() || n.Before(next)) {
				next = n
			}
		}
		var tc <-chan time.Time
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
			tc = timer.C
		}
		select {
		case <-p.stop:
			for _, l := range p.leds {
				l.show(false)
			}
			return
		case <-p.wake:
		case <-tc:
		}
	}
}

// show sets the pin when the LED's state changed.
func (l *led) show(lit bool) {
	want := int8(0)
	if lit {
		want = 1
	}
	if l.lit == want {
		return
	}
	if err := l.out(lit); err != nil {
		// Keep trying at each change, but say so once.
		if !l.failing {
			l.p.log.Warn("LED", "err", err)
		}
		l.failing = true
		l.lit = -1
		return
	}
	l.failing, l.lit = false, want
}
