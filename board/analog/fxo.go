package analog

import (
	"context"
	"strings"
	"sync"
	"time"

	"ringbox/audio/cpt"
	"ringbox/audio/dtmf"
	"ringbox/audio/fsk"
	"ringbox/board/line"
	"ringbox/firmware/call"
)

// fxoPort is the engine's side of one FXO port: a line from the exchange
// that is a trunk (site trunks[].fxo).
type fxoPort struct {
	e    *Engine
	p    line.FXOPort
	n    int
	name string
	loop
	status
	done chan struct{}
	ctx  context.Context

	// Owned by the loop.
	state     string
	leg       *Leg
	outbound  bool
	number    string
	ringStart time.Time
	rings     int
	routed    bool
	cid       *fsk.Message
	goneT     timer     // no ring for RingGone: the caller gave up
	lastOff   time.Time // when the last valid ring burst ended
	dialT     timer     // no dial tone within DialTone
	stopWatch func() bool
	health    string

	// Shared with the pump.
	mu      sync.Mutex // protects following
	cur     *Leg       // the leg the pump connects to the line
	tone    call.Source
	demodOn bool
	cptOn   bool
	silence time.Duration // the trunk's silence timeout; 0: off
}

func newFXO(e *Engine, p line.FXOPort) *fxoPort {
	x := &fxoPort{e: e, p: p, n: p.N(), name: line.Name(p), loop: newLoop(), done: make(chan struct{}),
		state: StateIdle, health: HealthOK}
	x.inf = LineInfo{Port: x.name, Kind: "fxo", State: StateIdle, Health: HealthOK, Since: time.Now()}
	return x
}

func (p *fxoPort) info() LineInfo {
	inf := p.status.info()
	if t, ok := p.e.trunkOf(p.n); ok {
		inf.Trunk = t.ID
	}
	return inf
}

func (p *fxoPort) setState(s string) {
	p.state = s
	p.set(p.e, func(i *LineInfo) { i.State = s })
}

func (p *fxoPort) setHealth(h, detail string) {
	p.health = h
	p.set(p.e, func(i *LineInfo) { i.Health, i.Detail = h, detail })
}

func (p *fxoPort) run(ctx context.Context) {
	defer close(p.done)
	p.ctx = ctx
	var wg sync.WaitGroup
	wg.Go(func() { p.pump(ctx) })
	if st := p.p.Status(); st.Voltage == 0 && !st.OffHook {
		p.setHealth(HealthNoBattery, "no line voltage: is the exchange's line plugged in?")
	}
	evs := p.p.Events()
	for {
		select {
		case <-ctx.Done():
			p.goneT.stop()
			p.dialT.stop()
			if p.leg != nil {
				p.leg.end(call.Shutdown)
			}
			p.drain()
			_ = p.p.SetHook(false)
			wg.Wait()
			return
		case ev, ok := <-evs:
			if !ok {
				evs = nil
				continue
			}
			p.event(ev)
		case <-p.wake:
		}
		p.drain()
	}
}

func (p *fxoPort) offHook() bool { return p.state == StateTalking || p.state == StateDialing }

func (p *fxoPort) event(ev line.Event) {
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	switch ev.Type {
	case line.RingOn:
		if p.offHook() {
			return
		}
		p.ringStart = at
		p.goneT.stop()
		p.setDemod(false)
		if p.state == StateIdle {
			p.setState(StateRinging)
		}
		// A ring after a pause of a second or more starts the second
		// ring cycle (a double ring's bursts are one cycle): ringing that
		// repeats is a call, not a spike or a line test, and a line that
		// sent no caller ID in the first pause sends none.
		if p.rings > 0 && !p.routed && at.Sub(p.lastOff) >= time.Second {
			p.route()
		}
	case line.RingOff:
		if p.offHook() || p.ringStart.IsZero() {
			return
		}
		on := at.Sub(p.ringStart)
		p.ringStart = time.Time{}
		p.start(&p.goneT, p.e.t.RingGone, p.callerGone)
		if on < 150*time.Millisecond {
			return // not a ring: a spike on the line
		}
		p.rings++
		p.lastOff = at
		if !p.routed {
			p.setDemod(true) // caller ID comes in the pause
		}
	case line.PolarityReversal:
		if !p.offHook() {
			return
		}
		// Exchanges that signal answer by reversal (on request) would
		// need a setting; by default a reversal is the far end clearing.
		p.farEnd("polarity reversal")
	case line.LoopCurrentLost:
		if p.offHook() {
			p.farEnd("loop current dropped")
		}
	case line.BatteryLost:
		p.setHealth(HealthNoBattery, "no line voltage: is the exchange's line plugged in?")
		if p.offHook() {
			p.farEnd("line voltage lost")
		}
	case line.BatteryRestored:
		p.setHealth(HealthOK, "")
	case line.ParallelOffHook:
		if !p.offHook() {
			p.setHealth(HealthInUse, "another phone on the line is off hook")
		}
	case line.ParallelOnHook:
		if p.health == HealthInUse {
			p.setHealth(HealthOK, "")
		}
	case line.Fault:
		p.e.log.Warn("analog port fault", "port", p.name, "detail", ev.Detail)
		p.setHealth(HealthFault, ev.Detail)
	}
}

// route hands the ringing call to the routing engine with its caller ID.
func (p *fxoPort) route() {
	if p.routed || p.state != StateRinging {
		return
	}
	p.routed = true
	p.setDemod(false)
	tr, ok := p.e.trunkOf(p.n)
	if !ok {
		p.e.log.Info("the exchange rings a line no trunk uses: not answered", "port", p.name)
		return
	}
	from := call.Party{}
	if p.cid != nil {
		from = call.Party{Number: p.cid.Number, Name: p.cid.Name}
	}
	l, err := p.e.newLeg(p.name, from)
	if err != nil {
		return
	}
	p.leg, p.outbound = l, false
	l.onEnd = p.legEnded
	l.onAnswer = func(ctx context.Context) error {
		if err := p.p.SetHook(true); err != nil {
			p.e.log.Warn("answer the line", "port", p.name, "err", err)
			return call.Failure
		}
		ok := make(chan bool, 1)
		p.post(func() { ok <- p.answered(l) })
		select {
		case v := <-ok:
			if !v {
				return call.Cancelled
			}
			return nil
		case <-p.done:
			return call.Shutdown
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	p.set(p.e, func(i *LineInfo) { i.Remote = from.Number })
	port := p.name
	p.e.handle(p.ctx, l, CallInfo{CallID: l.ID(), From: from, To: port, Trunk: tr.ID, DID: port})
}

// answered: the flow answered the caller and the box holds the line.
func (p *fxoPort) answered(l *Leg) bool {
	if p.leg != l {
		_ = p.p.SetHook(false)
		return false
	}
	p.goneT.stop()
	p.connect(l, true)
	p.setState(StateTalking)
	return true
}

// connect puts l on the line's audio and watches for the far end's
// hang-up tones.
func (p *fxoPort) connect(l *Leg, watch bool) {
	silence := time.Duration(0)
	if t, ok := p.e.trunkOf(p.n); ok {
		silence = time.Duration(t.SilenceTimeout)
	}
	p.mu.Lock()
	p.cur, p.cptOn, p.silence = l, watch, silence
	p.mu.Unlock()
}

func (p *fxoPort) callerGone() {
	if p.offHook() {
		return
	}
	if p.leg != nil && !p.leg.isAnswered() {
		p.leg.end(call.Cancelled)
	}
	p.resetIdle()
}

func (p *fxoPort) resetIdle() {
	p.rings, p.routed, p.cid = 0, false, nil
	p.ringStart, p.lastOff = time.Time{}, time.Time{}
	p.setDemod(false)
	p.set(p.e, func(i *LineInfo) { i.Remote, i.Digits = "", "" })
	p.setState(StateIdle)
}

// farEnd: the exchange signalled that the other party hung up.
func (p *fxoPort) farEnd(why string) {
	if p.leg == nil {
		p.release()
		return
	}
	p.e.log.Info("far end hung up", "port", p.name, "signal", why)
	c := call.Normal
	if !p.leg.isAnswered() {
		c = call.Busy
	}
	p.leg.end(c) // legEnded releases the line
}

func (p *fxoPort) legEnded(l *Leg, c call.Cause) {
	p.post(func() {
		if p.leg != l {
			return
		}
		p.leg = nil
		if p.offHook() {
			p.release()
			return
		}
		if p.state == StateRinging && !p.goneT.running() {
			p.resetIdle()
		}
		// Still ringing: the box does not answer; callerGone resets.
	})
}

// release puts the line back on hook.
func (p *fxoPort) release() {
	p.dialT.stop()
	p.mu.Lock()
	p.cur, p.tone, p.cptOn = nil, nil, false
	p.mu.Unlock()
	if err := p.p.SetHook(false); err != nil {
		p.e.log.Warn("release the line", "port", p.name, "err", err)
	}
	p.resetIdle()
}

// dial seizes the line for an outside call through the FXO trunk.
func (p *fxoPort) dial(ctx context.Context, t call.Target) (call.Leg, error) {
	return p.dialOn(p.done, func() (call.Leg, error) { return p.seize(ctx, t) })
}

// dialable keeps what DTMF can send of number: an analog line cannot
// dial '+', so routes to an FXO trunk strip or replace it.
func dialable(number string) string {
	var b strings.Builder
	for _, c := range number {
		if (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (p *fxoPort) seize(ctx context.Context, t call.Target) (call.Leg, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, call.CauseOf(err)
	}
	if p.state != StateIdle {
		p.e.log.Info("FXO line busy: next trunk", "port", p.name, "state", p.state)
		return nil, call.Congestion
	}
	if p.health != HealthOK {
		p.e.log.Warn("FXO line not usable: next trunk", "port", p.name, "health", p.health)
		return nil, call.Congestion
	}
	digits := dialable(t.Number)
	if digits == "" {
		return nil, call.NotFound
	}
	l, err := p.e.newLeg(p.name, call.Party{Number: t.Number})
	if err != nil {
		return nil, err
	}
	if err := p.p.SetHook(true); err != nil {
		p.e.log.Warn("seize the line", "port", p.name, "err", err)
		l.end(call.Congestion)
		return nil, call.Congestion
	}
	p.leg, p.outbound, p.number = l, true, digits
	l.onEnd = p.legEnded
	p.stopWatch = context.AfterFunc(ctx, func() {
		if !l.isAnswered() {
			l.end(call.CauseOf(context.Cause(ctx)))
		}
	})
	p.set(p.e, func(i *LineInfo) { i.Remote, i.Digits = t.Number, "" })
	p.setState(StateDialing)
	p.mu.Lock()
	p.cptOn = true
	p.mu.Unlock()
	p.start(&p.dialT, p.e.t.DialTone, func() {
		p.e.log.Warn("no dial tone on the line: next trunk", "port", p.name)
		l.end(call.Congestion)
	})
	return l, nil
}

// heard is what the pump's call-progress detector recognised.
func (p *fxoPort) heard(t cpt.Tone) {
	switch {
	case t == cpt.Dial && p.state == StateDialing && p.dialT.running():
		p.dialT.stop()
		p.mu.Lock()
		p.tone = dtmf.Sequence(p.number, 80*time.Millisecond, 80*time.Millisecond, Level)
		p.mu.Unlock()
		p.set(p.e, func(i *LineInfo) { i.Digits = p.number })
	case (t == cpt.Busy || t == cpt.Congestion) && p.offHook() && !p.dialT.running():
		p.farEnd(t.String() + " tone")
	}
}

// dialled: the digits went out. The line gives no answer signal, so the
// call counts as answered now: the caller hears the exchange's ringing.
func (p *fxoPort) dialled() {
	l := p.leg
	if l == nil || p.state != StateDialing {
		return
	}
	if p.stopWatch != nil {
		p.stopWatch() // ctx governed the ringing only
		p.stopWatch = nil
	}
	l.markRinging()
	l.markAnswered()
	p.connect(l, true)
	p.setState(StateTalking)
}

func (p *fxoPort) setDemod(on bool) {
	p.mu.Lock()
	p.demodOn = on
	p.mu.Unlock()
}

// pump moves the line's audio every 20 ms: caller ID between rings, the
// call-progress detector while the box holds the line, the dialling
// tones, the silence timeout, and the call's audio both ways.
func (p *fxoPort) pump(ctx context.Context) {
	a := p.p.Audio()
	var in, out [line.FrameSamples]int16
	dem := fsk.NewDemod(fsk.StandardFor(p.e.zone()))
	det, err := cpt.New(p.e.zone())
	if err != nil {
		det, _ = cpt.New("us")
	}
	var (
		lastTone  cpt.Tone
		demodWas  bool
		cptWas    bool
		quiet     time.Duration
		silentFor *Leg
	)
	for ctx.Err() == nil {
		if err := a.ReadFrame(in[:]); err != nil {
			return
		}
		p.mu.Lock()
		l, src, demod, watch, limit := p.cur, p.tone, p.demodOn, p.cptOn, p.silence
		p.mu.Unlock()
		if demod != demodWas {
			dem.Reset()
			demodWas = demod
		}
		if demod {
			if m, ok := dem.Feed(in[:]); ok {
				p.post(func() {
					if p.cid == nil {
						p.cid = &m
						p.set(p.e, func(i *LineInfo) { i.Remote = m.Number })
						p.route()
					}
				})
			}
		}
		if watch != cptWas {
			det.Reset()
			lastTone, cptWas = cpt.None, watch
		}
		if watch {
			if t := det.Feed(in[:]); t != lastTone {
				lastTone = t
				p.post(func() { p.heard(t) })
			}
		}
		clear(out[:])
		if l != nil {
			l.pop(out[:])
		}
		if src != nil && !src.ReadFrame(out[:]) {
			p.mu.Lock()
			if p.tone == src {
				p.tone = nil
			}
			p.mu.Unlock()
			p.post(p.dialled)
		}
		if l != nil && limit > 0 && l.isAnswered() {
			if cpt.Level(in[:]) < -50 && cpt.Level(out[:]) < -50 {
				quiet += 20 * time.Millisecond
			} else {
				quiet = 0
			}
			if quiet >= limit && silentFor != l {
				silentFor = l
				p.post(func() {
					if p.leg == l {
						p.farEnd("silence")
					}
				})
			}
		} else {
			quiet = 0
		}
		if l != nil {
			l.deliver(in[:])
		}
		if err := a.WriteFrame(out[:]); err != nil {
			return
		}
	}
}
