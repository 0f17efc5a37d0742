package dialplan

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/numplan"
	"ringbox/firmware/site"
)

// Router is outbound routing as a call.Dialer over one configuration: an
// outside number (call.TargetExternal) is matched against the routes, the
// caller's permission judged, and the route's trunks tried in turn, each
// as a call.TargetTrunk rung by Next; a trunk that is down or congested
// (call.Congestion) gives way to the next one. Every other target goes to
// Next unchanged.
//
// A Router is cheap: the flow makes one per call over the call's snapshot,
// so a call keeps the routes it started with.
type Router struct {
	Plan *Plan
	Site *site.Site
	// Next rings extensions, trunks and analog ports (the SIP edge, the
	// board).
	Next call.Dialer
	// Forbidden is told about every call the permission refused (the
	// audit log); nil: nothing.
	Forbidden func(ctx context.Context, t call.Target, d Decision)

	// Caller is the extension on whose permission the call is made (the
	// calling phone, or the extension a DISA caller authenticated as);
	// its limits and the international hours apply to it. "": none (a
	// destination of the site file, an outside caller sent on).
	Caller string
	// Guard keeps the limits across calls; nil: no limits and no burst
	// alerts (tests of routing alone).
	Guard *Guard
	// Open reports whether a schedule is open at now, for
	// system.international_hours; nil: always open.
	Open func(schedule string, now time.Time) bool
	// Alert is told about anomalies (bursts, after-hours attempts, limits
	// reached); nil: nothing.
	Alert func(ctx context.Context, a Anomaly)
}

// Dial implements call.Dialer.
func (r *Router) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	if t.Kind != call.TargetExternal {
		return r.Next.Dial(ctx, t)
	}
	dec, err := r.Authorize(ctx, t)
	if err != nil {
		return nil, err
	}
	attempts := r.attempts(t, dec)
	if len(attempts) == 0 {
		return nil, call.Congestion
	}
	var held []slot
	if dec.Class != numplan.Emergency && r.Guard != nil {
		// Emergency calls are never limited.
		if x := r.extension(); x != nil {
			max, perHour := x.OutsideLimits()
			held = []slot{{key: "x:" + x.Number, max: max, perHour: perHour, what: "extension", subject: x.Number}}
			if by, why, ok := r.Guard.acquire(held); !ok {
				dec.Allowed, dec.Refused = false, RefusedLimit
				r.refuse(ctx, t, dec)
				r.alert(ctx, Anomaly{Kind: AnomalyLimit, Extension: x.Number, Number: dec.Number, Class: dec.Class.String(), Count: limitOf(by, why),
					Detail: fmt.Sprintf("extension %s reached its limit of %d outside calls %s", x.Number, limitOf(by, why), why)})
				return nil, call.Forbidden
			}
		}
	}
	return dialRoute(ctx, r, t, attempts, held, dec)
}

func limitOf(s slot, why string) int {
	if why == "per hour" {
		return s.perHour
	}
	return s.max
}

// Authorize decides whether t, an outside number, may leave through the
// outbound routes, and what is sent: the one place outbound permission is
// judged (DISA and transfers go through it too, by dialling through a
// Router). It returns call.NotFound when no route matches and
// call.Forbidden when the number sent is of a class the caller or the
// route does not cover, has * or # the route does not allow, or is
// international outside system.international_hours. Refusals are told to
// Forbidden; bursts of international attempts and after-hours attempts to
// Alert.
func (r *Router) Authorize(ctx context.Context, t call.Target) (Decision, error) {
	if r.Plan == nil {
		return Decision{}, call.NotFound
	}
	dec, ok := r.Plan.Lookup(t.Number, t.Class)
	if !ok {
		return Decision{}, call.NotFound
	}
	dear := Rank(dec.Needs) >= Rank(site.PermInternational)
	if dear && r.Caller != "" && r.Guard != nil {
		if n := r.Guard.international(r.Caller); n > 0 {
			r.alert(ctx, Anomaly{Kind: AnomalyInternationalBurst, Extension: r.Caller, Number: dec.Number, Class: dec.Class.String(), Count: n,
				Detail: fmt.Sprintf("extension %s tried %d international or premium numbers in %s, the last %s", r.Caller, n, BurstWindow, dec.Number)})
		}
	}
	if dec.Allowed && dear && r.Caller != "" && r.Site != nil && r.Site.System.InternationalHours != "" && r.Open != nil &&
		!r.Open(r.Site.System.InternationalHours, time.Now()) {
		dec.Allowed, dec.Refused = false, RefusedHours
		r.alert(ctx, Anomaly{Kind: AnomalyAfterHours, Extension: r.Caller, Number: dec.Number, Class: dec.Class.String(),
			Detail: fmt.Sprintf("extension %s dialled %s (%s) outside the hours of schedule %q", r.Caller, dec.Number, dec.Class, r.Site.System.InternationalHours)})
	}
	if !dec.Allowed {
		r.refuse(ctx, t, dec)
		return dec, call.Forbidden
	}
	return dec, nil
}

func (r *Router) refuse(ctx context.Context, t call.Target, dec Decision) {
	if r.Guard != nil {
		r.Guard.refused.Add(1)
	}
	if r.Forbidden != nil {
		r.Forbidden(ctx, t, dec)
	}
}

func (r *Router) alert(ctx context.Context, a Anomaly) {
	if r.Guard != nil {
		r.Guard.alerts.Add(1)
	}
	if r.Alert != nil {
		r.Alert(ctx, a)
	}
}

// extension is the calling extension, when the call is made on one's
// permission.
func (r *Router) extension() *site.Extension {
	if r.Caller == "" || r.Site == nil {
		return nil
	}
	for i := range r.Site.Extensions {
		if r.Site.Extensions[i].Number == r.Caller {
			return &r.Site.Extensions[i]
		}
	}
	return nil
}

// trunkSlot is the limit of the trunk of attempt t; nil: none.
func (r *Router) trunkSlot(t call.Target) []slot {
	if r.Guard == nil {
		return nil
	}
	tr, ok := r.trunk(t.Trunk)
	if !ok || (tr.MaxOutboundCalls == 0 && tr.OutboundPerHour == 0) {
		return nil
	}
	return []slot{{key: "t:" + tr.ID, max: tr.MaxOutboundCalls, perHour: tr.OutboundPerHour, what: "trunk", subject: tr.ID}}
}

// attempts are the trunk targets of a decision, in the route's order, each
// with the caller ID its trunk shows.
func (r *Router) attempts(t call.Target, dec Decision) []call.Target {
	var out []call.Target
	for _, id := range dec.Route.Trunks {
		tr, ok := r.trunk(id)
		if !ok {
			continue
		}
		a := t
		a.Kind, a.Trunk, a.Number = call.TargetTrunk, tr.ID, dec.Number
		a.From, a.Asserted, a.Diversion = r.callerID(t, tr)
		out = append(out, a)
	}
	return out
}

func (r *Router) trunk(id string) (site.Trunk, bool) {
	for _, t := range r.Site.Trunks {
		if t.ID == id {
			return t, true
		}
	}
	return site.Trunk{}, false
}

// callerID decides what a call through trunk tr shows. Calls from the
// box's own extensions (and anything without an outside number) show the
// office number. An outside caller sent on to another outside number (a
// forwarded call, an agent's mobile) shows their own number unless the
// trunk asks for the office's; the office number is then asserted
// (P-Asserted-Identity) and named as the diverting number, which is what
// carriers check before they accept a foreign caller ID.
func (r *Router) callerID(t call.Target, tr site.Trunk) (from call.Party, asserted, diversion string) {
	office := tr.OfficeNumberOr(r.Site.System.OfficeNumber)
	from = t.From
	if !r.outside(t.From.Number) || tr.CallerIDMode() == site.CallerIDOffice || office == "" {
		if office != "" {
			from.Number = office
		}
		return from, office, ""
	}
	diversion = t.Diversion
	if diversion == "" {
		diversion = office
	}
	return from, office, diversion
}

// outside reports whether number is a caller's outside number rather than
// an extension of the site (or nothing at all).
func (r *Router) outside(number string) bool {
	if number == "" {
		return false
	}
	for _, x := range r.Site.Extensions {
		if x.Number == number {
			return false
		}
	}
	for _, c := range number {
		if c != '+' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// failover reports whether a trunk that ended with c should give way to
// the next trunk of the route: it was down, refused with 5xx, timed out or
// never started ringing.
func failover(c call.Cause) bool { return c == call.Congestion }

var routeSeq atomic.Uint64

// routed is the leg of an outside call: it stands for the trunk legs it
// tries one after the other, and for the one that answered.
type routed struct {
	id       string
	remote   call.Party
	next     call.Dialer
	r        *Router
	dec      Decision
	attempts []call.Target
	cancel   context.CancelCauseFunc // ends the ringing
	ctx      context.Context         // for alerts

	ringing  chan struct{}
	ringOnce sync.Once
	answered chan struct{}
	done     chan struct{}

	mu     sync.Mutex // protects following
	cur    call.Leg
	curT   call.Target
	isAns  bool
	cause  call.Cause
	ended  bool
	hangup bool
	// hangupC is the cause Hangup was given.
	hangupC call.Cause
	held    []slot // the caller's and the current trunk's places in the Guard
	trunkH  []slot // the current trunk's alone
}

var (
	_ call.Leg    = (*routed)(nil)
	_ call.Ringer = (*routed)(nil)
)

// dialRoute starts the first trunk that takes the call at once and returns
// the leg; the rest are tried as earlier ones fail. It fails fast when no
// trunk can ring at all.
func dialRoute(ctx context.Context, r *Router, t call.Target, attempts []call.Target, held []slot, dec Decision) (call.Leg, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	l := &routed{
		id:       fmt.Sprintf("route-%d", routeSeq.Add(1)),
		remote:   call.Party{Number: t.Number},
		next:     r.Next,
		r:        r,
		dec:      dec,
		held:     held,
		ctx:      ctx,
		attempts: attempts,
		cancel:   cancel,
		ringing:  make(chan struct{}),
		answered: make(chan struct{}),
		done:     make(chan struct{}),
	}
	i, leg, err := l.start(rctx, 0)
	if leg == nil {
		cancel(nil)
		l.release()
		return nil, err
	}
	go l.run(rctx, i, leg)
	return l, nil
}

// start dials attempts from i on until one rings; it returns its index.
func (l *routed) start(ctx context.Context, i int) (int, call.Leg, error) {
	var last error = call.Congestion
	for ; i < len(l.attempts); i++ {
		ts := l.r.trunkSlot(l.attempts[i])
		if ts != nil {
			// A trunk at its limit gives way to the next, as one that
			// is down does.
			if by, why, ok := l.r.Guard.acquire(ts); !ok {
				l.r.alert(ctx, Anomaly{Kind: AnomalyLimit, Trunk: by.subject, Number: l.dec.Number, Class: l.dec.Class.String(), Count: limitOf(by, why),
					Detail: fmt.Sprintf("trunk %s reached its limit of %d outbound calls %s", by.subject, limitOf(by, why), why)})
				continue
			}
		}
		leg, err := l.next.Dial(ctx, l.attempts[i])
		if err == nil {
			l.mu.Lock()
			l.cur, l.curT, l.trunkH = leg, l.attempts[i], ts
			l.mu.Unlock()
			return i, leg, nil
		}
		if ts != nil {
			l.r.Guard.release(ts)
		}
		last = err
		if ctx.Err() != nil || !failover(call.CauseOf(err)) {
			break
		}
	}
	return -1, nil, last
}

// run follows the current trunk leg until it answers (then until it
// ends), trying the next trunk when one fails over.
func (l *routed) run(ctx context.Context, i int, leg call.Leg) {
	defer l.cancel(nil)
	for {
		if rg, ok := leg.(call.Ringer); ok && rg.Ringing() != nil {
			go l.forwardRinging(rg.Ringing(), leg.Done())
		}
		err := leg.Answer(ctx)
		if err == nil {
			l.mu.Lock()
			l.isAns = true
			hungUp, c := l.hangup, l.hangupC
			l.mu.Unlock()
			if hungUp {
				// Hangup came while the trunk leg rang and only stopped
				// the ringing, but the far end answered at that moment
				// (a ring group's losing mobiles answering together with
				// the winner) and Answer took the answer: the trunk leg
				// is up and nobody else will hang it up. Left up, it held
				// its dialog, two RTP sockets and its goroutines for
				// good (the soak test's leak).
				leg.Hangup(c)
				call.AfterEnd(leg, func() { l.finish(c) })
				return
			}
			close(l.answered)
			// Nothing waits for the end of an answered call: the route
			// ends with its trunk leg.
			call.AfterEnd(leg, func() { l.finish(call.CauseOf(leg.Err())) })
			return
		}
		c := call.CauseOf(err)
		if ctx.Err() != nil {
			c = call.CauseOf(context.Cause(ctx))
		}
		leg.Hangup(c)
		l.releaseTrunk()
		if ctx.Err() != nil || !failover(c) {
			l.finish(c)
			return
		}
		var serr error
		if i, leg, serr = l.start(ctx, i+1); leg == nil {
			c2 := call.CauseOf(serr)
			if ctx.Err() != nil {
				c2 = call.CauseOf(context.Cause(ctx))
			}
			l.finish(c2)
			return
		}
	}
}

func (l *routed) forwardRinging(ringing, legDone <-chan struct{}) {
	select {
	case <-ringing:
		l.ringOnce.Do(func() { close(l.ringing) })
	case <-legDone:
	case <-l.answered:
	case <-l.done:
	}
}

func (l *routed) finish(c call.Cause) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended, l.cause = true, c
	l.mu.Unlock()
	l.release()
	close(l.done)
}

// releaseTrunk gives the current trunk's place back (it failed).
func (l *routed) releaseTrunk() {
	l.mu.Lock()
	ts := l.trunkH
	l.trunkH = nil
	l.mu.Unlock()
	if ts != nil {
		l.r.Guard.release(ts)
	}
}

// release gives every place back: the call is over.
func (l *routed) release() {
	l.releaseTrunk()
	l.mu.Lock()
	held := l.held
	l.held = nil
	l.mu.Unlock()
	if held != nil {
		l.r.Guard.release(held)
	}
}

func (l *routed) current() (call.Leg, call.Target) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur, l.curT
}

// ID implements call.Leg: the current trunk leg's id.
func (l *routed) ID() string {
	if cur, _ := l.current(); cur != nil {
		return cur.ID()
	}
	return l.id
}

// Remote implements call.Leg: the number as dialled.
func (l *routed) Remote() call.Party { return l.remote }

// Answer implements call.Leg: it waits until a trunk's far end answers,
// every trunk failed, or ctx ends.
func (l *routed) Answer(ctx context.Context) error {
	select {
	case <-l.answered:
		return nil
	case <-l.done:
		return l.Err()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Progress implements call.Leg; an outbound leg has nothing to send.
func (l *routed) Progress(context.Context) error { return nil }

// Hangup implements call.Leg: before the answer it stops the ringing (the
// trunk leg ends with c), after it hangs the answered leg up.
func (l *routed) Hangup(c call.Cause) {
	l.mu.Lock()
	if l.ended || l.hangup {
		l.mu.Unlock()
		return
	}
	l.hangup, l.hangupC = true, c
	cur, ans := l.cur, l.isAns
	l.mu.Unlock()
	if ans {
		cur.Hangup(c)
		return
	}
	l.cancel(c)
}

// Media implements call.Leg: the current trunk leg's media.
func (l *routed) Media() call.Media {
	cur, _ := l.current()
	return cur.Media()
}

// Done implements call.Leg.
func (l *routed) Done() <-chan struct{} { return l.done }

// Err implements call.Leg.
func (l *routed) Err() error {
	select {
	case <-l.done:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.cause
	default:
		return nil
	}
}

// Ringing implements call.Ringer: closed when any trunk's far end rings.
func (l *routed) Ringing() <-chan struct{} { return l.ringing }

// Unwrap is the trunk leg that carries the audio (see call.Unwrap).
func (l *routed) Unwrap() call.Leg {
	cur, _ := l.current()
	return cur
}

// Trunk is the id of the trunk tried last (the one that answered, once
// answered).
func (l *routed) Trunk() string {
	_, t := l.current()
	return t.Trunk
}

// Sent is the number sent to the trunk.
func (l *routed) Sent() string {
	_, t := l.current()
	return t.Number
}
