package acd

import (
	"context"
	"slices"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/store"
)

// LoginQueue logs the agent in to one of their queues. A logged-out agent
// is logged in (available) to that queue alone; one logged in to others
// joins it with their current status. Logging out of a queue alone is kept
// across a restart with the agent's status.
func (e *Engine) LoginQueue(ctx context.Context, id, queue, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) { return e.loginQueue(a, queue, source) })
}

// loginQueue is LoginQueue in the actor.
func (e *Engine) loginQueue(a *agent, queue, source string) (string, error) {
	qs := e.agentQs[a.id]
	if !slices.Contains(qs, queue) {
		return "", ErrNoQueue
	}
	if a.status == LoggedOut {
		a.outOf = map[string]bool{}
		for _, q := range qs {
			if q != queue {
				a.outOf[q] = true
			}
		}
		e.setStatus(a, Available, "", time.Time{}, source)
		e.publish(events.AgentQueue{Agent: a.id, Queue: queue, LoggedIn: true, Source: source})
		return "", nil
	}
	e.rejoin(a, queue, source)
	return "", nil
}

// LogoutQueue logs the agent out of one of their queues; out of the last
// one they were in, they are logged out. A waiting caller may then find the
// queue empty (the result's warning, as for Logout).
func (e *Engine) LogoutQueue(ctx context.Context, id, queue, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) { return e.logoutQueue(a, queue, source) })
}

// logoutQueue is LogoutQueue in the actor.
func (e *Engine) logoutQueue(a *agent, queue, source string) (string, error) {
	qs := e.agentQs[a.id]
	if !slices.Contains(qs, queue) {
		return "", ErrNoQueue
	}
	if a.status == LoggedOut || a.outOf[queue] {
		return "", nil
	}
	in := 0
	for _, q := range qs {
		if !a.outOf[q] {
			in++
		}
	}
	if in <= 1 {
		e.setStatus(a, LoggedOut, "", time.Time{}, source)
		e.publish(events.AgentQueue{Agent: a.id, Queue: queue, LoggedIn: false, Source: source})
		return e.checkEmpty(a.id), nil
	}
	if a.outOf == nil {
		a.outOf = map[string]bool{}
	}
	a.outOf[queue] = true
	// Still ringing for a caller of that queue: stop.
	if a.offer != nil && a.offer.queue == queue {
		a.offer.stop(call.Cancelled)
	}
	if a.status == Unavailable {
		e.qlog(queue, "NONE", a.id, EvUnpause, a.reason)
	}
	e.qlog(queue, "NONE", a.id, EvRemoveMember)
	e.saveOutOf(a)
	e.activity(a, source)
	e.publish(events.AgentQueue{Agent: a.id, Queue: queue, LoggedIn: false, Source: source})
	return e.checkEmpty(a.id), nil
}

// ToggleQueue logs the agent out of queue when they are in it, else in to
// it (*45 then the queue's number); in says where they are now.
func (e *Engine) ToggleQueue(ctx context.Context, id, queue, source string) (in bool, res Result, err error) {
	res, err = e.command(ctx, id, func(a *agent) (string, error) {
		if a.status != LoggedOut && !a.outOf[queue] {
			return e.logoutQueue(a, queue, source)
		}
		return e.loginQueue(a, queue, source)
	})
	in = res.Agent.Status != LoggedOut && !slices.Contains(res.Agent.QueuesOut, queue)
	return in, res, err
}

// rejoin puts a logged-in agent back in queue (actor).
func (e *Engine) rejoin(a *agent, queue, source string) {
	if a.status == LoggedOut || !a.outOf[queue] {
		return
	}
	delete(a.outOf, queue)
	e.saveOutOf(a)
	e.qlog(queue, "NONE", a.id, EvAddMember)
	if a.status == Unavailable {
		e.qlog(queue, "NONE", a.id, EvPause, a.reason)
	}
	e.activity(a, source)
	e.publish(events.AgentQueue{Agent: a.id, Queue: queue, LoggedIn: true, Source: source})
}

// rejoinAll puts a logged-in agent back in every queue they left alone:
// "log in" means all of them (actor).
func (e *Engine) rejoinAll(a *agent, source string) {
	for _, q := range e.agentQs[a.id] {
		e.rejoin(a, q, source)
	}
}

// outOfList is the queues the agent logged out of alone, sorted (for the
// store).
func (a *agent) outOfList() []string {
	var out []string
	for q, on := range a.outOf {
		if on {
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out
}

// saveOutOf persists the agent's per-queue logouts with their status, so a
// restart keeps an agent out of the queues they left alone (actor).
func (e *Engine) saveOutOf(a *agent) {
	ctx, cancel := dbctx()
	defer cancel()
	if err := e.cfg.Store.SaveAgentStatus(ctx, store.AgentStatus{Agent: a.id, Status: string(a.status), Reason: a.reason,
		Since: a.since, AutoReturn: a.autoReturn, OutOf: a.outOfList()}); err != nil {
		e.log.Error("save agent queues", "agent", a.id, "err", err)
	}
}

// restoreOutOf takes back the saved per-queue logouts of a logged-in
// agent, for the queues they still serve (restore).
func (e *Engine) restoreOutOf(a *agent, saved []string) {
	if a.status == LoggedOut || len(saved) == 0 {
		return
	}
	qs := e.agentQs[a.id]
	for _, q := range saved {
		if slices.Contains(qs, q) {
			if a.outOf == nil {
				a.outOf = map[string]bool{}
			}
			a.outOf[q] = true
		}
	}
	// Out of every queue they serve is logged out.
	if len(qs) > 0 && len(a.outOf) >= len(qs) {
		a.outOf = nil
		a.status = LoggedOut
	}
}

// QueueByNumber is the id of the queue whose number: is num ("" for none).
func (e *Engine) QueueByNumber(num string) string {
	if num == "" {
		return ""
	}
	for _, q := range e.cfg.Config.Site().Queues {
		if q.Number == num {
			return q.ID
		}
	}
	return ""
}
