// Package panel runs the box's front panel: the queue-login buttons and
// their LEDs, the queue LEDs, and the service button.
//
// A button belongs to the agent whose site entry names it
// (agents[].button); a short press logs the agent in or out of all their
// queues, a long press toggles unavailable (logging a logged-out agent in
// unavailable). Each agent's LED follows their status and state.
//
// A queue LED (site queues[].led) is off while nobody waits in its queue,
// on while callers wait, and blinks fast once the longest-waiting caller
// has waited past the queue's service level.
//
// The service button held board.ServiceHold raises a factory-reset
// request ([Reset]); the status LED (or, on a board without one, every
// button LED) double-blinks until an admin confirms or cancels it in the
// web page, or it expires.
package panel

import (
	"context"
	"log/slog"
	"time"

	"ringbox/board"
	"ringbox/firmware/acd"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// Agents is the ACD as the panel uses it.
type Agents interface {
	Button(agentID string, long bool) error
	Agent(ctx context.Context, id string) (acd.AgentInfo, error)
	Queues(ctx context.Context) ([]acd.QueueInfo, error)
}

// statusBoard is a board with a status LED (board/hw).
type statusBoard interface {
	StatusLED() board.LED
}

// Panel connects a board's buttons and LEDs to the ACD.
type Panel struct {
	Board  board.Board
	Agents Agents
	Config *config.Store
	Bus    *events.Bus
	Reset  *Reset       // nil: the service button does nothing
	Logger *slog.Logger // nil: slog.Default()
}

// Run connects brd's buttons and LEDs to the agents until ctx ends; the
// service button does nothing.
func Run(ctx context.Context, brd board.Board, agents Agents, cfg *config.Store, bus *events.Bus, log *slog.Logger) {
	(&Panel{Board: brd, Agents: agents, Config: cfg, Bus: bus, Logger: log}).Run(ctx)
}

// queueTick is how often queue LEDs are looked at while callers wait:
// the service level is crossed without an event.
const queueTick = time.Second

// Run runs the panel until ctx ends.
func (p *Panel) Run(ctx context.Context) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("pkg", "panel")
	brd, cfg := p.Board, p.Config
	var status board.LED
	if sb, ok := brd.(statusBoard); ok {
		status = sb.StatusLED()
	}
	resetPending := false

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
			info, err := p.Agents.Agent(ctx, id)
			if err != nil {
				return
			}
			if resetPending && status == nil {
				return // the button LEDs show the reset request
			}
			brd.LED(a.Button).Set(Pattern(info))
		}
	}
	all := func() {
		for _, a := range cfg.Site().Agents {
			led(a.ID)
		}
	}
	// showReset shows a pending factory reset, or stops showing it.
	showReset := func(pending bool) {
		resetPending = pending
		switch {
		case status != nil && pending:
			status.Set(board.DoubleBlink)
		case status != nil:
			status.Set(board.On) // the box is up
		case pending:
			for _, b := range brd.Buttons() {
				if l := brd.LED(b.N); l != nil {
					l.Set(board.DoubleBlink)
				}
			}
		default:
			all()
		}
	}

	// Queue LEDs, refreshed on queue events and every queueTick while
	// anyone waits.
	var tick <-chan time.Time
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	queues := func() {
		if brd.QueueLEDs() == 0 {
			return
		}
		infos, err := p.Agents.Queues(ctx)
		if err != nil {
			return
		}
		waiting := QueueLEDs(brd, cfg, infos)
		switch {
		case waiting && ticker == nil:
			ticker = time.NewTicker(queueTick)
			tick = ticker.C
		case !waiting && ticker != nil:
			ticker.Stop()
			ticker, tick = nil, nil
		}
	}

	sub := p.Bus.Subscribe(256, events.Filter("agent.", "queue.", "config.changed", "board.factory_reset"))
	defer sub.Close()
	if p.Reset != nil {
		_, pending := p.Reset.Pending()
		showReset(pending)
	} else {
		showReset(false)
	}
	all()
	queues()
	presses := brd.Events(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case pr, ok := <-presses:
			if !ok {
				return
			}
			if pr.Button == 0 {
				if pr.Kind != board.Service {
					continue // only holding the service button means anything
				}
				if p.Reset == nil {
					log.Warn("service button held, but factory reset is not available")
					continue
				}
				log.Warn("service button held: factory reset requested; an admin must confirm it in the web page")
				p.Reset.Raise()
				continue
			}
			id, ok := agentOf(pr.Button)
			if !ok {
				log.Info("button has no agent", "button", pr.Button)
				continue
			}
			if err := p.Agents.Button(id, pr.Kind == board.Long); err != nil {
				log.Warn("button", "button", pr.Button, "agent", id, "err", err)
			}
		case <-tick:
			queues()
		case ev := <-sub.C():
			switch d := ev.Data.(type) {
			case events.AgentStatus:
				led(d.Agent)
			case events.AgentState:
				led(d.Agent)
			case events.FactoryReset:
				showReset(d.State == "requested")
			case events.QueueCaller:
				queues()
			default:
				all()
				queues()
			}
		}
	}
}

// QueueLEDs sets each queue LED from the queues' waiting callers and
// reports whether anyone waits in a queue with an LED.
func QueueLEDs(brd board.Board, cfg *config.Store, infos []acd.QueueInfo) (waiting bool) {
	byID := make(map[string]*acd.QueueInfo, len(infos))
	for i := range infos {
		byID[infos[i].ID] = &infos[i]
	}
	s := cfg.Site()
	for i := range s.Queues {
		q := &s.Queues[i]
		l := brd.QueueLED(q.LED)
		if q.LED == 0 || l == nil {
			continue
		}
		p := QueuePattern(q, byID[q.ID])
		waiting = waiting || p != board.Off
		l.Set(p)
	}
	return waiting
}

// QueuePattern is what queue q's LED shows (info nil: nobody waits): off
// while nobody waits, on while callers wait, fast blink once the
// longest-waiting caller has waited past the service level.
func QueuePattern(q *site.Queue, info *acd.QueueInfo) board.Pattern {
	if info == nil || len(info.Callers) == 0 {
		return board.Off
	}
	oldest := 0.0
	for _, c := range info.Callers {
		oldest = max(oldest, c.Wait)
	}
	if time.Duration(oldest*float64(time.Second)) > q.ServiceTarget() {
		return board.FastBlink
	}
	return board.On
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
