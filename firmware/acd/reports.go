package acd

import (
	"context"
	"fmt"
	"time"

	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

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
