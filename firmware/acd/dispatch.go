package acd

import (
	"context"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

// progressiveStep is how often ring_progressively adds the next agent to
// a caller's ringing set (FreeSWITCH's ring-progressively-delay).
const progressiveStep = 10 * time.Second

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
	o    *offer
	kind outcomeKind
	ans  *ring.Answer // answered (and accepted) agent leg
}

// offerSpec is what an offer goroutine needs, copied out of the actor's
// state so the goroutine touches none of it.
type offerSpec struct {
	agent   site.Agent
	qc      flow.QueueCall
	ring    time.Duration
	confirm bool
	info    ring.CallInfo // for the agent offer events
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
		need, drop, anyAgent := skillNeed(c, qc, now) // skills.go
		e.needBuf = appendNeed(e.needBuf[:0], need)
		for range want {
			best, bestScore := -1, 0
			seen := 0
			for i, m := range ms {
				if m.a.taken || m.level > reach || c.offers[m.a.id] != nil || m.a.outOf[c.queue] {
					continue
				}
				if t, ok := c.retryAt[m.a.id]; ok && now.Before(t) {
					continue
				}
				fits, score := skillFit(m.a.cfg.Skills, e.needBuf, drop, anyAgent)
				if !fits {
					continue
				}
				// The best skill match first, then the queue's order.
				if best < 0 || score > bestScore || (score == bestScore && m.level < ms[best].level) {
					best, bestScore, seen = i, score, 1
					continue
				}
				if score < bestScore || m.level > ms[best].level {
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
	e.setState(a, Offered, c.queue, c.id)
	sp := offerSpec{agent: a.cfg, qc: c.qc, ring: qc.Ring(), confirm: qc.Confirm, info: c.qc.Info}
	// The page shows the queue the caller waits in, whatever the flow saw.
	sp.info.ID, sp.info.Via = c.id, "queue:"+c.queue
	if sp.info.From.Number == "" {
		sp.info.From = c.from
	}
	if sp.info.Since.IsZero() {
		sp.info.Since = c.joined
	}
	e.offers.Add(1)
	// The caller's call waits for its agent legs before it writes its CDR;
	// counted here, while the caller still waits, so the count is never
	// raised after that wait began.
	wg := sp.qc.Wait
	if wg != nil {
		wg.Add(1)
	}
	go func() {
		defer e.offers.Done()
		if wg != nil {
			defer wg.Done()
		}
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
		e.ringer.TooLate(r.ans.Leg, &e.offers)
		r.kind = outCancelled
	}
	switch r.kind {
	case outAnswered:
		c.done = true
		e.remove(c)
		for _, other := range c.offers {
			other.stop(call.AnsweredElsewhere)
		}
		by, name := a, a.id
		if p := r.ans.Entry; p.Agent != a.id {
			// Another phone picked the offer up (*8, **EXT): the call
			// is the picker's, counted for the picker's agent if it is
			// one; the agent offered is free again.
			e.setState(a, Idle, "", "")
			by, name = e.agents[p.Agent], p.Label
			if by != nil {
				name = by.id
			}
		}
		c.agent = name
		c.connected = now
		if by != nil {
			by.missedInRow = 0
			by.answered++
			by.onCall = c
			e.setState(by, OnCall, c.queue, c.id)
		}
		data := []string{secs(now.Sub(c.joined)), r.ans.Leg.ID(), secs(now.Sub(o.start))}
		if m := e.matchKind(c, by); m != "" { // skills.go
			data = append(data, m)
		}
		e.qlog(c.queue, c.id, name, EvConnect, data...)
		e.publish(events.QueueCaller{Queue: c.queue, Call: c.id, Event: "connected", Agent: name})
		c.send(outcome{ans: r.ans})
		return
	case outDeclined:
		a.declined++
		e.qlog(o.queue, c.id, a.id, EvRingNoAnswer, itoa(ringMS), "declined")
	case outNoAnswer:
		a.missed++
		a.missedInRow++
		e.qlog(o.queue, c.id, a.id, EvRingNoAnswer, itoa(ringMS))
	}
	if !c.done && r.kind != outCancelled {
		c.retryAt[a.id] = now.Add(qc.RetryAfter())
	}
	e.setState(a, Idle, "", "")
	if r.kind == outNoAnswer && qc.MaxNoAnswer > 0 && a.missedInRow >= qc.MaxNoAnswer && a.status == Available {
		e.publish(events.AgentMaxNoAnswer{Agent: a.id, Missed: a.missedInRow, Queue: o.queue})
		e.setStatus(a, Unavailable, ReasonMissedCalls, time.Time{}, SourceSystem)
	}
}

// runOffer rings the agent's phones by their ring preference with the
// box's ringing engine (with the queue's confirm) and reports the outcome
// to the actor.
func (e *Engine) runOffer(ctx context.Context, o *offer, sp offerSpec) {
	opts := sp.qc.Opts
	opts.Confirm = site.ConfirmNever
	if sp.confirm {
		opts.Confirm = site.ConfirmAlways
	}
	// The actor judged availability; the engine only skips a desk phone
	// in do-not-disturb.
	opts.Hours, opts.Busy, opts.Hunt, opts.Status = false, false, false, false
	av := ring.Avail{Snap: sp.qc.Snap}
	res := e.ringer.Ring(ctx, ring.Request{Dialer: sp.qc.Dialer, Entries: ring.Agent(av, &sp.agent, 0, sp.ring, opts),
		Record: sp.qc.Record, Wait: sp.qc.Wait, Log: e.log.With("agent", sp.agent.ID, "call", o.c.id), Call: sp.info})
	r := offerResult{o: o, ans: res.Answer}
	switch {
	case res.Answer != nil:
		r.kind = outAnswered
	case ctx.Err() != nil:
		r.kind = outCancelled
	case res.Declined:
		r.kind = outDeclined
	default:
		r.kind = outNoAnswer
	}
	select {
	case e.results <- r:
	case <-e.stopped:
		if r.ans != nil {
			r.ans.Leg.Hangup(call.Shutdown)
		}
	}
}
