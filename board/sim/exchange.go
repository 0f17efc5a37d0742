package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/audio/tone"
	"ringbox/board/line"
	"ringbox/firmware/call"
)

// Exchange timing.
const (
	// CallerIDDelay is how long after the end of the first ring the
	// exchange starts sending caller ID (Bellcore GR-30: at least 500 ms).
	CallerIDDelay = 500 * time.Millisecond
	// GiveUp is how long a caller lets the box ring unanswered.
	GiveUp = 60 * time.Second
	// BatteryBack is how long the battery stays away after a "battery"
	// hang-up (an open-loop disconnect of the exchange).
	BatteryBack = time.Second
)

// Line levels the DAA measures.
const (
	onHookVolts  = 48.0
	offHookVolts = 8.0 // also what a parallel phone off hook leaves
	bothOffVolts = 6.0 // the box and a parallel phone both off hook
	loopMA       = 25.0
	sharedLoopMA = 15.0
)

// Ways the far end hangs up (Exchange.HangUp).
var HangUps = []string{"reversal", "battery", "loop", "busy", "silence"}

// Exchange is the telephone company's line on an FXO port: it rings the
// box, plays dial tone when the box seizes the line, hears what the box
// dials, and hangs up in the ways exchanges do.
type Exchange struct {
	core
	dialMu sync.Mutex // one DialDTMF at a time

	// Guarded by core.mu.
	boxOff   bool // the box holds the line
	incoming bool // the box holds it because it answered
	battery  bool
	battGen  int // changes at every battery switch; a pending restore checks it
	parallel bool
	reversed bool
	loopLost bool
	ringing  bool          // a caller rings the box
	ringOn   bool          // ringing voltage now
	stop     chan struct{} // closed to end the ringing; nil when not ringing
	answered bool          // the box answered the last ringing
	gaveUp   bool          // the last caller gave up unanswered
	cid      call.Source   // caller ID being sent between rings
	mic      call.Source   // the far end
	keys     call.Source   // DTMF the far end keys, over the mic
	farEnd   string        // how the far end hung up, "" while it has not
	dialTone call.Source
	busyTone call.Source
	det      *dtmf.Detector
	dialed   []byte
}

func newExchange(b *Board, n int) *Exchange {
	return &Exchange{core: newCore(b, line.FXO, n), battery: true, det: dtmf.NewDetector()}
}

// Ring makes a caller ring the box with cadence (on, off, on, off…
// repeating) and sends cid (caller-ID audio, nil for none) 500 ms after
// the end of the first ring, in the first pause of at least 1 s (so
// between the first and second ring, or after a double ring). Ringing
// stops when the box answers (goes off hook), on StopRinging or HangUp,
// or after 60 s unanswered, when the caller gives up.
func (x *Exchange) Ring(cadence []time.Duration, cid []int16) error {
	if len(cadence) < 2 || len(cadence)%2 != 0 {
		return fmt.Errorf("sim: %s: ring cadence %v: want on, off pairs", x.name(), cadence)
	}
	for _, d := range cadence {
		if d <= 0 {
			return fmt.Errorf("sim: %s: ring cadence %v: durations must be positive", x.name(), cadence)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.closed || x.b.ctx.Err() != nil:
		return ErrClosed
	case x.ringing:
		return fmt.Errorf("sim: %s: %w", x.name(), ErrRinging)
	case x.boxOff:
		return fmt.Errorf("sim: %s: %w", x.name(), ErrLineBusy)
	case !x.battery:
		return fmt.Errorf("sim: %s: %w", x.name(), ErrNoBattery)
	}
	stop := make(chan struct{})
	x.ringing, x.stop, x.answered, x.gaveUp = true, stop, false, false
	x.b.Go(func(ctx context.Context) { x.ringLoop(ctx, cadence, cid, stop) })
	return nil
}

// Errors of the exchange's controls.
var (
	ErrRinging   = errors.New("a caller already rings the box")
	ErrLineBusy  = errors.New("the box holds the line")
	ErrNoBattery = errors.New("the line has no battery")
	ErrNoCall    = errors.New("no call on the line")
)

func (x *Exchange) ringLoop(ctx context.Context, cadence []time.Duration, cid []int16, stop chan struct{}) {
	start := time.Now()
	defer func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.stop == stop { // ended by itself (given up, closed), not stopped
			x.endRingingLocked()
		}
	}()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-stop:
		case <-ctx.Done():
		case <-x.done:
		}
		return false
	}
	sentCID := cid == nil
	for i := 0; ; i++ {
		left := GiveUp - time.Since(start)
		if left <= 0 {
			x.mu.Lock()
			x.gaveUp = true
			x.mu.Unlock()
			return
		}
		on, d := i%2 == 0, cadence[i%len(cadence)]
		x.mu.Lock()
		select {
		case <-stop: // answered between steps
			x.mu.Unlock()
			return
		default:
		}
		x.ringOn = on
		if on {
			x.emitLocked(line.RingOn)
		} else {
			x.emitLocked(line.RingOff)
		}
		x.mu.Unlock()
		if !on && !sentCID && d >= time.Second {
			if !wait(CallerIDDelay) {
				return
			}
			x.mu.Lock()
			x.cid = &pcm{s: cid}
			x.mu.Unlock()
			sentCID = true
			d -= CallerIDDelay
			left -= CallerIDDelay
		}
		if !wait(min(d, left)) {
			return
		}
	}
}

// stopRingingLocked ends the ringing, if any, at once: the ringing
// goroutine notices the closed channel and leaves the state alone.
func (x *Exchange) stopRingingLocked() {
	if x.stop != nil {
		close(x.stop)
		x.endRingingLocked()
	}
}

func (x *Exchange) endRingingLocked() {
	if x.ringOn {
		x.ringOn = false
		x.emitLocked(line.RingOff)
	}
	x.ringing, x.stop = false, nil
}

// StopRinging makes the caller stop ringing (the caller hung up before
// the box answered).
func (x *Exchange) StopRinging() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopRingingLocked()
	x.cid = nil
}

// Answered reports whether the box answered the last ringing.
func (x *Exchange) Answered() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.answered
}

// OffHook reports whether the box holds the line.
func (x *Exchange) OffHook() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.boxOff
}

// Dialed returns the DTMF digits the box sent since it last seized the
// line.
func (x *Exchange) Dialed() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return string(x.dialed)
}

// SetMic sets what the far end sends once the box has dialled or answered;
// nil: silence.
func (x *Exchange) SetMic(src call.Source) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.mic = src
}

// DialDTMF makes the far end key digits (0-9, *, #, A-D) into the line,
// 80 ms of tone and 80 ms of silence each, as a caller answering an IVR
// does; it returns when they are sent. The box must hold the line.
func (x *Exchange) DialDTMF(digits string) error {
	if err := checkDigits(digits, "0123456789*#ABCD"); err != nil {
		return err
	}
	x.dialMu.Lock()
	defer x.dialMu.Unlock()
	x.mu.Lock()
	held := x.boxOff && x.farEnd == ""
	x.mu.Unlock()
	if !held {
		return fmt.Errorf("sim: %s: %w", x.name(), ErrNoCall)
	}
	return x.keyDTMF(&x.keys, digits)
}

// HangUp makes the far end hang up, signalled as how says: "reversal" (a
// polarity reversal), "battery" (battery lost, back after 1 s), "loop"
// (loop current lost), "busy" (the zone's busy tone) or "silence" (the
// far end just goes quiet). While the box is on hook it stops a ringing
// caller.
func (x *Exchange) HangUp(how string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch how {
	case "reversal", "battery", "loop", "busy", "silence":
	default:
		return fmt.Errorf("sim: hang-up %q: want one of %v", how, HangUps)
	}
	if !x.boxOff {
		if x.ringing {
			x.stopRingingLocked()
			x.cid = nil
			return nil
		}
		return fmt.Errorf("sim: %s: %w", x.name(), ErrNoCall)
	}
	if x.farEnd != "" {
		return fmt.Errorf("sim: %s: the far end already hung up (%s)", x.name(), x.farEnd)
	}
	x.farEnd = how
	switch how {
	case "reversal":
		x.reversed = !x.reversed
		x.emitLocked(line.PolarityReversal)
	case "battery":
		x.setBatteryLocked(false)
		gen := x.battGen
		x.b.Go(func(ctx context.Context) {
			if !x.b.sleep(BatteryBack) {
				return
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			if x.battGen == gen {
				x.setBatteryLocked(true)
			}
		})
	case "loop":
		x.loopLost = true
		x.emitLocked(line.LoopCurrentLost)
	case "busy":
		x.busyTone = x.b.zone.Source(tone.Busy, line.Rate)
	}
	return nil
}

// SetBattery connects or removes the line's battery (a cut cable, an
// exchange fault).
func (x *Exchange) SetBattery(on bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.setBatteryLocked(on)
}

func (x *Exchange) setBatteryLocked(on bool) {
	if x.battery == on {
		return
	}
	x.battery = on
	x.battGen++
	if on {
		x.emitLocked(line.BatteryRestored)
		return
	}
	x.stopRingingLocked()
	x.cid = nil
	x.emitLocked(line.BatteryLost)
}

// SetParallelOffHook lifts or puts down another phone on the same pair.
// While the box is on hook, the port reports it (ParallelOffHook,
// ParallelOnHook); the line voltage falls either way.
func (x *Exchange) SetParallelOffHook(on bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.parallel == on {
		return
	}
	x.parallel = on
	if x.boxOff || !x.battery {
		return
	}
	if on {
		x.emitLocked(line.ParallelOffHook)
	} else {
		x.emitLocked(line.ParallelOnHook)
	}
}

// Status is the line as the port's DAA measures it.
func (x *Exchange) Status() line.FXOStatus {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.statusLocked()
}

func (x *Exchange) statusLocked() line.FXOStatus {
	s := line.FXOStatus{OffHook: x.boxOff}
	if !x.battery {
		return s
	}
	switch {
	case x.boxOff && x.parallel:
		s.Voltage = bothOffVolts
	case x.boxOff || x.parallel:
		s.Voltage = offHookVolts
	default:
		s.Voltage = onHookVolts
	}
	if x.reversed {
		s.Voltage = -s.Voltage
	}
	if x.boxOff && !x.loopLost {
		s.LoopCurrent = loopMA
		if x.parallel {
			s.LoopCurrent = sharedLoopMA
		}
	}
	return s
}

// ExchangeState is an exchange line as the API shows it.
type ExchangeState struct {
	Port            string  `json:"port"`
	Ringing         bool    `json:"ringing"` // a caller rings the box
	RingOn          bool    `json:"ring_on"` // ringing voltage now
	Answered        bool    `json:"answered"`
	GaveUp          bool    `json:"gave_up,omitempty"`
	OffHook         bool    `json:"off_hook"` // the box holds the line
	Dialed          string  `json:"dialed"`
	Battery         bool    `json:"battery"`
	ParallelOffHook bool    `json:"parallel_off_hook"`
	FarEnd          string  `json:"far_end_hung_up,omitempty"` // how
	Voltage         float64 `json:"voltage"`
	LoopCurrent     float64 `json:"loop_current_ma"`
}

// State is the line now.
func (x *Exchange) State() ExchangeState {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.statusLocked()
	return ExchangeState{Port: x.name(), Ringing: x.ringing, RingOn: x.ringOn, Answered: x.answered, GaveUp: x.gaveUp,
		OffHook: x.boxOff, Dialed: string(x.dialed), Battery: x.battery, ParallelOffHook: x.parallel, FarEnd: x.farEnd,
		Voltage: s.Voltage, LoopCurrent: s.LoopCurrent}
}

func (x *Exchange) setHook(off bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return line.ErrClosed
	}
	if x.boxOff == off {
		return nil
	}
	x.boxOff = off
	x.cid = nil
	if off {
		x.det.Reset()
		x.dialed = x.dialed[:0]
		x.incoming = x.ringing
		if x.ringing {
			x.answered = true
			x.stopRingingLocked()
		}
		x.dialTone = x.b.zone.Source(tone.Dial, line.Rate)
		return nil
	}
	// Released: the call, if any, is over; the exchange returns the line
	// to normal polarity and current.
	x.incoming, x.farEnd, x.loopLost, x.reversed = false, "", false, false
	x.busyTone, x.keys = nil, nil
	return nil
}

// lineAudio is what the exchange sends into the line.
func (x *Exchange) lineAudio(f []int16) {
	switch {
	case !x.battery:
	case !x.boxOff:
		if x.cid != nil {
			if x.cid.ReadFrame(f) {
				return
			}
			x.cid = nil
		}
	case x.farEnd == "busy":
		if x.busyTone.ReadFrame(f) {
			return
		}
	case x.farEnd != "":
	case !x.incoming && len(x.dialed) == 0:
		if x.dialTone.ReadFrame(f) {
			return
		}
	default:
		if x.keys != nil {
			if x.keys.ReadFrame(f) {
				return
			}
			x.keys = nil
		}
		if x.mic != nil && x.mic.ReadFrame(f) {
			return
		}
	}
	clear(f)
}

// heard sees what the box sends into the line: the digits it dials.
func (x *Exchange) heard(f []int16) {
	if x.boxOff && x.battery {
		x.dialed = append(x.dialed, x.det.Feed(f)...)
	}
}

// fxoPort is the box's side of the exchange line.
type fxoPort struct{ x *Exchange }

var _ line.FXOPort = (*fxoPort)(nil)

func (f *fxoPort) Kind() line.Kind           { return line.FXO }
func (f *fxoPort) N() int                    { return f.x.n }
func (f *fxoPort) Events() <-chan line.Event { return f.x.events }
func (f *fxoPort) Close() error              { return f.x.close() }
func (f *fxoPort) Audio() line.Audio {
	return &audio{c: &f.x.core, fill: f.x.lineAudio, wrote: f.x.heard}
}
func (f *fxoPort) String() string         { return f.x.name() }
func (f *fxoPort) SetHook(off bool) error { return f.x.setHook(off) }
func (f *fxoPort) Status() line.FXOStatus { return f.x.Status() }
