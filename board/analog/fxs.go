package analog

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/audio/fsk"
	"ringbox/audio/tone"
	"ringbox/board/line"
	"ringbox/firmware/call"
)

// role is what a leg on an FXS port does with the phone's audio.
type role int

const (
	roleRinging role = iota // rings the phone; no audio yet
	roleWaiting             // a second call announced by the call-waiting tone
	roleActive              // talks with the phone
	roleHeld                // on hold after a hook flash: hears music
	roleConf                // in a three-way call with the phone and the other conf leg
	roleLinked              // transferred: relayed to partner, the phone is gone
)

// fxsLeg is a leg on an FXS port with its role.
type fxsLeg struct {
	l        *Leg
	role     role
	consult  bool        // placed by the phone while another call was held
	partner  *fxsLeg     // roleLinked
	music    call.Source // roleHeld
	stopRing func() bool // stops the dialer's ring context watch
	in       [line.FrameSamples]int16
	has      bool
}

// fxsPort is the engine's side of one FXS port: an analog phone that is an
// extension (site lines:).
type fxsPort struct {
	e    *Engine
	p    line.FXSPort
	n    int
	name string
	loop
	status
	done chan struct{} // closed when run returns
	ctx  context.Context

	// Owned by the loop.
	state    string
	offHook  bool
	hookDown time.Time // when the loop opened; zero while closed
	inCPC    bool      // the feed is open after a far-end hang-up: hook events are ours
	pulses   int
	digits   string
	hookT    timer // on hook for FlashMax: a hang-up
	pulseT   timer // the make after pulses: the digit is complete
	digitT   timer // first-digit and inter-digit timeouts
	ringT    timer // ring cadence
	cidT     timer // caller ID between rings
	cwT      timer // call-waiting tone repeats and its caller ID
	cpcT     timer
	ringStep int
	cidSent  bool
	cwAck    bool // waiting for the phone's acknowledgement of a CAS
	cwMsg    fsk.Message

	// Shared with the pump.
	mu      sync.Mutex // protects following
	legs    []*fxsLeg
	tone    call.Source // replaces the audio to the phone (dial tone, busy, caller ID)
	mix     call.Source // added to it (the call-waiting tone)
	detect  atomic.Bool // the phone is off hook: detect DTMF
	digitsC chan byte
}

func newFXS(e *Engine, p line.FXSPort) *fxsPort {
	x := &fxsPort{e: e, p: p, n: p.N(), name: line.Name(p), loop: newLoop(), done: make(chan struct{}),
		state: StateIdle, digitsC: make(chan byte, 32)}
	x.inf = LineInfo{Port: x.name, Kind: "fxs", State: StateIdle, Health: HealthOK, Since: time.Now()}
	return x
}

func (p *fxsPort) info() LineInfo {
	inf := p.status.info()
	if l, ok := p.e.lineOf(p.n); ok {
		inf.Extension = l.Extension
	}
	return inf
}

func (p *fxsPort) setState(s string) {
	p.state = s
	p.set(p.e, func(i *LineInfo) {
		i.State = s
		i.Digits = p.digits
	})
}

func (p *fxsPort) run(ctx context.Context) {
	defer close(p.done)
	p.ctx = ctx
	var wg sync.WaitGroup
	wg.Go(func() { p.pump(ctx) })
	if err := p.p.SetFeed(line.FeedForward); err != nil {
		p.set(p.e, func(i *LineInfo) { i.Health, i.Detail = HealthFault, err.Error() })
	}
	p.offHook = p.p.OffHook()
	if p.offHook {
		p.hookDown = time.Time{}
		p.startDialTone()
	}
	evs := p.p.Events()
	for {
		select {
		case <-ctx.Done():
			p.shutdown()
			wg.Wait()
			return
		case ev, ok := <-evs:
			if !ok {
				evs = nil
				continue
			}
			p.event(ev)
		case d := <-p.digitsC:
			p.digit(d, true)
		case <-p.wake:
		}
		p.drain()
	}
}

// shutdown ends every call of the port (the box is stopping).
func (p *fxsPort) shutdown() {
	for _, tm := range []*timer{&p.hookT, &p.pulseT, &p.digitT, &p.ringT, &p.cidT, &p.cwT, &p.cpcT} {
		tm.stop()
	}
	_ = p.p.Ring(false)
	for _, fl := range p.takeLegs() {
		fl.l.end(call.Shutdown)
	}
	p.setTone(nil)
}

func (p *fxsPort) event(ev line.Event) {
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	switch ev.Type {
	case line.OnHook:
		if !p.inCPC {
			p.onHook(at)
		}
	case line.OffHook:
		if !p.inCPC {
			p.onOffHook(at)
		}
	case line.Fault:
		p.e.log.Warn("analog port fault", "port", p.name, "detail", ev.Detail)
		p.set(p.e, func(i *LineInfo) { i.Health, i.Detail = HealthFault, ev.Detail })
	}
}

func (p *fxsPort) onHook(at time.Time) {
	p.offHook = false
	p.detect.Store(false)
	if p.state == StateIdle || p.state == StateRinging {
		return
	}
	p.hookDown = at
	p.pulseT.stop()
	p.digitT.stop()
	p.start(&p.hookT, p.e.t.FlashMax, p.hangUp)
}

func (p *fxsPort) onOffHook(at time.Time) {
	p.offHook = true
	p.detect.Store(true)
	if p.state == StateRinging {
		p.answerRinging()
		return
	}
	if p.hookDown.IsZero() {
		if p.state == StateIdle {
			p.startDialTone()
		}
		return
	}
	down := at.Sub(p.hookDown)
	p.hookDown = time.Time{}
	p.hookT.stop()
	switch {
	case down <= p.e.t.PulseMax && (p.state == StateDialTone || p.state == StateDialing):
		// A dial pulse: the loop opens once per unit of the digit.
		p.pulses++
		p.setTone(nil)
		p.start(&p.pulseT, p.e.t.DigitGap, p.pulseDigit)
	case down <= p.e.t.PulseMax:
		// A glitch in a call.
	default:
		p.flash()
	}
}

func (p *fxsPort) pulseDigit() {
	n := p.pulses
	p.pulses = 0
	if n < 1 || n > 10 {
		return
	}
	p.digit(byte('0'+n%10), false)
}

// startDialTone gives the phone the zone's dial tone and collects digits.
func (p *fxsPort) startDialTone() {
	p.digits = ""
	p.pulses = 0
	p.setTone(p.e.tones().Source(tone.Dial, line.Rate))
	p.setState(StateDialTone)
	p.start(&p.digitT, p.e.t.FirstDigit, p.digitTimeout)
}

func (p *fxsPort) digitTimeout() {
	if p.state != StateDialTone && p.state != StateDialing {
		return
	}
	if p.digits == "" {
		p.fail(call.Congestion) // off hook and never dialled
		return
	}
	p.placeCall()
}

// digit takes a digit from the phone: DTMF (from the pump) or pulses.
func (p *fxsPort) digit(d byte, tone bool) {
	if p.state != StateDialTone && p.state != StateDialing {
		if !tone || !p.offHook {
			return
		}
		if p.cwAck && (d == 'A' || d == 'D') {
			p.cwAck = false
			p.sendWaitingCID()
			return
		}
		// In a call: the digit goes to the call (IVRs, voicemail).
		for _, fl := range p.snapshot() {
			if fl.role == roleActive || fl.role == roleConf {
				if fl.l.st != nil {
					fl.l.st.InjectDigit(call.Digit{Key: d})
				}
			}
		}
		return
	}
	p.setTone(nil)
	if d == '#' && p.digits != "" {
		p.placeCall()
		return
	}
	p.digits += string(d)
	p.setState(StateDialing)
	switch judge(p.e.site(), p.digits) {
	case dialNow:
		p.placeCall()
	case noMatch:
		p.e.log.Info("dialled a number nothing matches", "port", p.name, "digits", p.digits)
		p.fail(call.NotFound)
	default:
		p.start(&p.digitT, p.e.t.InterDigit, p.digitTimeout)
	}
}

// placeCall places the call for the digits collected.
func (p *fxsPort) placeCall() {
	p.digitT.stop()
	num := p.digits
	ln, ok := p.e.lineOf(p.n)
	if !ok {
		p.e.log.Warn("a phone on a port the site binds to no extension dialled", "port", p.name, "digits", num)
		p.fail(call.Forbidden)
		return
	}
	l, err := p.e.newLeg(p.name, call.Party{Number: num})
	if err != nil {
		p.fail(call.CauseOf(err))
		return
	}
	consult := p.find(roleHeld) != nil
	fl := &fxsLeg{l: l, role: roleActive, consult: consult}
	l.onEnd = p.legEnded
	l.onAnswer = func(context.Context) error {
		p.post(func() {
			if p.has(fl) && fl.role == roleActive {
				// Answer supervision: the far end answered.
				_ = p.p.SetFeed(line.FeedReverse)
				p.setState(StateTalking)
			}
		})
		return nil
	}
	p.addLeg(fl)
	p.set(p.e, func(i *LineInfo) { i.Remote = num })
	p.setState(StateCalling)
	var name string
	for _, x := range p.e.site().Extensions {
		if x.Number == ln.Extension {
			name = x.Name
		}
	}
	p.e.handle(p.ctx, l, CallInfo{CallID: l.ID(), From: call.Party{Number: ln.Extension, Name: name}, To: num, Extension: ln.Extension})
}

// fail ends digit collection with the tone for c until the phone hangs up.
func (p *fxsPort) fail(c call.Cause) {
	p.digitT.stop()
	k := tone.Busy
	switch c {
	case call.Normal, call.Busy, call.NoAnswer, call.Unavailable, call.Rejected, call.Cancelled:
	default:
		k = tone.Congestion
	}
	p.setTone(p.e.tones().Source(k, line.Rate))
	p.setState(StateBusy)
}

// legEnded is a leg's onEnd: whoever ended it, the port follows.
func (p *fxsPort) legEnded(l *Leg, c call.Cause) {
	p.post(func() {
		fl := p.byLeg(l)
		if fl == nil {
			return
		}
		p.removeLeg(fl)
		if fl.music != nil {
			closeSource(fl.music)
		}
		switch fl.role {
		case roleLinked:
			if fl.partner != nil {
				p.removeLeg(fl.partner)
				fl.partner.l.end(call.Normal)
			}
			return
		case roleRinging:
			p.ringT.stop()
			p.cidT.stop()
			_ = p.p.Ring(false)
			_ = p.p.SetFeed(line.FeedForward)
			p.setTone(nil)
			if !p.offHook {
				p.set(p.e, func(i *LineInfo) { i.Remote = "" })
				p.setState(StateIdle)
			}
			return
		case roleWaiting:
			p.stopWaiting()
			return
		case roleHeld:
			return
		}
		if !p.offHook {
			return
		}
		// The phone's party ended: a three-way call goes on with the
		// other party, a held call comes back, else the far end hung up.
		if o := p.find(roleConf); o != nil {
			p.setRole(o, roleActive)
			p.setState(StateTalking)
			return
		}
		if h := p.find(roleHeld); h != nil && p.state != StateDialTone && p.state != StateDialing {
			p.unhold(h)
			return
		}
		if p.find(roleActive) == nil {
			p.farEndClear(c)
		}
	})
}

// farEndClear signals a far-end hang-up to the phone: the feed opens for
// the CPC time (answering machines and payphones release on it), then
// busy tone (congestion when the call failed) until the phone hangs up.
func (p *fxsPort) farEndClear(c call.Cause) {
	p.inCPC = true
	_ = p.p.SetFeed(line.FeedOpen)
	p.fail(c)
	p.start(&p.cpcT, p.e.t.CPC, func() {
		p.inCPC = false
		_ = p.p.SetFeed(line.FeedForward)
		if !p.p.OffHook() && p.offHook {
			// Hung up during the CPC.
			p.offHook = false
			p.detect.Store(false)
			p.hangUp()
		}
	})
}

// flash handles a hook flash: hold and consult, back to the held call,
// three-way, answering a waiting call, or dial tone again.
func (p *fxsPort) flash() {
	active, held := p.find(roleActive), p.find(roleHeld)
	switch {
	case p.state == StateBusy && active == nil:
		p.startDialTone()
	case (p.state == StateDialTone || p.state == StateDialing) && held != nil:
		p.digitT.stop()
		p.digits = ""
		p.unhold(held)
	case p.state == StateDialTone || p.state == StateDialing:
		p.startDialTone()
	case p.find(roleWaiting) != nil:
		w := p.find(roleWaiting)
		p.stopWaiting()
		if active != nil {
			p.hold(active)
		}
		p.setRole(w, roleActive)
		if w.stopRing != nil {
			w.stopRing()
		}
		w.l.markAnswered()
		p.set(p.e, func(i *LineInfo) { i.Remote = w.l.remote.Number })
		p.setState(StateTalking)
	case active != nil && held != nil && active.consult:
		p.setRole(active, roleConf)
		p.setRole(held, roleConf)
		p.unmusic(held)
		p.setState(StateTalking)
	case active != nil && held != nil:
		p.hold(active)
		p.unhold(held)
	case p.find(roleConf) != nil:
		for _, fl := range p.snapshot() {
			if fl.role == roleConf && fl.consult {
				fl.l.end(call.Normal) // legEnded brings the other back
			}
		}
	case active != nil:
		p.hold(active)
		p.startDialTone()
	}
}

func (p *fxsPort) hold(fl *fxsLeg) {
	p.mu.Lock()
	fl.role = roleHeld
	if p.e.cfg.Music != nil {
		fl.music = p.e.cfg.Music()
	}
	p.mu.Unlock()
	p.setState(StateHeld)
}

func (p *fxsPort) unhold(fl *fxsLeg) {
	p.unmusic(fl)
	p.setRole(fl, roleActive)
	p.setTone(nil)
	p.set(p.e, func(i *LineInfo) { i.Remote = fl.l.remote.Number })
	if fl.l.isAnswered() || fl.l.onAnswer == nil {
		p.setState(StateTalking)
	} else {
		p.setState(StateCalling)
	}
}

func (p *fxsPort) unmusic(fl *fxsLeg) {
	p.mu.Lock()
	m := fl.music
	fl.music = nil
	p.mu.Unlock()
	if m != nil {
		closeSource(m)
	}
}

// hangUp: the phone was on hook longer than a flash. A consult call
// becomes a transfer (the held party and the consulted one are connected
// and the phone is free); a waiting call rings the phone; the rest end.
func (p *fxsPort) hangUp() {
	p.hookDown = time.Time{}
	p.pulseT.stop()
	p.digitT.stop()
	p.cwT.stop()
	p.cwAck = false
	p.setTone(nil)
	p.setMix(nil)
	_ = p.p.SetFeed(line.FeedForward)
	active, held := p.find(roleActive), p.find(roleHeld)
	var conf []*fxsLeg
	for _, fl := range p.snapshot() {
		if fl.role == roleConf {
			conf = append(conf, fl)
		}
	}
	switch {
	case active != nil && held != nil && active.consult:
		p.link(held, active)
		p.handTransfer(held, active)
	case len(conf) == 2:
		p.link(conf[0], conf[1])
	}
	var waiting *fxsLeg
	for _, fl := range p.snapshot() {
		switch fl.role {
		case roleActive, roleHeld, roleConf:
			p.removeLeg(fl)
			p.unmusic(fl)
			fl.l.end(call.Normal)
		case roleWaiting:
			waiting = fl
		}
	}
	p.digits = ""
	p.set(p.e, func(i *LineInfo) { i.Remote = "" })
	p.setState(StateIdle)
	if waiting != nil {
		// The waiting caller rings the phone now.
		p.setRole(waiting, roleRinging)
		p.startRinging(waiting.l.remote)
	}
}

// link connects two legs to each other through the pump and frees the
// phone: a transfer.
func (p *fxsPort) link(a, b *fxsLeg) {
	p.unmusic(a)
	p.unmusic(b)
	p.mu.Lock()
	a.role, b.role = roleLinked, roleLinked
	a.partner, b.partner = b, a
	p.mu.Unlock()
	p.e.log.Info("transfer by hanging up", "port", p.name, "held", a.l.ID(), "consulted", b.l.ID())
}

// transferHandOver bounds how long a transfer waits for the flow to take
// it: the flow reads a leg's transfers while the leg is bridged.
const transferHandOver = 2 * time.Second

// handTransfer asks the flow to join the held call's other party with the
// consulted one (an attended transfer, as a SIP phone's REFER with
// Replaces), so the box bridges them directly, the call record links the
// two calls and the port's legs end. Until the flow takes it, and for
// good when it does not (the consult is still ringing, or the held call
// is not bridged), the port relays the two legs (link).
func (p *fxsPort) handTransfer(held, consult *fxsLeg) {
	x := call.Transfer{Replaces: consult.l.ID(), Report: func(code int, reason string) {
		switch {
		case code == 200:
			p.e.log.Info("transfer by hanging up: joined by the flow", "port", p.name, "held", held.l.ID(), "consulted", consult.l.ID())
		case code >= 300:
			p.e.log.Info("transfer by hanging up: the port relays the calls", "port", p.name, "status", code, "reason", reason)
		}
	}}
	p.e.xfers.Go(func() {
		t := time.NewTimer(transferHandOver)
		defer t.Stop()
		select {
		case held.l.transfers <- x:
		case <-t.C:
			p.e.log.Info("transfer by hanging up: not taken, the port relays the calls", "port", p.name)
		case <-held.l.Done():
		case <-consult.l.Done():
		}
	})
}

// dial rings the phone for t (a call to the line's extension or to the
// port): the Dialer side. The port's loop decides.
func (p *fxsPort) dial(ctx context.Context, t call.Target) (call.Leg, error) {
	return p.dialOn(p.done, func() (call.Leg, error) { return p.ring(ctx, t) })
}

// ring starts ringing for t, or announces it as a waiting call.
func (p *fxsPort) ring(ctx context.Context, t call.Target) (call.Leg, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, call.CauseOf(err)
	}
	ln, _ := p.e.lineOf(p.n)
	var rl role
	switch {
	case p.state == StateIdle && !p.offHook && !p.inUse():
		rl = roleRinging
	case ln.CallWaiting && p.offHook && p.state == StateTalking && p.find(roleWaiting) == nil && p.find(roleHeld) == nil &&
		p.find(roleConf) == nil:
		rl = roleWaiting
	default:
		return nil, call.Busy
	}
	l, err := p.e.newLeg(p.name, t.From)
	if err != nil {
		return nil, err
	}
	fl := &fxsLeg{l: l, role: rl}
	l.onEnd = p.legEnded
	fl.stopRing = context.AfterFunc(ctx, func() {
		if !l.isAnswered() {
			l.end(call.CauseOf(context.Cause(ctx)))
		}
	})
	p.addLeg(fl)
	if rl == roleRinging {
		p.startRinging(t.From)
	} else {
		p.startWaiting(t.From)
	}
	l.markRinging()
	return l, nil
}

// startRinging rings the phone with the zone's cadence; caller ID goes in
// the first long pause (at least 1.5 s), 500 ms after it starts.
func (p *fxsPort) startRinging(from call.Party) {
	p.ringStep = 0
	p.cidSent = false
	p.set(p.e, func(i *LineInfo) { i.Remote = from.Number })
	p.setState(StateRinging)
	p.ringNext(from)
}

func (p *fxsPort) ringNext(from call.Party) {
	cad := p.e.tones().RingCadence()
	if len(cad) == 0 {
		cad = []time.Duration{2 * time.Second, 4 * time.Second}
	}
	i := p.ringStep % len(cad)
	on := i%2 == 0
	if err := p.p.Ring(on); err != nil {
		p.e.log.Warn("ring", "port", p.name, "err", err)
	}
	if !on && !p.cidSent && cad[i] >= 1500*time.Millisecond {
		p.cidSent = true
		p.start(&p.cidT, 500*time.Millisecond, func() { p.sendCallerID(from) })
	}
	p.ringStep++
	p.start(&p.ringT, cad[i], func() { p.ringNext(from) })
}

// callerID is the message a phone displays for from.
func callerID(from call.Party) fsk.Message {
	m := fsk.Message{Time: time.Now(), Number: from.Number, Name: from.Name}
	if m.Number == "" {
		m.NumberAbsent = 'O'
	}
	if m.Name == "" {
		m.NameAbsent = 'O'
	}
	return m
}

// sendCallerID plays the on-hook caller ID with the feed in on-hook
// transmission, then goes back to the forward feed before the next ring.
func (p *fxsPort) sendCallerID(from call.Party) {
	if p.state != StateRinging || p.offHook {
		return
	}
	std := fsk.StandardFor(p.e.zone())
	pcm := fsk.OnHook(std, callerID(from), Level)
	if err := p.p.SetFeed(line.FeedOnHookTx); err != nil {
		p.e.log.Warn("caller ID feed", "port", p.name, "err", err)
		return
	}
	p.setTone(&samples{s: pcm})
	d := time.Duration(len(pcm)) * time.Second / line.Rate
	p.start(&p.cidT, d+40*time.Millisecond, func() {
		if p.state == StateRinging && !p.offHook {
			_ = p.p.SetFeed(line.FeedForward)
		}
	})
}

// answerRinging: the phone was lifted while ringing (ring trip).
func (p *fxsPort) answerRinging() {
	p.ringT.stop()
	p.cidT.stop()
	_ = p.p.Ring(false)
	_ = p.p.SetFeed(line.FeedForward)
	p.setTone(nil)
	fl := p.find(roleRinging)
	if fl == nil {
		p.startDialTone()
		return
	}
	p.setRole(fl, roleActive)
	if fl.stopRing != nil {
		fl.stopRing()
	}
	fl.l.markAnswered()
	p.setState(StateTalking)
}

// startWaiting announces a second call: the call-waiting tone over the
// call, then (type II caller ID) the CPE alerting signal; a phone that
// acknowledges with DTMF A or D gets the caller's ID.
func (p *fxsPort) startWaiting(from call.Party) {
	p.cwMsg = callerID(from)
	p.setMix(p.e.tones().Source(tone.CallWaiting, line.Rate))
	p.start(&p.cwT, 400*time.Millisecond, func() {
		p.setTone(&samples{s: fsk.CAS(Level)})
		p.cwAck = true
		p.start(&p.cwT, 300*time.Millisecond, func() { p.cwAck = false })
	})
}

func (p *fxsPort) sendWaitingCID() {
	p.cwT.stop()
	p.setTone(&samples{s: fsk.OffHook(fsk.StandardFor(p.e.zone()), p.cwMsg, Level)})
}

func (p *fxsPort) stopWaiting() {
	p.cwT.stop()
	p.cwAck = false
	p.setMix(nil)
}

// Shared state.

func (p *fxsPort) setTone(s call.Source) {
	p.mu.Lock()
	p.tone = s
	p.mu.Unlock()
}

func (p *fxsPort) setMix(s call.Source) {
	p.mu.Lock()
	p.mix = s
	p.mu.Unlock()
}

func (p *fxsPort) setRole(fl *fxsLeg, r role) {
	p.mu.Lock()
	fl.role = r
	p.mu.Unlock()
}

func (p *fxsPort) addLeg(fl *fxsLeg) {
	p.mu.Lock()
	p.legs = append(p.legs, fl)
	p.mu.Unlock()
}

func (p *fxsPort) removeLeg(fl *fxsLeg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.legs {
		if x == fl {
			p.legs = append(p.legs[:i], p.legs[i+1:]...)
			return
		}
	}
}

func (p *fxsPort) takeLegs() []*fxsLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.legs
	p.legs = nil
	return l
}

func (p *fxsPort) snapshot() []*fxsLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*fxsLeg(nil), p.legs...)
}

func (p *fxsPort) has(fl *fxsLeg) bool { return p.byLeg(fl.l) == fl }

func (p *fxsPort) byLeg(l *Leg) *fxsLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.legs {
		if x.l == l {
			return x
		}
	}
	return nil
}

// inUse reports whether the phone has a call: legs it transferred to each
// other (roleLinked) do not count, the phone is free of them.
func (p *fxsPort) inUse() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.legs {
		if x.role != roleLinked {
			return true
		}
	}
	return false
}

func (p *fxsPort) find(r role) *fxsLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.legs {
		if x.role == r {
			return x
		}
	}
	return nil
}

// legView is a leg as the pump sees it for one frame.
type legView struct {
	*fxsLeg
	role    role
	partner *fxsLeg
	music   call.Source
}

// pump moves the port's audio every 20 ms, paced by the port: the phone's
// microphone to the legs, the legs (and tones) to the earpiece, DTMF
// detection while the phone is off hook. It allocates nothing per frame.
func (p *fxsPort) pump(ctx context.Context) {
	a := p.p.Audio()
	var (
		mic, out, tmp [line.FrameSamples]int16
		det           = dtmf.NewDetector()
		legs          []legView
		detecting     bool
	)
	for ctx.Err() == nil {
		if err := a.ReadFrame(mic[:]); err != nil {
			return
		}
		on := p.detect.Load()
		if on != detecting {
			det.Reset()
			detecting = on
		}
		if on {
			for _, d := range det.Feed(mic[:]) {
				select {
				case p.digitsC <- d:
				default:
				}
			}
		}
		p.mu.Lock()
		legs = legs[:0]
		for _, fl := range p.legs {
			legs = append(legs, legView{fl, fl.role, fl.partner, fl.music})
		}
		src, mix := p.tone, p.mix
		p.mu.Unlock()
		for _, v := range legs {
			if !v.l.pop(v.in[:]) {
				clear(v.in[:])
			}
		}
		clear(out[:])
		for _, v := range legs {
			fl := v.fxsLeg
			switch v.role {
			case roleActive:
				addSat(out[:], fl.in[:])
				fl.l.deliver(mic[:])
			case roleHeld:
				clear(tmp[:])
				if v.music != nil {
					v.music.ReadFrame(tmp[:])
				}
				fl.l.deliver(tmp[:])
			case roleConf:
				addSat(out[:], fl.in[:])
				tmp = mic
				for _, o := range legs {
					if o.fxsLeg != fl && o.role == roleConf {
						addSat(tmp[:], o.in[:])
					}
				}
				fl.l.deliver(tmp[:])
			case roleLinked:
				if v.partner != nil {
					fl.l.deliver(v.partner.in[:])
				}
			}
		}
		if src != nil && !src.ReadFrame(out[:]) {
			p.mu.Lock()
			if p.tone == src {
				p.tone = nil
			}
			p.mu.Unlock()
		}
		if mix != nil {
			clear(tmp[:])
			if mix.ReadFrame(tmp[:]) {
				addSat(out[:], tmp[:])
			}
		}
		if err := a.WriteFrame(out[:]); err != nil {
			return
		}
	}
}
