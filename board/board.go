// Package board is the appliance's hardware seen from the firmware: analog
// lines (FXS ports for analog phones, FXO ports for the telephone company's
// line), the queue-login buttons and their LEDs.
//
// Drivers: board/sim (in-process, driven by tests, the API and the web
// panel) and, for the reference hardware, GPIO/SPI drivers through
// periph.io. Routing code never imports a driver; cmd/ringbox picks one.
package board

import (
	"context"
	"time"
)

// Board is one appliance's hardware.
type Board interface {
	// Name identifies the driver ("sim", "pbx-a").
	Name() string
	// Buttons lists the queue-login buttons, numbered from 1.
	Buttons() []Button
	// LED returns the LED of button n (1-based), nil if there is none.
	LED(n int) LED
	// Events delivers button presses (debounced) until ctx ends.
	Events(ctx context.Context) <-chan ButtonEvent
	Close() error
}

// Button is a queue-login button.
type Button struct {
	N     int
	Label string
}

// Press kinds.
type Press int

const (
	Short Press = iota // log in or out
	Long               // log in unavailable / set unavailable
)

// ButtonEvent is one press of a button.
type ButtonEvent struct {
	Button int
	Kind   Press
	Time   time.Time
}

// Pattern is what an LED shows.
type Pattern int

const (
	Off       Pattern = iota // logged out
	On                       // available
	SlowBlink                // unavailable or wrap-up (500/500 ms)
	FastBlink                // ringing (100/100 ms)
)

func (p Pattern) String() string {
	switch p {
	case On:
		return "on"
	case SlowBlink:
		return "slow_blink"
	case FastBlink:
		return "fast_blink"
	}
	return "off"
}

// LED shows a pattern.
type LED interface {
	Set(p Pattern)
	Get() Pattern
}
