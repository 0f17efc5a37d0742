package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ScheduleOverride is a schedule forced open or closed by hand.
type ScheduleOverride struct {
	Schedule string
	Open     bool
	Until    time.Time // zero: until cleared
	Set      time.Time
	By       string
}

// SaveScheduleOverride stores (or replaces) the override of a schedule.
func (s *Store) SaveScheduleOverride(ctx context.Context, o ScheduleOverride) error {
	open := 0
	if o.Open {
		open = 1
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO schedule_overrides (schedule, open, until_ms, set_ms, set_by) VALUES (?,?,?,?,?)
		ON CONFLICT (schedule) DO UPDATE SET open = excluded.open, until_ms = excluded.until_ms,
		set_ms = excluded.set_ms, set_by = excluded.set_by`,
		o.Schedule, open, ms(o.Until), o.Set.UnixMilli(), o.By)
	if err != nil {
		return fmt.Errorf("store: save override of schedule %s in %s: %w", o.Schedule, s.path, err)
	}
	return nil
}

// DeleteScheduleOverride removes a schedule's override; none is not an error.
func (s *Store) DeleteScheduleOverride(ctx context.Context, schedule string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM schedule_overrides WHERE schedule = ?`, schedule); err != nil {
		return fmt.Errorf("store: clear override of schedule %s in %s: %w", schedule, s.path, err)
	}
	return nil
}

// LoadScheduleOverrides returns every stored override.
func (s *Store) LoadScheduleOverrides(ctx context.Context) ([]ScheduleOverride, error) {
	var out []ScheduleOverride
	err := rowsEach(ctx, s.r, `SELECT schedule, open, until_ms, set_ms, set_by FROM schedule_overrides ORDER BY schedule`, func(r *sql.Rows) error {
		var o ScheduleOverride
		var open int
		var until sql.NullInt64
		var set int64
		if err := r.Scan(&o.Schedule, &open, &until, &set, &o.By); err != nil {
			return err
		}
		o.Open, o.Until, o.Set = open == 1, fromMS(until), time.UnixMilli(set).UTC()
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, s.errf("load schedule overrides", err)
	}
	return out, nil
}
