package analog

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/audio/tone"
	"ringbox/board/line"
	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/media"
	"ringbox/firmware/site"
)

// CallInfo describes a call an analog port starts, for the routing engine
// (cmd/ringbox hands it to flow.Engine.Handle as a flow.Inbound).
type CallInfo struct {
	CallID    string
	From      call.Party
	To        string // the digits dialled (FXS) or "fxo:N" (FXO)
	Extension string // FXS: the line's extension
	Trunk     string // FXO: the trunk of the line
	DID       string // FXO: "fxo:N", what inbound routes match
}

// Media opens the media streams analog legs are anchored on
// (*media.Engine).
type Media interface {
	Open() (*media.Stream, error)
}

// Config wires the engine.
type Config struct {
	Ports []line.Port
	// Site is the current configuration: lines, trunks, the tone zone,
	// extensions and outbound patterns for digit collection.
	Site  func() *site.Site
	Media Media
	// Handle routes a call the port started until it ends (flow.Engine.Handle).
	Handle func(ctx context.Context, in call.Leg, info CallInfo)
	// Music is what a party held by a hook flash hears; nil: silence.
	Music  func() call.Source
	Bus    *events.Bus // may be nil
	Logger *slog.Logger
	// Timing, zero for the defaults (tests shorten nothing: they run
	// under synctest).
	Timing Timing
}

// Timing are the line engine's time constants.
type Timing struct {
	FirstDigit time.Duration // off hook with no digit: then congestion tone (15 s)
	InterDigit time.Duration // after a digit, dial what was collected (4 s)
	PulseMax   time.Duration // longest on-hook of a dial pulse (150 ms)
	FlashMax   time.Duration // longest on-hook of a hook flash; longer is a hang-up (1250 ms)
	DigitGap   time.Duration // off hook this long after pulses ends a pulse digit (300 ms)
	CPC        time.Duration // feed open after a far-end hang-up (250 ms)
	RingGone   time.Duration // FXO: no ring for this long after one: the caller gave up (8 s)
	DialTone   time.Duration // FXO: wait this long for dial tone after seizing (3 s)
}

func (t Timing) withDefaults() Timing {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.FirstDigit, 15*time.Second)
	def(&t.InterDigit, 4*time.Second)
	def(&t.PulseMax, 150*time.Millisecond)
	def(&t.FlashMax, 1250*time.Millisecond)
	def(&t.DigitGap, 300*time.Millisecond)
	def(&t.CPC, 250*time.Millisecond)
	def(&t.RingGone, 8*time.Second)
	def(&t.DialTone, 3*time.Second)
	return t
}

// Level is the level of tones and caller ID the box sends to a line.
const Level = -13.0

// Engine runs the analog ports.
type Engine struct {
	cfg    Config
	t      Timing
	log    *slog.Logger
	prefix string
	seq    atomic.Uint64

	fxs map[int]*fxsPort
	fxo map[int]*fxoPort

	calls sync.WaitGroup // calls handed to Handle
	xfers sync.WaitGroup // transfers being handed to the flow (fxsPort.handTransfer)
}

// New returns an engine for cfg.Ports.
func New(cfg Config) *Engine {
	var b [4]byte
	_, _ = rand.Read(b[:])
	e := &Engine{cfg: cfg, t: cfg.Timing.withDefaults(), log: cfg.Logger, prefix: hex.EncodeToString(b[:]),
		fxs: map[int]*fxsPort{}, fxo: map[int]*fxoPort{}}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.log = e.log.With("pkg", "analog")
	for _, p := range cfg.Ports {
		fxs, isFXS := p.(line.FXSPort)
		fxo, isFXO := p.(line.FXOPort)
		switch {
		case p.Kind() == line.FXS && isFXS:
			e.fxs[p.N()] = newFXS(e, fxs)
		case p.Kind() == line.FXO && isFXO:
			e.fxo[p.N()] = newFXO(e, fxo)
		default:
			e.log.Warn("analog port without its driver interface: ignored", "port", line.Name(p))
		}
	}
	return e
}

// Run drives every port until ctx ends, then ends the ports' calls with
// call.Shutdown and waits for their routing to finish. It returns only
// when ctx ends, even on a board without ports (serve takes a return as
// a subsystem stopping).
func (e *Engine) Run(ctx context.Context) error {
	defer e.calls.Wait()
	defer e.xfers.Wait()
	defer func() { <-ctx.Done() }()
	var wg sync.WaitGroup
	for _, p := range e.fxs {
		wg.Go(func() { p.run(ctx) })
	}
	for _, p := range e.fxo {
		wg.Go(func() { p.run(ctx) })
	}
	wg.Wait()
	return nil
}

func (e *Engine) site() *site.Site {
	if e.cfg.Site == nil {
		return &site.Site{}
	}
	if s := e.cfg.Site(); s != nil {
		return s
	}
	return &site.Site{}
}

// zone is the site's tone zone ("us" by default).
func (e *Engine) zone() string {
	z := e.site().System.ToneZone
	if z == "" {
		return "us"
	}
	return z
}

func (e *Engine) tones() *tone.Set {
	s, err := tone.Zone(e.zone())
	if err != nil {
		s, _ = tone.Zone("us")
	}
	return s
}

func (e *Engine) newCallID(port string) string {
	return fmt.Sprintf("analog-%s-%s-%d", e.prefix, strings.ReplaceAll(port, ":", ""), e.seq.Add(1))
}

// newLeg opens a stream and a leg on it; with no Media (tests of the
// signalling alone) the leg has no audio.
func (e *Engine) newLeg(port string, remote call.Party) (*Leg, error) {
	var st *media.Stream
	if e.cfg.Media != nil {
		var err error
		if st, err = e.cfg.Media.Open(); err != nil {
			e.log.Warn("no media stream for an analog call", "port", port, "err", err)
			return nil, call.Congestion
		}
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := e.newCallID(port)
	return newLeg(st, id, port, remote, binary.BigEndian.Uint32(b[:])), nil
}

// handle hands a call to the routing engine on its own goroutine.
func (e *Engine) handle(ctx context.Context, l *Leg, info CallInfo) {
	if e.cfg.Handle == nil {
		l.end(call.Unavailable)
		return
	}
	e.calls.Go(func() { e.cfg.Handle(context.WithoutCancel(ctx), l, info) })
}

func (e *Engine) publish(p events.Payload) {
	if e.cfg.Bus != nil {
		e.cfg.Bus.Publish(p)
	}
}

// lineOf is the site line of FXS port n.
func (e *Engine) lineOf(n int) (site.Line, bool) {
	name := "fxs:" + strconv.Itoa(n)
	for _, l := range e.site().Lines {
		if l.Port == name {
			return l, true
		}
	}
	return site.Line{}, false
}

// trunkOf is the site trunk on FXO port n.
func (e *Engine) trunkOf(n int) (site.Trunk, bool) {
	for _, t := range e.site().Trunks {
		if t.FXO == n {
			return t, true
		}
	}
	return site.Trunk{}, false
}

// Lines lists the ports with their state and health, and the ports the
// site names that this board lacks (health "missing").
func (e *Engine) Lines() []LineInfo {
	var out []LineInfo
	for _, p := range e.fxs {
		out = append(out, p.info())
	}
	for _, p := range e.fxo {
		out = append(out, p.info())
	}
	s := e.site()
	for _, l := range s.Lines {
		n, _ := strconv.Atoi(strings.TrimPrefix(l.Port, "fxs:"))
		if _, ok := e.fxs[n]; !ok {
			out = append(out, LineInfo{Port: l.Port, Kind: "fxs", Extension: l.Extension, State: StateIdle,
				Health: HealthMissing, Detail: "this board has no port " + l.Port})
		}
	}
	for _, t := range s.Trunks {
		if t.FXO > 0 {
			if _, ok := e.fxo[t.FXO]; !ok {
				port := "fxo:" + strconv.Itoa(t.FXO)
				out = append(out, LineInfo{Port: port, Kind: "fxo", Trunk: t.ID, State: StateIdle,
					Health: HealthMissing, Detail: "this board has no port " + port})
			}
		}
	}
	slices.SortFunc(out, func(a, b LineInfo) int {
		if a.Kind != b.Kind {
			return strings.Compare(b.Kind, a.Kind) // fxs first
		}
		an, _ := strconv.Atoi(a.Port[4:])
		bn, _ := strconv.Atoi(b.Port[4:])
		return an - bn
	})
	return out
}

// Dialer returns a call.Dialer that rings analog targets (fxs:N members,
// extensions bound to an FXS line, FXO trunks) on this engine and hands
// every other target to next.
func (e *Engine) Dialer(next call.Dialer) call.Dialer { return dialer{e, next} }

type dialer struct {
	e    *Engine
	next call.Dialer
}

func (d dialer) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	e := d.e
	switch t.Kind {
	case call.TargetFXS:
		n, _ := strconv.Atoi(t.Number)
		p, ok := e.fxs[n]
		if !ok {
			e.log.Warn("ring an analog port this board lacks", "port", "fxs:"+t.Number)
			return nil, call.NotFound
		}
		return p.dial(ctx, t)
	case call.TargetExtension:
		for _, l := range e.site().Lines {
			if l.Extension != t.Number {
				continue
			}
			n, _ := strconv.Atoi(strings.TrimPrefix(l.Port, "fxs:"))
			p, ok := e.fxs[n]
			if !ok {
				e.log.Warn("extension's analog port is missing on this board", "extension", t.Number, "port", l.Port)
				return nil, call.Unavailable
			}
			return p.dial(ctx, t)
		}
	case call.TargetTrunk:
		for _, tr := range e.site().Trunks {
			if tr.ID != t.Trunk || tr.FXO == 0 {
				continue
			}
			p, ok := e.fxo[tr.FXO]
			if !ok {
				e.log.Warn("FXO trunk's port is missing on this board", "trunk", tr.ID, "port", tr.FXO)
				return nil, call.Congestion
			}
			return p.dial(ctx, t)
		}
	}
	if d.next == nil {
		return nil, call.NotFound
	}
	return d.next.Dial(ctx, t)
}
