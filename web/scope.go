package web

// Scope: which people and calls a web user may see. Every route and event
// that shows agents, extensions, queues or calls asks [ScopeOf] and keeps
// only what is in it; docs/reports.md states the rule for users.

import (
	"slices"

	"ringbox/firmware/auth"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Scope is what one principal may see. The zero value sees nothing.
type Scope struct {
	// All is an admin's scope: everyone, every call.
	All bool
	// Agents in scope: the user's own agent and, for a manager, everyone
	// who reports to them, directly or through another manager.
	Agents map[string]bool
	// Extensions of those agents: calls from, to or ringing them are in
	// scope even when no agent leg was involved (a direct call).
	Extensions map[string]bool
	// Queues that an agent in scope serves (at any level).
	Queues map[string]bool
	// Team: a manager's scope. A manager answers for every caller of
	// the queues their team serves; an agent only for their own calls,
	// so a queue shows an agent its waiting count, not its callers.
	Team bool

	order []string // Agents in the site's order
}

// ScopeOf returns p's scope in site s.
//
// Admins see everything. An agent sees themself. A manager sees themself
// and their team: the agents whose reports_to is the manager's agent, and
// theirs in turn (transitively), because a manager of managers answers for
// the whole tree under them, and the site already forbids cycles. A login
// bound to no agent (a manager token, a user whose agent was deleted) sees
// no one: nothing in the site says whose team that would be. Without a
// site (s nil), a login sees its own agent only.
func ScopeOf(p auth.Principal, s *site.Site) Scope {
	if p.Role == auth.Admin {
		return Scope{All: true}
	}
	sc := Scope{Agents: map[string]bool{}, Extensions: map[string]bool{}, Queues: map[string]bool{}}
	if p.Agent == "" || !auth.Allows(p.Role, auth.Agent) {
		return sc
	}
	if s == nil {
		// No site to read teams from (a server built without one): the
		// login still is its own agent.
		sc.Agents[p.Agent] = true
		sc.order = []string{p.Agent}
		return sc
	}
	exists := slices.ContainsFunc(s.Agents, func(a site.Agent) bool { return a.ID == p.Agent })
	if !exists {
		return sc
	}
	sc.Agents[p.Agent] = true
	if p.Role == auth.Manager {
		sc.Team = true
		for changed := true; changed; {
			changed = false
			for _, a := range s.Agents {
				if !sc.Agents[a.ID] && a.ReportsTo != "" && sc.Agents[a.ReportsTo] {
					sc.Agents[a.ID] = true
					changed = true
				}
			}
		}
	}
	for _, a := range s.Agents {
		if sc.Agents[a.ID] {
			sc.order = append(sc.order, a.ID)
			if a.Extension != "" {
				sc.Extensions[a.Extension] = true
			}
		}
	}
	for _, q := range s.Queues {
		for _, m := range q.Agents {
			if sc.Agents[m.Agent] {
				sc.Queues[q.ID] = true
			}
		}
	}
	return sc
}

// Agent reports whether agent id is in scope.
func (sc Scope) Agent(id string) bool { return sc.All || sc.Agents[id] }

// Extension reports whether extension x is in scope.
func (sc Scope) Extension(x string) bool { return sc.All || sc.Extensions[x] }

// Queue reports whether queue id is in scope.
func (sc Scope) Queue(id string) bool { return sc.All || sc.Queues[id] }

// AgentIDs lists the agents in scope in the site's order; for an admin,
// every agent of s.
func (sc Scope) AgentIDs(s *site.Site) []string {
	if !sc.All {
		return slices.Clone(sc.order)
	}
	var ids []string
	if s != nil {
		for _, a := range s.Agents {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// CDR is the store's filter for the scope: nil (no filter) for an admin.
func (sc Scope) CDR() *store.CDRScope {
	if sc.All {
		return nil
	}
	c := &store.CDRScope{Agents: slices.Clone(sc.order)}
	for x := range sc.Extensions {
		c.Extensions = append(c.Extensions, x)
	}
	slices.Sort(c.Extensions)
	if sc.Team {
		for q := range sc.Queues {
			c.Queues = append(c.Queues, q)
		}
		slices.Sort(c.Queues)
	}
	return c
}

// forbiddenAgent is the 403 message for an agent outside the scope.
const forbiddenAgent = "you may see only yourself and the agents who report to you"

// LiveCall reports whether call c in progress is in scope: an agent in
// scope answered it, it is from, to or ringing an extension in scope, or
// it waits in (or was answered from) a queue in scope.
func (sc Scope) LiveCall(c flow.LiveCall) bool {
	return sc.All || sc.Agent(c.Agent) || sc.Queue(c.Queue) ||
		sc.Extension(c.Extension) || sc.Extension(c.Caller) || sc.Extension(c.Callee) ||
		sc.Extension(targetExtension(c.AnsweredBy))
}

// LiveCallScope is [Dashboard.CallScope] for the site st returns.
func LiveCallScope(st func() *site.Site) func(p auth.Principal, c flow.LiveCall) bool {
	return func(p auth.Principal, c flow.LiveCall) bool { return ScopeOf(p, st()).LiveCall(c) }
}
