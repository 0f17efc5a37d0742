package main

import (
	"context"
	"log/slog"
	"time"

	"ringbox/firmware/flow"
	"ringbox/firmware/store"
)

// overrides saves the flow engine's schedule overrides in the store.
type overrides struct{ st *store.Store }

func (o overrides) SaveOverride(ctx context.Context, schedule string, open bool, until, set time.Time, by string) error {
	return o.st.SaveScheduleOverride(ctx, store.ScheduleOverride{Schedule: schedule, Open: open, Until: until, Set: set, By: by})
}

func (o overrides) DeleteOverride(ctx context.Context, schedule string) error {
	return o.st.DeleteScheduleOverride(ctx, schedule)
}

// restoreOverrides puts the saved schedule overrides back after a restart.
func restoreOverrides(ctx context.Context, st *store.Store, fl *flow.Engine, log *slog.Logger) {
	saved, err := st.LoadScheduleOverrides(ctx)
	if err != nil {
		log.Error("schedule overrides not restored", "err", err)
		return
	}
	for _, o := range saved {
		fl.RestoreOverride(o.Schedule, o.Open, o.Until, o.Set, o.By)
	}
}
