package acd

import (
	"context"
	"slices"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
)

// LoginQueue logs the agent in to one of their queues. A logged-out agent
// is logged in (available) to that queue alone; one logged in to others
// joins it with their current status. Logging out of a queue alone is not
// kept across a restart: the agent's status is.
func (e *Engine) LoginQueue(ctx context.Context, id, queue, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
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
	})
}

// LogoutQueue logs the agent out of one of their queues; out of the last
// one they were in, they are logged out. A waiting caller may then find the
// queue empty (the result's warning, as for Logout).
func (e *Engine) LogoutQueue(ctx context.Context, id, queue, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
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
		e.activity(a, source)
		e.publish(events.AgentQueue{Agent: a.id, Queue: queue, LoggedIn: false, Source: source})
		return e.checkEmpty(a.id), nil
	})
}

// rejoin puts a logged-in agent back in queue (actor).
func (e *Engine) rejoin(a *agent, queue, source string) {
	if a.status == LoggedOut || !a.outOf[queue] {
		return
	}
	delete(a.outOf, queue)
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
