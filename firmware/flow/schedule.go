package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// ErrUnknownSchedule is returned for a schedule id the site does not have.
var ErrUnknownSchedule = errors.New("flow: unknown schedule")

// override forces a schedule open or closed until its own state next
// changes (until), or until cleared when it never changes.
type override struct {
	open  bool
	until time.Time // zero: until cleared
	set   time.Time
	by    string
}

// ScheduleState is a schedule's state as the API shows it.
type ScheduleState struct {
	Schedule  string     `json:"schedule"`
	Open      bool       `json:"open"`      // what routing uses now
	Scheduled bool       `json:"scheduled"` // what the weekly ranges and holidays say
	Override  string     `json:"override"`  // "open", "closed" or "auto"
	Until     *time.Time `json:"until,omitempty"`
	SetBy     string     `json:"set_by,omitempty"`
}

func findSchedule(s *site.Site, id string) *site.Schedule {
	for i := range s.Schedules {
		if s.Schedules[i].ID == id {
			return &s.Schedules[i]
		}
	}
	return nil
}

// nextChange is the first minute after from at which the schedule's own
// state differs from its state at from; zero when it does not change
// within a year (a schedule that is always closed, say). Minutes are
// walked for eight days (every weekly edge, across DST), then midnights
// for a year (holidays).
func nextChange(s *site.Schedule, from time.Time, loc *time.Location) time.Time {
	cur := s.OpenAt(from, loc)
	t := from.Truncate(time.Minute)
	for i := 0; i < 8*24*60; i++ {
		t = t.Add(time.Minute)
		if s.OpenAt(t, loc) != cur {
			return t
		}
	}
	l := from.In(loc)
	for d := 9; d <= 400; d++ {
		t := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, loc)
		if s.OpenAt(t, loc) != cur {
			return t
		}
	}
	return time.Time{}
}

// scheduleOpen reports whether schedule id is open at now, an override
// included.
func (e *Engine) scheduleOpen(snap *config.Snapshot, id string, now time.Time) bool {
	s := findSchedule(snap.Site, id)
	if s == nil {
		return false
	}
	if o, ok := e.activeOverride(id, now); ok {
		return o.open
	}
	return s.OpenAt(now, snap.Loc)
}

func (e *Engine) activeOverride(id string, now time.Time) (override, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.overrides[id]
	if !ok {
		return override{}, false
	}
	if !o.until.IsZero() && !now.Before(o.until) {
		delete(e.overrides, id) // the schedule changed state: back to auto
		return override{}, false
	}
	return o, true
}

// OverrideStore keeps overrides across restarts (package store implements
// it); nil keeps them in memory only.
type OverrideStore interface {
	SaveOverride(ctx context.Context, schedule string, open bool, until, set time.Time, by string) error
	DeleteOverride(ctx context.Context, schedule string) error
}

// RestoreOverride puts back an override saved before a restart; one whose
// time has passed is ignored.
func (e *Engine) RestoreOverride(schedule string, open bool, until, set time.Time, by string) {
	if !until.IsZero() && !time.Now().Before(until) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.overrides == nil {
		e.overrides = map[string]override{}
	}
	e.overrides[schedule] = override{open: open, until: until, set: set, by: by}
}

func (e *Engine) persist(ctx context.Context, schedule string, o *override) {
	if e.OverrideStore == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	if o == nil {
		err = e.OverrideStore.DeleteOverride(ctx, schedule)
	} else {
		err = e.OverrideStore.SaveOverride(ctx, schedule, o.open, o.until, o.set, o.by)
	}
	if err != nil {
		e.logger().Error("schedule override not saved", "schedule", schedule, "err", err)
	}
}

// SetOverride forces schedule open or closed until the schedule's own
// state next changes (the next opening or closing time, or a holiday), or
// until ClearOverride. Overrides are saved through OverrideStore (so a
// restart keeps them) and each change is written to the audit log.
// actor names who did it, for the audit log.
func (e *Engine) SetOverride(ctx context.Context, actor, schedule string, open bool) error {
	snap := e.Config.Current()
	s := findSchedule(snap.Site, schedule)
	if s == nil {
		return fmt.Errorf("override %s: %w", schedule, ErrUnknownSchedule)
	}
	now := time.Now()
	o := override{open: open, until: nextChange(s, now, snap.Loc), set: now, by: actor}
	e.mu.Lock()
	if e.overrides == nil {
		e.overrides = map[string]override{}
	}
	e.overrides[schedule] = o
	e.mu.Unlock()
	e.persist(ctx, schedule, &o)
	state := "closed"
	if open {
		state = "open"
	}
	detail := state
	if !o.until.IsZero() {
		detail += " until " + o.until.In(snap.Loc).Format(time.RFC3339)
	}
	e.logger().Info("schedule override", "schedule", schedule, "state", state, "until", o.until, "by", actor)
	e.audit(ctx, actor, "schedule.override", schedule, detail)
	e.publish(events.ScheduleOverride{Schedule: schedule, Override: state})
	return nil
}

// ClearOverride returns schedule to its weekly ranges and holidays.
func (e *Engine) ClearOverride(ctx context.Context, actor, schedule string) error {
	if findSchedule(e.Config.Site(), schedule) == nil {
		return fmt.Errorf("clear override %s: %w", schedule, ErrUnknownSchedule)
	}
	e.mu.Lock()
	delete(e.overrides, schedule)
	e.mu.Unlock()
	e.persist(ctx, schedule, nil)
	e.logger().Info("schedule override cleared", "schedule", schedule, "by", actor)
	e.audit(ctx, actor, "schedule.override", schedule, "auto")
	e.publish(events.ScheduleOverride{Schedule: schedule, Override: "auto"})
	return nil
}

func (e *Engine) audit(ctx context.Context, actor, action, object, detail string) {
	if e.Audit == nil {
		return
	}
	if err := e.Audit(context.WithoutCancel(ctx), actor, action, object, detail); err != nil {
		e.logger().Error("audit", "action", action, "object", object, "err", err)
	}
}

// ScheduleStateAt reports schedule's state at now.
func (e *Engine) ScheduleStateAt(schedule string, now time.Time) (ScheduleState, error) {
	snap := e.Config.Current()
	s := findSchedule(snap.Site, schedule)
	if s == nil {
		return ScheduleState{}, fmt.Errorf("schedule %s: %w", schedule, ErrUnknownSchedule)
	}
	st := ScheduleState{Schedule: schedule, Scheduled: s.OpenAt(now, snap.Loc), Override: "auto"}
	st.Open = st.Scheduled
	if o, ok := e.activeOverride(schedule, now); ok {
		st.Open, st.Override, st.SetBy = o.open, "closed", o.by
		if o.open {
			st.Override = "open"
		}
		if !o.until.IsZero() {
			u := o.until.In(snap.Loc)
			st.Until = &u
		}
	}
	return st, nil
}

// toggleOverride flips schedule: an active override is cleared, else the
// schedule is forced to the opposite of its state now. It returns the
// state routing uses afterwards.
func (e *Engine) toggleOverride(ctx context.Context, actor, schedule string) (bool, error) {
	st, err := e.ScheduleStateAt(schedule, time.Now())
	if err != nil {
		return false, err
	}
	if st.Override != "auto" {
		if err := e.ClearOverride(ctx, actor, schedule); err != nil {
			return false, err
		}
		return st.Scheduled, nil
	}
	return !st.Open, e.SetOverride(ctx, actor, schedule, !st.Open)
}
