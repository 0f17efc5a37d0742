package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
)

// EndInterruptedCalls turns the calls that were in progress when the
// process died (rows CallStarted left without a CDR) into CDRs with cause
// "restart", hung up by the system, and deletes them. Call it once at
// start, before any call is taken.
//
// A call ends at the last heartbeat the writer recorded while calls were
// up, which is at most [Options.AliveEvery] before the process died, or at
// its answer (else start) time when the heartbeat is older: the billable
// time is never more than the box can vouch for.
func (s *Store) EndInterruptedCalls(ctx context.Context) ([]cdr.Record, error) {
	var beat sql.NullInt64
	err := s.w.QueryRowContext(ctx, `SELECT at_ms FROM heartbeat WHERE id = 1`).Scan(&beat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.errf("read heartbeat", err)
	}
	last := fromMS(beat)
	var recs []cdr.Record
	err = rowsEach(ctx, s.w, `SELECT call_id, caller, caller_name, callee, direction, trunk, number_sent, start_ms, answer_ms
		FROM calls_in_progress ORDER BY start_ms, call_id`, func(r *sql.Rows) error {
		var c cdr.Record
		var start int64
		var answer sql.NullInt64
		if err := r.Scan(&c.CallID, &c.Caller, &c.CallerName, &c.Callee, &c.Direction, &c.Trunk, &c.NumberSent, &start, &answer); err != nil {
			return err
		}
		c.Start, c.Answer = time.UnixMilli(start).UTC(), fromMS(answer)
		c.End = c.Start
		if c.Answer.After(c.End) {
			c.End = c.Answer
		}
		if last.After(c.End) {
			c.End = last
		}
		if !c.Answer.IsZero() {
			c.Billable = c.End.Sub(c.Answer).Truncate(time.Second)
		}
		c.Cause, c.HangupBy = call.Restart.String(), cdr.BySystem
		recs = append(recs, c)
		return nil
	})
	if err != nil {
		return nil, s.errf("read calls in progress", err)
	}
	if len(recs) > 0 {
		batch := make([]cdrReq, len(recs))
		for i, r := range recs {
			batch[i] = cdrReq{op: opRecord, r: r}
		}
		// One transaction: each CDR and the deletion of its row.
		if err := s.insertCDRs(ctx, batch); err != nil {
			return nil, fmt.Errorf("end calls interrupted by a restart: %w", err)
		}
	}
	// A heartbeat from this run's predecessor must not end the next
	// run's calls (the clock may even have been set back since).
	if _, err := s.w.ExecContext(ctx, `DELETE FROM heartbeat`); err != nil {
		return recs, s.errf("clear heartbeat", err)
	}
	return recs, nil
}
