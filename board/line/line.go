// Package line is the driver interface of the box's analog ports: what a
// chip driver (board/proslic for FXS, board/si3050 for FXO) or the
// simulated board (board/sim) gives the line engine (board/analog).
//
// Drivers do signalling and PCM only. Everything with timing or DSP in it
// (pulse digits, hook flash, ring cadence, caller ID, call-progress tones,
// DTMF) is the engine's, in portable Go, so it is the same code on the sim
// board and on the chips and is tested under testing/synctest.
package line

import (
	"errors"
	"fmt"
	"time"
)

// Kind is the kind of an analog port.
type Kind uint8

const (
	FXS Kind = iota + 1 // feeds an analog phone: battery, ringing, caller ID
	FXO                 // faces the telephone company's line, like a phone
)

func (k Kind) String() string {
	switch k {
	case FXS:
		return "fxs"
	case FXO:
		return "fxo"
	}
	return "unknown"
}

// EvType is what a port reports.
type EvType uint8

const (
	// FXS: the loop closed (handset lifted, or a pulse-dial make) and
	// opened (handset down, a pulse-dial break or a hook flash), debounced
	// by the driver (10-20 ms). The engine tells pulses, flashes and
	// hang-ups apart by their timing.
	OffHook EvType = iota + 1
	OnHook

	// FXO: ringing voltage appeared and went away on the line (debounced;
	// the engine validates the cadence).
	RingOn
	RingOff
	// FXO: the line's polarity reversed (the exchange signals answer or
	// far-end clear with it).
	PolarityReversal
	// FXO: line voltage lost (cable pulled, exchange fault) and back.
	BatteryLost
	BatteryRestored
	// FXO, while the box holds the line: the loop current dropped
	// (open-loop disconnect from the exchange).
	LoopCurrentLost
	// FXO, while the box is on hook: another phone on the same pair went
	// off hook (the line voltage fell to off-hook level), and back.
	ParallelOffHook
	ParallelOnHook
	// A fault the driver cannot recover from by itself (thermal alarm,
	// power-alarm, a chip that stopped answering); Detail says what.
	Fault
)

var evNames = [...]string{
	OffHook: "off_hook", OnHook: "on_hook", RingOn: "ring_on", RingOff: "ring_off",
	PolarityReversal: "polarity_reversal", BatteryLost: "battery_lost", BatteryRestored: "battery_restored",
	LoopCurrentLost: "loop_current_lost", ParallelOffHook: "parallel_off_hook", ParallelOnHook: "parallel_on_hook",
	Fault: "fault",
}

func (t EvType) String() string {
	if int(t) < len(evNames) && evNames[t] != "" {
		return evNames[t]
	}
	return fmt.Sprintf("event(%d)", t)
}

// Event is one report from a port.
type Event struct {
	Type   EvType
	At     time.Time // when the driver saw it (before its debounce ended)
	Detail string    // Fault: what happened
}

// Feed is the DC feed an FXS port gives its phone.
type Feed uint8

const (
	// FeedOpen: no battery (the phone is dead; used for a CPC
	// disconnect and when the port is disabled).
	FeedOpen Feed = iota
	// FeedForward: normal battery, tip positive.
	FeedForward
	// FeedReverse: battery with reversed polarity (signals answer or
	// far-end clear to phones and payphones that watch for it).
	FeedReverse
	// FeedOnHookTx: forward battery with the voice path open while on
	// hook, to send caller ID between rings.
	FeedOnHookTx
)

func (f Feed) String() string {
	switch f {
	case FeedOpen:
		return "open"
	case FeedForward:
		return "forward"
	case FeedReverse:
		return "reverse"
	case FeedOnHookTx:
		return "on_hook_tx"
	}
	return "unknown"
}

// Rate is the sample rate of every port's audio.
const Rate = 8000

// FrameSamples is the length of one 20 ms frame at Rate.
const FrameSamples = Rate / 50

// ErrClosed is returned by a closed port.
var ErrClosed = errors.New("line: port closed")

// Audio is a port's voice path: 16-bit linear PCM at Rate in 20 ms frames.
// ReadFrame blocks until the next frame heard from the line and so paces
// the engine (the chip's PCM clock on hardware, time on the sim board).
// WriteFrame queues one frame to send to the line without blocking.
type Audio interface {
	ReadFrame(f []int16) error
	WriteFrame(f []int16) error
}

// Port is one analog port.
type Port interface {
	Kind() Kind
	// N is the port's number within its kind, from 1 ("fxs:1", "fxo:1").
	N() int
	// Events delivers the port's signalling until Close. The channel is
	// buffered; a driver that cannot deliver drops the event and reports
	// a Fault once the consumer catches up.
	Events() <-chan Event
	Audio() Audio
	Close() error
}

// FXSPort is a port that feeds a phone.
type FXSPort interface {
	Port
	// SetFeed sets the DC feed.
	SetFeed(Feed) error
	// Ring switches ringing voltage on or off. The engine plays the
	// zone's cadence; a phone lifted while ringing is seen by the chip's
	// ring-trip detector and reported as OffHook, and ringing stops.
	Ring(on bool) error
	// OffHook is the port's current (debounced) hook state.
	OffHook() bool
}

// FXOPort is a port on the exchange's line.
type FXOPort interface {
	Port
	// SetHook seizes (off) or releases (on hook) the line.
	SetHook(off bool) error
	// Status is the line as the DAA measures it now.
	Status() FXOStatus
}

// FXOStatus is an FXO line's measured state.
type FXOStatus struct {
	OffHook     bool    // the box holds the line
	Voltage     float64 // tip-ring volts (sign: polarity); 0 with no battery
	LoopCurrent float64 // mA, while off hook
}

// Board is implemented by boards with analog ports.
type Board interface {
	Lines() []Port
}

// Name is the port's name in the site file and the API: "fxs:1", "fxo:2".
func Name(p Port) string { return fmt.Sprintf("%s:%d", p.Kind(), p.N()) }
