package dialplan

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"ringbox/firmware/call"
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
}

// Dial implements call.Dialer.
func (r *Router) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	if t.Kind != call.TargetExternal {
		return r.Next.Dial(ctx, t)
	}
	if r.Plan == nil {
		return nil, call.NotFound
	}
	dec, ok := r.Plan.Lookup(t.Number, t.Class)
	if !ok {
		return nil, call.NotFound
	}
	if !dec.Allowed {
		if r.Forbidden != nil {
			r.Forbidden(ctx, t, dec)
		}
		return nil, call.Forbidden
	}
	attempts := r.attempts(t, dec)
	if len(attempts) == 0 {
		return nil, call.Congestion
	}
	return dialRoute(ctx, r.Next, t, attempts)
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
	attempts []call.Target
	cancel   context.CancelCauseFunc // ends the ringing

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
}

var (
	_ call.Leg    = (*routed)(nil)
	_ call.Ringer = (*routed)(nil)
)

// dialRoute starts the first trunk that takes the call at once and returns
// the leg; the rest are tried as earlier ones fail. It fails fast when no
// trunk can ring at all.
func dialRoute(ctx context.Context, next call.Dialer, t call.Target, attempts []call.Target) (call.Leg, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	l := &routed{
		id:       fmt.Sprintf("route-%d", routeSeq.Add(1)),
		remote:   call.Party{Number: t.Number},
		next:     next,
		attempts: attempts,
		cancel:   cancel,
		ringing:  make(chan struct{}),
		answered: make(chan struct{}),
		done:     make(chan struct{}),
	}
	i, leg, err := l.start(rctx, 0)
	if leg == nil {
		cancel(nil)
		return nil, err
	}
	go l.run(rctx, i, leg)
	return l, nil
}

// start dials attempts from i on until one rings; it returns its index.
func (l *routed) start(ctx context.Context, i int) (int, call.Leg, error) {
	var last error = call.Congestion
	for ; i < len(l.attempts); i++ {
		leg, err := l.next.Dial(ctx, l.attempts[i])
		if err == nil {
			l.mu.Lock()
			l.cur, l.curT = leg, l.attempts[i]
			l.mu.Unlock()
			return i, leg, nil
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
			l.mu.Unlock()
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
	close(l.done)
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
	l.hangup = true
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
