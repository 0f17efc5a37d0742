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

	"ringbox/board/line"
)

// Board is one appliance's hardware.
type Board interface {
	// Name identifies the driver ("sim", "pbx-a", "rpi", or the profile
	// file's name).
	Name() string
	// Buttons lists the queue-login buttons, numbered from 1.
	Buttons() []Button
	// LED returns the LED of button n (1-based), nil if there is none.
	LED(n int) LED
	// QueueLEDs is how many queue LEDs the board has; QueueLED returns
	// LED n (1-based), nil if there is none. The site's queues[].led says
	// which queue each one shows.
	QueueLEDs() int
	QueueLED(n int) LED
	// Events delivers button presses (debounced and classified: short,
	// long, or the service button held for ServiceHold) until ctx ends.
	// One consumer at a time.
	Events(ctx context.Context) <-chan ButtonEvent
	// Lines are the analog ports (FXS, FXO), in the profile's order.
	Lines() []line.Port
	Close() error
}

// Press timing: a press shorter than LongPress is short; held LongPress
// or more it is long (reported on release); the service button held
// ServiceHold is a factory-reset request (reported when the time is
// reached, while it is still held). Contacts bounce for up to Debounce.
const (
	Debounce    = 30 * time.Millisecond
	LongPress   = 2 * time.Second
	ServiceHold = 10 * time.Second
)

// Button is a queue-login button.
type Button struct {
	N     int
	Label string
}

// Press kinds.
type Press int

const (
	Short   Press = iota // log in or out
	Long                 // log in unavailable / set unavailable
	Service              // the service button held ServiceHold: factory-reset request
)

func (p Press) String() string {
	switch p {
	case Long:
		return "long"
	case Service:
		return "service"
	}
	return "short"
}

// ButtonEvent is one press of a button.
type ButtonEvent struct {
	Button int // 1-based; 0 for the service button
	Kind   Press
	Time   time.Time
}

// Pattern is what an LED shows.
type Pattern int

const (
	Off         Pattern = iota // logged out
	On                         // available
	SlowBlink                  // unavailable or wrap-up (500/500 ms)
	FastBlink                  // ringing (100/100 ms); a queue over its service level
	DoubleBlink                // two flashes a second (100/100/100/700 ms): a factory-reset request waits
)

// Steps is the pattern's on/off cycle, starting with on; nil for Off and
// On, which do not change.
func (p Pattern) Steps() []time.Duration {
	ms := time.Millisecond
	switch p {
	case SlowBlink:
		return []time.Duration{500 * ms, 500 * ms}
	case FastBlink:
		return []time.Duration{100 * ms, 100 * ms}
	case DoubleBlink:
		return []time.Duration{100 * ms, 100 * ms, 100 * ms, 700 * ms}
	}
	return nil
}

func (p Pattern) String() string {
	switch p {
	case On:
		return "on"
	case SlowBlink:
		return "slow_blink"
	case FastBlink:
		return "fast_blink"
	case DoubleBlink:
		return "double_blink"
	}
	return "off"
}

// LED shows a pattern.
type LED interface {
	Set(p Pattern)
	Get() Pattern
}
