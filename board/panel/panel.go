// Package panel runs the box's front panel: the queue-login buttons and
// their LEDs. A button belongs to the agent whose site entry names it
// (agents[].button); a short press logs the agent in or out of all their
// queues, a long press toggles unavailable (logging a logged-out agent in
// unavailable). Each agent's LED follows their status and state.
package panel

import (
	"context"
	"log/slog"

	"ringbox/board"
	"ringbox/firmware/acd"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
)

// Agents is the ACD as the panel uses it.
type Agents interface {
	Button(agentID string, long bool) error
	Agent(ctx context.Context, id string) (acd.AgentInfo, error)
}

// Run connects brd's buttons and LEDs to the agents until ctx ends.
func Run(ctx context.Context, brd board.Board, agents Agents, cfg *config.Store, bus *events.Bus, log *slog.Logger) {
	log = log.With("pkg", "panel")
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
			info, err := agents.Agent(ctx, id)
			if err != nil {
				return
			}
			brd.LED(a.Button).Set(Pattern(info))
		}
	}
	all := func() {
		for _, a := range cfg.Site().Agents {
			led(a.ID)
		}
	}
	sub := bus.Subscribe(256, events.Filter("agent.", "config.changed"))
	defer sub.Close()
	all()
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
			if err := agents.Button(id, p.Kind == board.Long); err != nil {
				log.Warn("button", "button", p.Button, "agent", id, "err", err)
			}
		case ev := <-sub.C():
			switch p := ev.Data.(type) {
			case events.AgentStatus:
				led(p.Agent)
			case events.AgentState:
				led(p.Agent)
			default:
				all()
			}
		}
	}
}

// Pattern is what an agent's LED shows: off logged out, on available,
// slow blink unavailable or in wrap-up, fast blink while offered a call.
func Pattern(a acd.AgentInfo) board.Pattern {
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
