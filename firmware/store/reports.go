package store

import (
	"context"
	"database/sql"
	"time"
)

// The managers' reports: numbers over a period, read from the queue log
// and the agent activity log. Periods are [from, to); an interval still
// open (an agent on a call now) counts up to now, never into the future.

// AgentTotals is one agent's numbers over a period.
type AgentTotals struct {
	Agent    string
	Offered  int // queue offers: answered + declined + missed
	Answered int // queue calls connected to the agent
	Declined int // offers the agent declined (confirm: pressed 2)
	Missed   int // offers that rang out
	// Talk and Wrapup are the time the agent spent on a call (any call
	// the ACD saw, queue or not) and in wrap-up, from the activity log.
	Talk   time.Duration
	Wrapup time.Duration
}

// AgentTotals returns the numbers of agents over [from, to), one entry per
// agent in agents' order (zeros for an agent with no activity). now bounds
// intervals that are still open.
func (s *Store) AgentTotals(ctx context.Context, agents []string, from, to, now time.Time) ([]AgentTotals, error) {
	out := make([]AgentTotals, len(agents))
	idx := map[string]int{}
	for i, a := range agents {
		out[i].Agent = a
		idx[a] = i
	}
	if len(agents) == 0 {
		return out, nil
	}
	in, args := inList(agents)
	q := `SELECT agent,
		coalesce(sum(event = 'CONNECT'), 0),
		coalesce(sum(event = 'RINGNOANSWER' AND data2 = 'declined'), 0),
		coalesce(sum(event = 'RINGNOANSWER' AND data2 != 'declined'), 0)
		FROM queue_log WHERE agent IN (` + in + `) AND time_ms >= ? AND time_ms < ?
		AND event IN ('CONNECT', 'RINGNOANSWER') GROUP BY agent`
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var a string
		var conn, decl, miss int
		if err := rows.Scan(&a, &conn, &decl, &miss); err != nil {
			return err
		}
		t := &out[idx[a]]
		t.Answered, t.Declined, t.Missed = conn, decl, miss
		t.Offered = conn + decl + miss
		return nil
	}, append(args, from.UnixMilli(), to.UnixMilli())...)
	if err != nil {
		return nil, s.errf("agent totals: queue log", err)
	}
	// Each activity row holds until the agent's next row; clip the
	// intervals to the period and sum them per state.
	end := min(to.UnixMilli(), now.UnixMilli())
	q = `WITH spans AS (
		SELECT agent, state, time_ms,
			coalesce(lead(time_ms) OVER (PARTITION BY agent ORDER BY time_ms, id), ?) AS next_ms
		FROM agent_activity WHERE agent IN (` + in + `) AND time_ms < ?)
		SELECT agent, state, sum(min(next_ms, ?) - max(time_ms, ?)) FROM spans
		WHERE state IN ('on_call', 'wrapup') AND next_ms > ? AND time_ms < ?
		GROUP BY agent, state`
	a2 := append([]any{end}, args...)
	a2 = append(a2, end, end, from.UnixMilli(), from.UnixMilli(), end)
	err = rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var a, state string
		var d int64
		if err := rows.Scan(&a, &state, &d); err != nil {
			return err
		}
		t := &out[idx[a]]
		if state == "on_call" {
			t.Talk = time.Duration(d) * time.Millisecond
		} else {
			t.Wrapup = time.Duration(d) * time.Millisecond
		}
		return nil
	}, a2...)
	if err != nil {
		return nil, s.errf("agent totals: activity", err)
	}
	return out, nil
}

// QueueTotals is one queue's numbers over a period.
type QueueTotals struct {
	Queue     string
	Offered   int // callers who joined
	Answered  int // callers connected to an agent
	Abandoned int // callers who hung up waiting
	// InService is how many callers were answered within the queue's
	// service level target.
	InService int
	Target    time.Duration
	// BySkill and Widened split the answered callers who needed skills:
	// answered by an agent with them, or after a widening step let in one
	// without (CONNECT's fourth field, package acd's skills.go).
	BySkill, Widened int
}

// ServiceLevel is the share of answered callers answered within the
// target, in percent (0 when none was answered); the queue statistics
// API computes it the same way.
func (q QueueTotals) ServiceLevel() float64 {
	if q.Answered == 0 {
		return 0
	}
	return float64(int64(1000*float64(q.InService)/float64(q.Answered)+0.5)) / 10
}

// QueueTarget names a queue and its service level target.
type QueueTarget struct {
	Queue  string
	Target time.Duration
}

// QueueTotals returns the numbers of queues over [from, to), one entry per
// queue in order.
func (s *Store) QueueTotals(ctx context.Context, queues []QueueTarget, from, to time.Time) ([]QueueTotals, error) {
	out := make([]QueueTotals, len(queues))
	for i, qt := range queues {
		out[i] = QueueTotals{Queue: qt.Queue, Target: qt.Target}
		// CONNECT's first field is the caller's wait in whole seconds.
		err := s.r.QueryRowContext(ctx, `SELECT
			coalesce(sum(event = 'ENTERQUEUE'), 0),
			coalesce(sum(event = 'CONNECT'), 0),
			coalesce(sum(event = 'ABANDON'), 0),
			coalesce(sum(event = 'CONNECT' AND CAST(data1 AS INTEGER) <= ?), 0),
			coalesce(sum(event = 'CONNECT' AND data4 = 'skill'), 0),
			coalesce(sum(event = 'CONNECT' AND data4 = 'widened'), 0)
			FROM queue_log WHERE queue = ? AND time_ms >= ? AND time_ms < ?`,
			int64(qt.Target/time.Second), qt.Queue, from.UnixMilli(), to.UnixMilli()).
			Scan(&out[i].Offered, &out[i].Answered, &out[i].Abandoned, &out[i].InService, &out[i].BySkill, &out[i].Widened)
		if err != nil {
			return nil, s.errf("queue totals "+qt.Queue, err)
		}
	}
	return out, nil
}

// Activity is one line of an agent's timeline.
type Activity struct {
	Time  time.Time
	Agent string
	// Kind is "status" (logged in or out, available, unavailable),
	// "state" (offered, on a call, wrap-up, idle), or from the queue log
	// "answered", "declined", "missed".
	Kind   string
	Status string // status rows
	State  string // state rows
	Reason string // an unavailable reason
	Source string // who changed the status: web, button, api, ...
	Queue  string // queue log rows
	CallID string // queue log rows
}

// AgentTimeline returns what happened to agents over [from, to), oldest
// first: their status changes (with reasons) and state changes from the
// activity log, and their answers, declines and missed offers from the
// queue log. An activity row whose status did not change is a state
// change; the first row of an agent in the period is both.
func (s *Store) AgentTimeline(ctx context.Context, agents []string, from, to time.Time, limit int) ([]Activity, error) {
	if len(agents) == 0 {
		return nil, nil
	}
	if limit <= 0 {
		limit = 5000
	}
	in, args := inList(agents)
	q := `WITH act AS (
			SELECT id, time_ms, agent, status, state, reason, source,
				lag(status) OVER (PARTITION BY agent ORDER BY time_ms, id) AS prev_status,
				lag(state) OVER (PARTITION BY agent ORDER BY time_ms, id) AS prev_state
			FROM agent_activity WHERE agent IN (` + in + `) AND time_ms < ?)
		SELECT time_ms, id, agent, 'status', status, '', reason, source, '', '' FROM act
			WHERE time_ms >= ? AND (prev_status IS NULL OR prev_status != status)
		UNION ALL
		SELECT time_ms, id, agent, 'state', '', state, '', source, '', '' FROM act
			WHERE time_ms >= ? AND prev_state IS NOT NULL AND prev_state != state
		UNION ALL
		SELECT time_ms, id, agent,
			CASE WHEN event = 'CONNECT' THEN 'answered' WHEN data2 = 'declined' THEN 'declined' ELSE 'missed' END,
			'', '', '', '', queue, call_id
			FROM queue_log WHERE agent IN (` + in + `) AND event IN ('CONNECT', 'RINGNOANSWER')
			AND time_ms >= ? AND time_ms < ?
		ORDER BY 1, 2 LIMIT ?`
	a := append([]any{}, args...)
	a = append(a, to.UnixMilli(), from.UnixMilli(), from.UnixMilli())
	a = append(a, args...)
	a = append(a, from.UnixMilli(), to.UnixMilli(), limit)
	var out []Activity
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var x Activity
		var t, id int64
		if err := rows.Scan(&t, &id, &x.Agent, &x.Kind, &x.Status, &x.State, &x.Reason, &x.Source, &x.Queue, &x.CallID); err != nil {
			return err
		}
		x.Time = time.UnixMilli(t).UTC()
		out = append(out, x)
		return nil
	}, a...)
	if err != nil {
		return nil, s.errf("agent timeline", err)
	}
	return out, nil
}

// Span is a stretch of time an agent spent in one status and state.
type Span struct {
	Agent    string
	From, To time.Time
	Status   string
	State    string
	Reason   string
}

// AgentSpans returns each agent's stretches of status and state over
// [from, to), clipped to the period and to now, oldest first per agent,
// agents in order. A stretch begun before from (the agent was on a call
// when the period began) starts at from.
func (s *Store) AgentSpans(ctx context.Context, agents []string, from, to, now time.Time) ([]Span, error) {
	if len(agents) == 0 {
		return nil, nil
	}
	in, args := inList(agents)
	end := min(to.UnixMilli(), now.UnixMilli())
	q := `WITH spans AS (
		SELECT agent, status, state, reason, time_ms,
			coalesce(lead(time_ms) OVER (PARTITION BY agent ORDER BY time_ms, id), ?) AS next_ms, id
		FROM agent_activity WHERE agent IN (` + in + `) AND time_ms < ?)
		SELECT agent, status, state, reason, max(time_ms, ?), min(next_ms, ?) FROM spans
		WHERE next_ms > ? AND time_ms < ? ORDER BY agent, time_ms, id`
	a := append([]any{end}, args...)
	a = append(a, end, from.UnixMilli(), end, from.UnixMilli(), end)
	byAgent := map[string][]Span{}
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var sp Span
		var f, t int64
		if err := rows.Scan(&sp.Agent, &sp.Status, &sp.State, &sp.Reason, &f, &t); err != nil {
			return err
		}
		sp.From, sp.To = time.UnixMilli(f).UTC(), time.UnixMilli(t).UTC()
		byAgent[sp.Agent] = append(byAgent[sp.Agent], sp)
		return nil
	}, a...)
	if err != nil {
		return nil, s.errf("agent spans", err)
	}
	var out []Span
	for _, ag := range agents {
		out = append(out, byAgent[ag]...)
	}
	return out, nil
}
