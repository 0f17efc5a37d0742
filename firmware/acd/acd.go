// Package acd runs call queues and their agents.
//
// One goroutine owns all queue and agent state; [Engine] methods send it
// commands. Every change is published as an event ("agent.status",
// "agent.state", "queue.caller", "queue.empty_warning",
// "agent.max_no_answer") and every agent change is a row in the agent
// activity log; every caller event is a line of the Asterisk-compatible
// queue log in the store, from which statistics are computed, so they
// survive restarts.
//
// # Goroutines
//
// Each caller's [Engine.RunQueue] runs on the caller's own goroutine: it
// plays hold music, comfort messages and announcements, watches the exit
// key and the maximum wait, and asks the actor to join, leave or report
// the caller's position. Each offer to an agent (dialling the agent's
// phones, the confirm prompt) runs on a goroutine of its own and reports
// the outcome to the actor. Only the actor decides who gets whom, so a
// caller is connected at most once and an agent gets at most one offer.
//
// # Agents
//
// An agent has a status (what they chose: logged_out, available,
// unavailable with a reason and optional return time) and a state (what is
// happening: idle, offered, on_call, wrapup), the same in every queue they
// serve. Status is persisted; state starts idle after a restart. An agent is
// offered a call only when available, idle, past wrap-up, within working
// hours, and not on any other call (package presence: desk or mobile).
//
// # Present agents and empty queues
//
// A queue is empty when none of its agents is logged in (available or
// unavailable) within working hours. Busy and unavailable agents count as
// present: their callers wait. A caller joining an empty queue, and every
// caller waiting when the last present agent leaves, goes to on_empty with
// EXITEMPTY; without on_empty they wait (up to max_wait).
//
// # Time
//
// Wrap-up, max-wait, retry, level and ring timeouts are plain timers; tests
// run them under testing/synctest.
package acd

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/audio/moh"
	"ringbox/audio/prompts"
	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/presence"
	"ringbox/firmware/ring"
	"ringbox/firmware/store"
)

// Store is what the ACD keeps in the database; *store.Store implements it.
type Store interface {
	InsertQueueLog(ctx context.Context, e store.QueueLogEntry) error
	ListQueueLog(ctx context.Context, from, to time.Time, queue string) ([]store.QueueLogEntry, error)
	InsertAgentActivity(ctx context.Context, a store.AgentActivity) error
	SaveAgentStatus(ctx context.Context, a store.AgentStatus) error
	LoadAgentStatuses(ctx context.Context) ([]store.AgentStatus, error)
}

// Config wires an Engine.
type Config struct {
	Config *config.Store
	// Dialer rings agents when a QueueCall brings none (tests).
	Dialer call.Dialer
	// Ringer is the box's ringing engine, shared with the flow; nil: one
	// with the built-in prompts.
	Ringer *ring.Ringer
	// Presence is who is on a call; it must publish on Bus, so that the
	// engine learns when someone is free again. nil: a private tracker.
	Presence *presence.Tracker
	Bus      *events.Bus  // nil: a private bus
	Store    Store        // required
	MOH      *moh.Hub     // nil: callers hear ringback
	Logger   *slog.Logger // nil: slog.Default()
	// Lang is the prompt language; nil: the site's system.language.
	Lang func() string
	// Prompt returns an uploaded or built-in prompt (comfort messages);
	// nil: built-in prompts only (audio/prompts.Get).
	Prompt func(lang, id string, rate int) ([]int16, bool)
	// Rand picks for the random strategy; nil: math/rand/v2.
	Rand func(n int) int
	// Alive, when set, is called by the actor loop at least every
	// AliveEvery (0: 5s): the watchdog's proof that the actor is not
	// stuck in a command. nil: no probe.
	Alive      func()
	AliveEvery time.Duration
}

// Sources of an agent change, as the activity log records them.
const (
	SourceAPI     = "api"
	SourceButton  = "button"
	SourceFeature = "feature_code"
	SourceHours   = "schedule"
	SourceSystem  = "system"
)

// Errors of agent commands.
var (
	ErrNoAgent  = errors.New("acd: no such agent")
	ErrStopped  = errors.New("acd: engine not running")
	ErrNotWrap  = errors.New("acd: agent is not in wrap-up")
	ErrBadInput = errors.New("acd: bad request")
	ErrNoQueue  = errors.New("acd: no such queue")
)

// Engine is the ACD. Create it with [New], then [Engine.Run] it.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	pres   *presence.Tracker
	bus    *events.Bus
	ringer *ring.Ringer

	blocked atomic.Pointer[map[string]string] // agent id -> why not ringable (Blocked)

	cmds    chan command
	results chan offerResult
	started chan struct{} // closed when Run's actor loop starts
	stopped chan struct{} // closed when the actor loop ends
	ctx     context.Context
	offers  sync.WaitGroup // offer goroutines

	// Owned by the actor goroutine.
	agents  map[string]*agent
	queues  map[string]*queue
	waiting []*caller // every waiting caller, longest waiting first
	snap    *config.Snapshot
	members map[string][]member // queue id -> its agents, for snap
	agentQs map[string][]string // agent id -> queue ids, for snap
	hoursAt time.Time           // the minute inHours was computed for
	offerID uint64
	wake    *time.Timer
	needBuf []skillLevel // plan's scratch: a caller's skills (skills.go)
}

// New returns an engine; nothing runs until Run.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Bus == nil {
		cfg.Bus = events.New()
	}
	if cfg.Presence == nil {
		cfg.Presence = presence.New(cfg.Bus)
	}
	if cfg.Prompt == nil {
		cfg.Prompt = prompts.Get
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.IntN
	}
	rg := cfg.Ringer
	if rg == nil {
		prompt := cfg.Prompt
		rg = &ring.Ringer{Logger: cfg.Logger, Prompt: func(id string, rate int) (call.Source, bool) {
			pcm, ok := prompt(cfg.Config.Site().System.Lang(), id, rate)
			if !ok {
				return nil, false
			}
			return prompts.Source(pcm), true
		}}
	}
	return &Engine{
		cfg:     cfg,
		log:     cfg.Logger.With("pkg", "acd"),
		pres:    cfg.Presence,
		bus:     cfg.Bus,
		ringer:  rg,
		cmds:    make(chan command),
		results: make(chan offerResult),
		started: make(chan struct{}),
		stopped: make(chan struct{}),
		agents:  map[string]*agent{},
		queues:  map[string]*queue{},
	}
}

// Run loads the saved agent statuses and runs the actor until ctx ends.
// Offers in progress are cancelled and waited for before it returns.
func (e *Engine) Run(ctx context.Context) error {
	e.ctx = ctx
	e.refreshConfig()
	if err := e.restore(ctx); err != nil {
		e.log.Error("restore agent statuses", "err", err)
	}
	e.seedHandleTimes(ctx)
	e.wake = time.NewTimer(time.Hour)
	defer e.wake.Stop()
	// Someone going off a call (or no longer being rung by a group) may
	// free an agent for a waiting caller at once.
	pres := e.bus.Subscribe(256, events.Filter("presence."))
	defer pres.Close()
	var alive <-chan time.Time // nil without a probe: no ticks
	if e.cfg.Alive != nil {
		every := e.cfg.AliveEvery
		if every <= 0 {
			every = 5 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		alive = t.C
	}
	close(e.started)
	e.step()
	e.publishBlocked()
	for {
		select {
		case <-alive:
			// Reached only when the actor is free: a command stuck in
			// c.f() stops the beats.
			e.cfg.Alive()
			continue
		case c := <-e.cmds:
			c.f()
			// The caller resumes once the change took effect everywhere:
			// offers made, Blocked's table published.
			e.step()
			e.publishBlocked()
			close(c.done)
			continue
		case r := <-e.results:
			e.offerDone(r)
		case <-e.wake.C:
		case <-pres.C():
		case <-ctx.Done():
			e.shutdown()
			e.offers.Wait()
			return ctx.Err()
		}
		e.step()
		e.publishBlocked()
	}
}

// shutdown ends what is in flight when the engine stops: offers are
// cancelled (their goroutines see e.stopped) and waiting callers are told.
func (e *Engine) shutdown() {
	for _, a := range e.agents {
		if a.offer != nil {
			a.offer.cancel(call.Shutdown)
		}
	}
	for _, c := range e.waiting {
		c.send(outcome{dest: "", cause: call.Shutdown})
	}
	e.waiting = nil
	close(e.stopped)
}

// command is f to run on the actor; done is closed once it and what it
// set off are done.
type command struct {
	f    func()
	done chan struct{}
}

// do runs f on the actor and waits for it.
func (e *Engine) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case e.cmds <- command{f, done}:
	case <-e.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

func (e *Engine) publish(p events.Payload) { e.bus.Publish(p) }

// lang is the prompt language.
func (e *Engine) lang() string {
	if e.cfg.Lang != nil {
		if l := e.cfg.Lang(); l != "" {
			return l
		}
	}
	return e.cfg.Config.Site().System.Lang()
}

// dbctx is the context for store writes: they must happen even while the
// engine stops.
func dbctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
