package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"ringbox/audio/tone"
	"ringbox/board/line"
	"ringbox/firmware/call"
)

// Rotary and keypad timing of the simulated phone.
const (
	PulseBreak  = 60 * time.Millisecond  // loop open per pulse
	PulseMake   = 40 * time.Millisecond  // loop closed between pulses
	InterDigit  = 700 * time.Millisecond // pulse dialling: between digits
	DTMFOn      = 80 * time.Millisecond
	DTMFOff     = 80 * time.Millisecond
	DTMFLevel   = -10.0 // dBm0 per tone
	FlashTime   = 300 * time.Millisecond
	ringLogSize = 64
	// A ring or caller ID after this long without either starts a new
	// alert: the caller ID of the last one is forgotten.
	alertGap = 6 * time.Second
)

// Phone is the analog phone on an FXS port.
type Phone struct {
	core
	dialMu sync.Mutex // one dial (DTMF, pulses, flash) at a time

	// Guarded by core.mu.
	offHook   bool
	ringing   bool
	feed      line.Feed
	reversals int // polarity reversals the phone saw
	mic       call.Source
	keys      call.Source // DTMF being dialled, over the mic
	ringLog   []RingEdge
	onHook    ring      // audio heard on hook with FeedOnHookTx
	lastAlert time.Time // last ring edge or on-hook audio
	dialing   string    // what is being dialled now
}

// RingEdge is ringing voltage switched on or off at a phone.
type RingEdge struct {
	On bool      `json:"on"`
	At time.Time `json:"at"`
}

func newPhone(b *Board, n int) *Phone {
	p := &Phone{core: newCore(b, line.FXS, n), feed: line.FeedForward}
	p.onHook = ring{buf: make([]int16, heardSamples)}
	return p
}

// Lift takes the handset off hook; a ringing phone stops ringing (the
// SLIC's ring trip).
func (p *Phone) Lift() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setHookLocked(true)
}

// Hang puts the handset down.
func (p *Phone) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setHookLocked(false)
}

func (p *Phone) setHookLocked(off bool) {
	if p.offHook == off {
		return
	}
	p.offHook = off
	if off {
		p.onHook.reset()
		if p.ringing {
			p.ringing = false
			p.logRingLocked(false)
		}
	} else {
		p.keys = nil
	}
	if off {
		p.emitLocked(line.OffHook)
	} else {
		p.emitLocked(line.OnHook)
	}
}

// Flash puts the handset down for 300 ms and lifts it again (the hook
// switch or the phone's R key). It does nothing on hook.
func (p *Phone) Flash() error {
	p.dialMu.Lock()
	defer p.dialMu.Unlock()
	p.mu.Lock()
	if !p.offHook {
		p.mu.Unlock()
		return nil
	}
	p.setHookLocked(false)
	p.mu.Unlock()
	if !p.b.sleep(FlashTime) {
		return ErrClosed
	}
	p.Lift()
	return nil
}

// DialDTMF keys digits (0-9, *, #, A-D) into the mouthpiece, 80 ms of tone
// and 80 ms of silence each, and returns when they are sent.
func (p *Phone) DialDTMF(digits string) error {
	if err := checkDigits(digits, "0123456789*#ABCD"); err != nil {
		return err
	}
	return p.dial(digits, func() error { return p.keyDTMF(&p.keys, digits) })
}

// dial runs one dialling of digits off hook, one at a time, with the
// digits shown in State while it lasts.
func (p *Phone) dial(digits string, f func() error) error {
	p.dialMu.Lock()
	defer p.dialMu.Unlock()
	if err := p.mustBeOffHook(); err != nil {
		return err
	}
	p.mu.Lock()
	p.dialing = digits
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.dialing = ""
		p.mu.Unlock()
	}()
	return f()
}

// DialPulse dials digits as a rotary dial does: n breaks of the loop for
// digit n (10 for 0), 60 ms open and 40 ms closed each, 700 ms between
// digits. The port sees OnHook and OffHook events; it returns when the
// last pulse's make is over.
func (p *Phone) DialPulse(digits string) error {
	if err := checkDigits(digits, "0123456789"); err != nil {
		return err
	}
	return p.dial(digits, func() error { return p.pulses(digits) })
}

// pulses opens and closes the loop for each digit.
func (p *Phone) pulses(digits string) error {
	for i := range len(digits) {
		if i > 0 && !p.b.sleep(InterDigit) {
			return ErrClosed
		}
		n := int(digits[i] - '0')
		if n == 0 {
			n = 10
		}
		for range n {
			p.Hang()
			if !p.b.sleep(PulseBreak) {
				return ErrClosed
			}
			p.Lift()
			if !p.b.sleep(PulseMake) {
				return ErrClosed
			}
		}
	}
	return nil
}

// ErrOnHook is returned for dialling with the handset down.
var ErrOnHook = errors.New("the phone is on hook: lift it first")

func (p *Phone) mustBeOffHook() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.offHook {
		return fmt.Errorf("sim: %s: %w", p.name(), ErrOnHook)
	}
	return nil
}

func checkDigits(digits, valid string) error {
	if digits == "" {
		return fmt.Errorf("sim: no digits to dial")
	}
	for _, r := range digits {
		if !strings.ContainsRune(valid, r) {
			return fmt.Errorf("sim: cannot dial %q (want %s)", r, valid)
		}
	}
	return nil
}

// SetMic sets what the mouthpiece sends while off hook; nil: silence.
func (p *Phone) SetMic(src call.Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mic = src
}

// Ringing reports whether the port rings the phone now.
func (p *Phone) Ringing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ringing
}

// RingLog returns the last 64 switchings of ringing voltage.
func (p *Phone) RingLog() []RingEdge {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]RingEdge(nil), p.ringLog...)
}

// Feed is the DC feed the port gives the phone.
func (p *Phone) Feed() line.Feed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.feed
}

// OnHookAudio returns the audio the port sent while the phone was on
// hook with line.FeedOnHookTx (caller ID). It is cleared when the phone
// is lifted and when a new alert (ringing or caller ID after 6 s without
// either) begins.
func (p *Phone) OnHookAudio() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.onHook.last(p.onHook.len())
}

// PhoneState is a phone as the API shows it.
type PhoneState struct {
	Port      string `json:"port"`
	OffHook   bool   `json:"off_hook"`
	Ringing   bool   `json:"ringing"`
	Feed      string `json:"feed"`
	Reversals int    `json:"polarity_reversals"`
	Dialing   string `json:"dialing,omitempty"` // digits being dialled now
}

// State is the phone now.
func (p *Phone) State() PhoneState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PhoneState{Port: p.name(), OffHook: p.offHook, Ringing: p.ringing, Feed: p.feed.String(),
		Reversals: p.reversals, Dialing: p.dialing}
}

func (p *Phone) logRingLocked(on bool) {
	now := time.Now()
	if on && now.Sub(p.lastAlert) >= alertGap {
		p.onHook.reset()
	}
	p.lastAlert = now
	p.ringLog = append(p.ringLog, RingEdge{On: on, At: now})
	if len(p.ringLog) > ringLogSize {
		p.ringLog = p.ringLog[len(p.ringLog)-ringLogSize:]
	}
}

// mouthpiece fills f with what the phone sends: keys over the mic, only
// while off hook.
func (p *Phone) mouthpiece(f []int16) {
	if !p.offHook {
		clear(f)
		return
	}
	if p.keys != nil {
		if p.keys.ReadFrame(f) {
			return
		}
		p.keys = nil
	}
	if p.mic != nil && p.mic.ReadFrame(f) {
		return
	}
	clear(f)
}

// earpiece sees what the port sends; on hook with the on-hook
// transmission feed, that is caller ID for the phone's display. Frames of
// digital silence are not kept: an engine that leaves the feed on through
// a long ringing would otherwise push the caller ID out.
func (p *Phone) earpiece(f []int16) {
	if p.offHook || p.feed != line.FeedOnHookTx || !slices.ContainsFunc(f, func(v int16) bool { return v != 0 }) {
		return
	}
	now := time.Now()
	if now.Sub(p.lastAlert) >= alertGap {
		p.onHook.reset()
	}
	p.lastAlert = now
	p.onHook.write(f)
}

// fxsPort is the box's side of a phone's line.
type fxsPort struct{ p *Phone }

var _ line.FXSPort = (*fxsPort)(nil)

func (f *fxsPort) Kind() line.Kind           { return line.FXS }
func (f *fxsPort) N() int                    { return f.p.n }
func (f *fxsPort) Events() <-chan line.Event { return f.p.events }
func (f *fxsPort) Close() error              { return f.p.close() }
func (f *fxsPort) Audio() line.Audio {
	return &audio{c: &f.p.core, fill: f.p.mouthpiece, wrote: f.p.earpiece}
}
func (f *fxsPort) String() string               { return f.p.name() }
func (f *fxsPort) OffHook() bool                { f.p.mu.Lock(); defer f.p.mu.Unlock(); return f.p.offHook }
func (f *fxsPort) SetFeed(feed line.Feed) error { return f.p.setFeed(feed) }

// Ring switches ringing voltage. An off-hook phone is not rung (ring
// trip).
func (f *fxsPort) Ring(on bool) error {
	p := f.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return line.ErrClosed
	}
	if on && p.offHook || on == p.ringing {
		return nil
	}
	p.ringing = on
	p.logRingLocked(on)
	return nil
}

func (p *Phone) setFeed(f line.Feed) error {
	if f > line.FeedOnHookTx {
		return fmt.Errorf("sim: %s: no feed %d", p.name(), f)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return line.ErrClosed
	}
	rev := func(f line.Feed) bool { return f == line.FeedReverse }
	live := func(f line.Feed) bool { return f != line.FeedOpen }
	if live(p.feed) && live(f) && rev(p.feed) != rev(f) {
		p.reversals++
	}
	p.feed = f
	return nil
}

// Sine returns a source playing a steady tone of hz at level dBm0 for
// ever; hz 0 is silence.
func Sine(hz, dBm0 float64) call.Source {
	return &sine{w: 2 * math.Pi * hz / line.Rate, amp: tone.Amplitude(dBm0)}
}

type sine struct {
	w, amp, phase float64
}

func (s *sine) ReadFrame(f []int16) bool {
	if s.w == 0 {
		clear(f)
		return true
	}
	for i := range f {
		f[i] = int16(math.Round(s.amp * math.Sin(s.phase)))
		s.phase = math.Mod(s.phase+s.w, 2*math.Pi)
	}
	return true
}
