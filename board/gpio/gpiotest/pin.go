// Package gpiotest is a fake GPIO pin for tests of the panel: its
// WaitForEdge honours the timeout with a timer, so it runs under
// testing/synctest, and it records what was written to it with the time.
package gpiotest

import (
	"errors"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// Pin is a fake gpio.PinIO. The zero value is not usable; use New.
type Pin struct {
	name  string
	edges chan struct{} // one pending edge at most, like a kernel's coalesced events

	mu    sync.Mutex // protects following
	level gpio.Level
	input bool
	pull  gpio.Pull
	edge  gpio.Edge
	outs  []Out
	err   error // returned by In and Out when set
}

// Out is one Out call.
type Out struct {
	At    time.Time
	Level gpio.Level
}

// New returns a pin named name at level.
func New(name string, level gpio.Level) *Pin {
	return &Pin{name: name, level: level, edges: make(chan struct{}, 1)}
}

// Set drives the pin's level from outside (a button contact), raising an
// edge if the level changed and the pin watches that edge.
func (p *Pin) Set(l gpio.Level) {
	p.mu.Lock()
	changed := p.level != l
	p.level = l
	watch := p.edge == gpio.BothEdges || (p.edge == gpio.RisingEdge && l == gpio.High) || (p.edge == gpio.FallingEdge && l == gpio.Low)
	p.mu.Unlock()
	if changed && watch {
		select {
		case p.edges <- struct{}{}:
		default:
		}
	}
}

// Fail makes In and Out fail with err (nil: succeed again).
func (p *Pin) Fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

// Outs returns the Out calls so far.
func (p *Pin) Outs() []Out {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Out(nil), p.outs...)
}

// Level returns the pin's level.
func (p *Pin) Level() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// Pull returns the pull resistor In asked for.
func (p *Pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

func (p *Pin) String() string   { return p.name }
func (p *Pin) Name() string     { return p.name }
func (p *Pin) Number() int      { return -1 }
func (p *Pin) Function() string { return string(p.Func()) }
func (p *Pin) Halt() error      { return nil }

func (p *Pin) Func() pin.Func {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.input {
		return gpio.IN
	}
	return gpio.OUT
}

func (p *Pin) SupportedFuncs() []pin.Func { return []pin.Func{gpio.IN, gpio.OUT} }

func (p *Pin) SetFunc(f pin.Func) error {
	switch f {
	case gpio.IN:
		return p.In(gpio.PullNoChange, gpio.NoEdge)
	case gpio.OUT:
		return p.Out(p.Level())
	}
	return errUnsupported
}

func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.input, p.pull, p.edge = true, pull, edge
	select { // In empties the accumulated edges
	case <-p.edges:
	default:
	}
	return nil
}

func (p *Pin) Read() gpio.Level { return p.Level() }

// WaitForEdge waits for an edge for up to timeout; like gpioioctl, a
// timeout of 0 or less does not wait forever (negative: not at all).
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	if timeout <= 0 {
		select {
		case <-p.edges:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-t.C:
		return false
	}
}

func (p *Pin) DefaultPull() gpio.Pull { return gpio.PullNoChange }

func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.input, p.level = false, l
	p.outs = append(p.outs, Out{At: time.Now(), Level: l})
	return nil
}

func (p *Pin) PWM(gpio.Duty, physic.Frequency) error { return errUnsupported }

var errUnsupported = errors.New("gpiotest: unsupported function")

var _ gpio.PinIO = (*Pin)(nil)
