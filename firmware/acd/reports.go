package acd

import (
	"context"
	"fmt"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Scope says which agents p may see and change: nil means everyone (an
// admin); an agent sees themself, a manager themself and the agents who
// report to them, directly or through other managers.
func (e *Engine) Scope(p auth.Principal) map[string]bool {
	if p.Role == auth.Admin {
		return nil
	}
	s := map[string]bool{}
	if p.Agent != "" {
		s[p.Agent] = true
	}
	if p.Role == auth.Manager && p.Agent != "" {
		agents := e.cfg.Config.Site().Agents
		// Reports of reports too, until nothing changes.
		for changed := true; changed; {
			changed = false
			for _, a := range agents {
				if !s[a.ID] && a.ReportsTo != "" && s[a.ReportsTo] {
					s[a.ID] = true
					changed = true
				}
			}
		}
	}
	return s
}

// Site is the configuration the engine runs now; the web server reads
// managers' teams from it.
func (e *Engine) Site() *site.Site { return e.cfg.Config.Site() }

// Stats computes queue id's statistics over [from, to) from the stored
// queue log, so they survive restarts.
func (e *Engine) Stats(ctx context.Context, id string, from, to time.Time) (Stats, error) {
	var target time.Duration
	found := false
	for _, q := range e.cfg.Config.Site().Queues {
		if q.ID == id {
			target, found = q.ServiceTarget(), true
		}
	}
	if !found {
		return Stats{}, fmt.Errorf("stats %s: %w", id, ErrNoQueue)
	}
	entries, err := e.cfg.Store.ListQueueLog(ctx, from, to, id)
	if err != nil {
		return Stats{}, fmt.Errorf("stats %s: read the queue log: %w", id, err)
	}
	st := ComputeStats(id, entries, target)
	st.From, st.To = from, to
	return st, nil
}

// QueueLog returns the queue log over [from, to), of queue when not "".
func (e *Engine) QueueLog(ctx context.Context, from, to time.Time, queue string) ([]store.QueueLogEntry, error) {
	entries, err := e.cfg.Store.ListQueueLog(ctx, from, to, queue)
	if err != nil {
		return nil, fmt.Errorf("read the queue log: %w", err)
	}
	return entries, nil
}
