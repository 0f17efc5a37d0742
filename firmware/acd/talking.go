package acd

import (
	"context"
	"ringbox/firmware/events"
	"time"
)

// Blocked implements ring.Agents: why agent id may not be rung by a ring
// group, hunt group or agent: destination now ("logged out", "unavailable
// (lunch)", "in wrap-up", "on a call", "offered a queue call"), "" when it
// may. It reads the table the actor publishes after every change, so it
// never waits for the actor.
func (e *Engine) Blocked(id string) string {
	m := e.blocked.Load()
	if m == nil {
		return ""
	}
	return (*m)[id]
}

// publishBlocked rebuilds the table Blocked reads (actor).
func (e *Engine) publishBlocked() {
	m := make(map[string]string, len(e.agents))
	for id, a := range e.agents {
		if why := blocked(a); why != "" {
			m[id] = why
		}
	}
	if old := e.blocked.Load(); old != nil && sameReasons(*old, m) {
		return
	}
	e.blocked.Store(&m)
}

func sameReasons(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Talking implements flow.Agents: agent id is on a call that is not a
// queue call (answered from a ring group, hunt group or agent: destination,
// a direct call, or one the agent placed). The agent's state is on_call
// until the returned end is called; then, when the agent has
// wrapup_after_all_calls, wrap-up follows for the agent's wrapup time.
func (e *Engine) Talking(id, callID string) (end func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	known := false
	e.do(ctx, func() {
		a := e.agents[id]
		if a == nil {
			return
		}
		known = true
		a.talking++
		e.setState(a, OnCall, "", callID)
	})
	if !known {
		return func() {}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.do(ctx, func() {
			a := e.agents[id]
			if a == nil || a.talking == 0 {
				return
			}
			a.talking--
			var wrap time.Duration
			if a.cfg.WrapupAfterAllCalls {
				wrap = a.cfg.WrapupFor(e.snap.Site)
			}
			e.afterCall(a, wrap, "", callID)
		})
	}
}

// afterCall moves an agent whose call ended to wrap-up for wrap (0: none)
// or idle, unless another call of theirs goes on (actor).
func (e *Engine) afterCall(a *agent, wrap time.Duration, queue, callID string) {
	if a.onCall != nil || a.talking > 0 {
		return
	}
	if wrap > 0 {
		until := time.Now().Add(wrap)
		if a.state == Wrapup && a.wrapupUntil.After(until) {
			return // a longer wrap-up already runs
		}
		a.wrapupUntil = until
		if a.state == Wrapup {
			e.publish(events.AgentState{Agent: a.id, State: string(a.state), From: string(a.state), Until: a.wrapupUntil})
			return
		}
		e.setState(a, Wrapup, queue, callID)
		return
	}
	e.setState(a, Idle, "", "")
}
