package main

import (
	"context"
	"log/slog"
	"time"

	"ringbox/board"
	"ringbox/board/sim"
	"ringbox/firmware/acd"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/store"
)

// runBoard connects the queue-login buttons and LEDs to the ACD: a press
// toggles the button's agent, and each agent's LED follows their state.
func runBoard(ctx context.Context, brd *sim.Board, eng *acd.Engine, cfg *config.Store, bus *events.Bus, log *slog.Logger) {
	agentOf := func(n int) (string, bool) {
		for _, a := range cfg.Site().Agents {
			if a.Button == n {
				return a.ID, true
			}
		}
		return "", false
	}
	led := func(id string) {
		for _, a := range cfg.Site().Agents {
			if a.ID != id || a.Button == 0 || brd.LED(a.Button) == nil {
				continue
			}
			info, err := eng.Agent(ctx, id)
			if err != nil {
				return
			}
			brd.LED(a.Button).Set(ledPattern(info))
		}
	}
	sub := bus.Subscribe(256, events.Filter("agent.", "config.changed"))
	defer sub.Close()
	for _, a := range cfg.Site().Agents {
		led(a.ID)
	}
	presses := brd.Events(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case p, ok := <-presses:
			if !ok {
				return
			}
			id, ok := agentOf(p.Button)
			if !ok {
				log.Info("button has no agent", "button", p.Button)
				continue
			}
			if err := eng.Button(id, p.Kind == board.Long); err != nil {
				log.Warn("button", "button", p.Button, "agent", id, "err", err)
			}
		case ev := <-sub.C():
			if m, ok := ev.Data.(map[string]any); ok {
				if id, ok := m["agent"].(string); ok {
					led(id)
					continue
				}
			}
			for _, a := range cfg.Site().Agents {
				led(a.ID)
			}
		}
	}
}

// ledPattern is what an agent's LED shows: off logged out, on available,
// slow blink unavailable or in wrap-up, fast blink while offered a call.
func ledPattern(a acd.AgentInfo) board.Pattern {
	switch {
	case a.Status == acd.LoggedOut:
		return board.Off
	case a.State == acd.Offered:
		return board.FastBlink
	case a.Status != acd.Available || a.State == acd.Wrapup:
		return board.SlowBlink
	}
	return board.On
}

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
