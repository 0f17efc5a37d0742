package acd

import (
	"context"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

const (
	// progressiveStep is how often ring_progressively adds the next agent
	// to a caller's ringing set (FreeSWITCH's ring-progressively-delay).
	progressiveStep = 10 * time.Second
	// confirmWait is how long an agent who answered has to press 1 or 2.
	confirmWait = 10 * time.Second
)

// offer is one agent being rung for one caller.
type offer struct {
	id        uint64
	c         *caller
	a         *agent
	queue     string
	start     time.Time
	cancel    context.CancelCauseFunc
	cancelled bool
}

func (o *offer) stop(c call.Cause) {
	o.cancelled = true
	o.cancel(c)
}

type outcomeKind int

const (
	outAnswered outcomeKind = iota
	outNoAnswer
	outDeclined
	outCancelled
)

type offerResult struct {
	o     *offer
	kind  outcomeKind
	leg   call.Leg // answered (and accepted) agent leg
	cause call.Cause
}

// offerSpec is what an offer goroutine needs, copied out of the actor's
// state so the goroutine touches none of it.
type offerSpec struct {
	agent   site.Agent
	from    call.Party
	ring    time.Duration
	confirm bool
	lang    string
}

// dispatch offers waiting callers to free agents: longest waiting caller
// first over every queue, each by its queue's strategy, so N free agents
// and N callers all start at once.
func (e *Engine) dispatch(now time.Time) {
	for _, p := range e.plan(now) {
		e.startOffer(p.c, p.a, now)
	}
}

type pairing struct {
	c *caller
	a *agent
}

// plan decides who is offered to whom now, without doing it.
func (e *Engine) plan(now time.Time) []pairing {
	if len(e.waiting) == 0 {
		return nil
	}
	nfree := 0
	for _, a := range e.agents {
		a.taken = !e.free(a, now)
		if !a.taken {
			nfree++
		}
	}
	var out []pairing
	for _, c := range e.waiting {
		if nfree == 0 {
			break
		}
		qc, ok := e.queueCfg(c.queue)
		if !ok {
			continue
		}
		strategy := qc.StrategyName()
		want := 0
		switch strategy {
		case site.QueueRingAll:
			want = nfree
		case site.QueueRingProgressively:
			if len(c.offers) == 0 {
				c.progCount = 0
				want = 1
			} else {
				want = 1 + int(now.Sub(c.progStart)/progressiveStep) - c.progCount
			}
		default:
			if len(c.offers) == 0 {
				want = 1
			}
		}
		if want <= 0 {
			continue
		}
		reach := 1 + int(now.Sub(c.joined)/qc.LevelAfter())
		n := max(len(qc.Agents), 1)
		ms := e.members[c.queue]
		q := e.queues[c.queue]
		for range want {
			best := -1
			seen := 0
			for i, m := range ms {
				if m.a.taken || m.level > reach || c.offers[m.a.id] != nil {
					continue
				}
				if t, ok := c.retryAt[m.a.id]; ok && now.Before(t) {
					continue
				}
				if best < 0 || m.level < ms[best].level {
					best, seen = i, 1
					continue
				}
				if m.level > ms[best].level {
					continue
				}
				switch strategy {
				case site.QueueRandom:
					seen++
					if e.cfg.Rand(seen) == 0 {
						best = i
					}
				default:
					if better(strategy, m, ms[best], q.rrNext, n) {
						best = i
					}
				}
			}
			if best < 0 {
				break
			}
			m := ms[best]
			m.a.taken = true
			nfree--
			if strategy == site.QueueRoundRobin {
				q.rrNext = (m.pos + 1) % n
			}
			out = append(out, pairing{c, m.a})
			if strategy == site.QueueRingProgressively {
				c.progCount++
			}
		}
	}
	return out
}

// better reports whether x should be offered before y (same level).
func better(strategy string, x, y member, rrNext, n int) bool {
	switch strategy {
	case site.QueueRoundRobin:
		n = max(n, x.pos+1, y.pos+1, rrNext+1)
		return (x.pos-rrNext+n)%n < (y.pos-rrNext+n)%n
	case site.QueueFewestCalls:
		if x.a.answered != y.a.answered {
			return x.a.answered < y.a.answered
		}
	case site.QueueLeastTalkTime:
		if x.a.talk != y.a.talk {
			return x.a.talk < y.a.talk
		}
	case site.QueueLongestIdle:
		if !x.a.idleSince.Equal(y.a.idleSince) {
			return x.a.idleSince.Before(y.a.idleSince)
		}
	}
	return x.pos < y.pos
}

// startOffer rings agent a for caller c on a goroutine of its own.
func (e *Engine) startOffer(c *caller, a *agent, now time.Time) {
	qc, _ := e.queueCfg(c.queue)
	e.offerID++
	ctx, cancel := context.WithCancelCause(e.ctx)
	o := &offer{id: e.offerID, c: c, a: a, queue: c.queue, start: now, cancel: cancel}
	if len(c.offers) == 0 {
		c.progStart = now
	}
	a.offer = o
	c.offers[a.id] = o
	a.endPresence = e.pres.Begin(a.keys()...)
	e.setState(a, Offered, c.queue, c.id)
	sp := offerSpec{agent: a.cfg, from: c.from, ring: qc.Ring(), confirm: qc.Confirm, lang: e.lang()}
	e.offers.Add(1)
	go func() {
		defer e.offers.Done()
		e.runOffer(ctx, o, sp)
	}()
}

// offerDone applies what came of an offer.
func (e *Engine) offerDone(r offerResult) {
	o, a, c := r.o, r.o.a, r.o.c
	o.cancel(nil)
	a.offer = nil
	if c.offers[a.id] == o {
		delete(c.offers, a.id)
	}
	now := time.Now()
	ringMS := now.Sub(o.start).Milliseconds()
	qc, _ := e.queueCfg(o.queue)
	if o.cancelled && r.kind != outAnswered {
		r.kind = outCancelled
	}
	if r.kind == outAnswered && (o.cancelled || c.done) {
		// Too late: another agent took the caller, or the caller left.
		r.leg.Hangup(call.AnsweredElsewhere)
		r.kind = outCancelled
	}
	switch r.kind {
	case outAnswered:
		c.done = true
		e.remove(c)
		for _, other := range c.offers {
			other.stop(call.AnsweredElsewhere)
		}
		a.missedInRow = 0
		a.answered++
		a.onCall = c
		c.agent = a.id
		c.connected = now
		e.setState(a, OnCall, c.queue, c.id)
		e.qlog(c.queue, c.id, a.id, EvConnect, secs(now.Sub(c.joined)), r.leg.ID(), secs(now.Sub(o.start)))
		e.publish("queue.caller", map[string]any{"queue": c.queue, "call": c.id, "event": "connected", "agent": a.id})
		c.send(outcome{connected: true, leg: r.leg, agent: a.id})
		return
	case outDeclined:
		a.declined++
		e.qlog(o.queue, c.id, a.id, EvRingNoAnswer, itoa(ringMS), "declined")
	case outNoAnswer:
		a.missed++
		a.missedInRow++
		e.qlog(o.queue, c.id, a.id, EvRingNoAnswer, itoa(ringMS))
	}
	if a.endPresence != nil {
		a.endPresence()
		a.endPresence = nil
	}
	if !c.done && r.kind != outCancelled {
		c.retryAt[a.id] = now.Add(qc.RetryAfter())
	}
	e.setState(a, Idle, "", "")
	if r.kind == outNoAnswer && qc.MaxNoAnswer > 0 && a.missedInRow >= qc.MaxNoAnswer && a.status == Available {
		e.publish("agent.max_no_answer", map[string]any{"agent": a.id, "missed": a.missedInRow, "queue": o.queue})
		e.setStatus(a, Unavailable, ReasonMissedCalls, time.Time{}, SourceSystem)
	}
}

// runOffer rings the agent and, with confirm, asks them to accept.
func (e *Engine) runOffer(ctx context.Context, o *offer, sp offerSpec) {
	r := offerResult{o: o}
	r.leg, r.cause = e.ring(ctx, sp)
	switch {
	case r.leg == nil && ctx.Err() != nil:
		r.kind = outCancelled
	case r.leg == nil && r.cause == call.Rejected:
		r.kind = outDeclined
	case r.leg == nil:
		r.kind = outNoAnswer
	case sp.confirm:
		r.kind = e.confirm(ctx, r.leg, sp)
		if r.kind != outAnswered {
			r.leg.Hangup(call.Normal)
			r.leg = nil
		}
	default:
		r.kind = outAnswered
	}
	select {
	case e.results <- r:
	case <-e.stopped:
		if r.leg != nil {
			r.leg.Hangup(call.Shutdown)
		}
	}
}

// ring rings the agent's phones by their ring preference for sp.ring and
// returns the leg that answered first; the others stop ringing as
// answered elsewhere.
func (e *Engine) ring(ctx context.Context, sp offerSpec) (call.Leg, call.Cause) {
	type target struct {
		t     call.Target
		delay time.Duration
	}
	ext := call.Target{Kind: call.TargetExtension, Number: sp.agent.Extension, From: sp.from, Agent: sp.agent.ID}
	mob := call.Target{Kind: call.TargetExternal, Number: sp.agent.Mobile, From: sp.from, Agent: sp.agent.ID, Class: site.PermInternational}
	var ts []target
	switch sp.agent.Preference() {
	case site.RingExtensionOnly:
		ts = []target{{ext, 0}}
	case site.RingMobileOnly:
		ts = []target{{mob, 0}}
	case site.RingBoth:
		ts = []target{{ext, 0}, {mob, 0}}
	case site.RingExtensionThenMobile:
		ts = []target{{ext, 0}}
		if d := sp.agent.MobileDelay(); d < sp.ring {
			ts = append(ts, target{mob, d})
		}
	}
	var live []target
	for _, t := range ts {
		if t.t.Number != "" {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return nil, call.NotFound
	}
	rctx, stop := context.WithTimeoutCause(ctx, sp.ring, call.NoAnswer)
	defer stop()
	dctx, dcancel := context.WithCancelCause(rctx)
	defer dcancel(nil)
	type res struct {
		leg call.Leg
		err error
	}
	ch := make(chan res, len(live))
	for _, t := range live {
		go func() {
			if t.delay > 0 {
				tm := time.NewTimer(t.delay)
				defer tm.Stop()
				select {
				case <-tm.C:
				case <-dctx.Done():
					ch <- res{nil, context.Cause(dctx)}
					return
				}
			}
			leg, err := e.cfg.Dialer.Dial(dctx, t.t)
			if err != nil {
				ch <- res{nil, err}
				return
			}
			if err := leg.Answer(dctx); err != nil {
				c := call.CauseOf(err)
				if dctx.Err() != nil {
					c = call.CauseOf(context.Cause(dctx))
				}
				leg.Hangup(c)
				ch <- res{nil, c}
				return
			}
			ch <- res{leg, nil}
		}()
	}
	var won call.Leg
	cause := call.NoAnswer
	for range live {
		r := <-ch
		switch {
		case r.leg != nil && won == nil:
			won = r.leg
			dcancel(call.AnsweredElsewhere)
		case r.leg != nil:
			r.leg.Hangup(call.AnsweredElsewhere)
		case call.CauseOf(r.err) == call.Rejected:
			cause = call.Rejected
		}
	}
	if won != nil {
		return won, call.Normal
	}
	return nil, cause
}

// confirm plays "call for the office, press 1 to accept, 2 to decline" to
// the agent who answered and waits for the key. The queue's name is text,
// not audio, so the built-in call-for-office prompt stands for it.
func (e *Engine) confirm(ctx context.Context, leg call.Leg, sp offerSpec) outcomeKind {
	ctx, stop := context.WithTimeout(ctx, confirmWait)
	defer stop()
	pctx, pstop := context.WithCancel(ctx)
	rate := rateOf(leg.Media())
	var clips [][]int16
	for _, id := range []string{"call-for-office", "accept-decline"} {
		if pcm, ok := e.cfg.Prompt(sp.lang, id, rate); ok {
			clips = append(clips, pcm)
		}
	}
	played := make(chan struct{})
	go func() {
		defer close(played)
		leg.Media().Play(pctx, clipSource(clips...), false)
	}()
	defer func() { pstop(); <-played }()
	for {
		select {
		case d := <-leg.Media().Digits():
			switch d.Key {
			case '1':
				return outAnswered
			case '2':
				return outDeclined
			}
		case <-leg.Done():
			return outNoAnswer
		case <-ctx.Done():
			return outNoAnswer
		}
	}
}
