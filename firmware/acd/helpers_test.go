package acd

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/presence"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// memStore is an in-memory Store.
type memStore struct {
	mu       sync.Mutex // protects following
	log      []store.QueueLogEntry
	activity []store.AgentActivity
	status   map[string]store.AgentStatus
}

func newMemStore() *memStore { return &memStore{status: map[string]store.AgentStatus{}} }

func (m *memStore) InsertQueueLog(ctx context.Context, e store.QueueLogEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	m.log = append(m.log, e)
	return nil
}

func (m *memStore) ListQueueLog(ctx context.Context, from, to time.Time, queue string) ([]store.QueueLogEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.QueueLogEntry
	for _, e := range m.log {
		if (!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) || (queue != "" && e.Queue != queue) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func (m *memStore) InsertAgentActivity(ctx context.Context, a store.AgentActivity) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.activity = append(m.activity, a)
	return nil
}

func (m *memStore) SaveAgentStatus(ctx context.Context, a store.AgentStatus) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[a.Agent] = a
	return nil
}

func (m *memStore) LoadAgentStatuses(ctx context.Context) ([]store.AgentStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.AgentStatus
	for _, s := range m.status {
		out = append(out, s)
	}
	return out, nil
}

// events of type ev, in order.
func (m *memStore) events(ev string) []store.QueueLogEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.QueueLogEntry
	for _, e := range m.log {
		if e.Event == ev {
			out = append(out, e)
		}
	}
	return out
}

type env struct {
	t     *testing.T
	e     *Engine
	d     *calltest.Dialer
	st    *memStore
	pres  *presence.Tracker
	bus   *events.Bus
	cfg   *config.Store
	sub   *events.Sub
	seen  []events.Event
	legs  []*calltest.Leg
	start time.Time
	stop  context.CancelFunc
	done  chan error
}

// newEnv starts an engine for s inside a synctest bubble.
func newEnv(t *testing.T, s *site.Site, st *memStore) *env {
	t.Helper()
	if st == nil {
		st = newMemStore()
	}
	cfg, err := config.New(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	bus := events.New()
	v := &env{t: t, d: calltest.NewDialer(), st: st, pres: presence.New(bus), bus: bus, cfg: cfg, start: time.Now()}
	v.sub = bus.Subscribe(4096, nil)
	v.e = New(Config{Config: cfg, Dialer: v.d, Presence: v.pres, Bus: bus, Store: st, Logger: slog.New(slog.DiscardHandler), Rand: func(n int) int { return 0 }})
	ctx, cancel := context.WithCancel(context.Background())
	v.stop, v.done = cancel, make(chan error, 1)
	go func() { v.done <- v.e.Run(ctx) }()
	t.Cleanup(func() {
		for _, l := range v.legs {
			l.Hangup(call.Normal)
		}
		for _, l := range v.d.Legs() {
			l.Hangup(call.Normal)
		}
		synctest.Wait()
		cancel()
		<-v.done
		v.sub.Close()
	})
	synctest.Wait()
	return v
}

func (v *env) login(ids ...string) {
	v.t.Helper()
	for _, id := range ids {
		if _, err := v.e.Login(context.Background(), id, false, "", time.Time{}, SourceAPI); err != nil {
			v.t.Fatalf("login %s: %v", id, err)
		}
	}
}

// answers makes number's offers answer after d (forever).
func (v *env) answers(number string, d time.Duration, opts ...func(*calltest.Leg)) {
	v.d.Add(number, func() *calltest.Leg {
		l := calltest.NewLeg("agent-"+number, calltest.AnswerAfter(d))
		for _, o := range opts {
			o(l)
		}
		return l
	})
}

type result struct {
	next  string
	cause call.Cause
	at    time.Duration
}

// caller joins queue q with a new leg and returns it and its result.
func (v *env) caller(q, name string) (*calltest.Leg, chan result) {
	leg := calltest.NewLeg(name)
	v.legs = append(v.legs, leg)
	ch := make(chan result, 1)
	go func() {
		next, cause := runQueue(v.e, flow.QueueCall{Queue: q, CallID: name, Caller: leg})
		ch <- result{next, cause, time.Since(v.start)}
	}()
	synctest.Wait()
	return leg, ch
}

// runQueue runs a caller through the queue the way the flow does: an
// agent who answers is bridged with the caller until one hangs up, and the
// queue is told who did.
func runQueue(e *Engine, qc flow.QueueCall) (string, call.Cause) {
	res := e.RunQueue(context.Background(), qc)
	if res.Answer == nil {
		return res.Next, res.Cause
	}
	agent := res.Answer.Leg
	calltest.Bridger{}.Bridge(context.Background(), qc.Caller, agent)
	byCaller := false
	select {
	case <-qc.Caller.Done():
		byCaller = true
	default:
	}
	agent.Hangup(call.Normal)
	res.Done(byCaller)
	return "", call.Normal
}

// sleep advances fake time by d and lets everything settle.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// agentLegs lists the agent legs dialled to number.
func (v *env) agentLegs(number string) []*calltest.Leg {
	var out []*calltest.Leg
	for _, l := range v.d.Legs() {
		if l.Target().Number == number {
			out = append(out, l)
		}
	}
	return out
}

// connectedTo lists the agents the log says callers were connected to, in
// order.
func (v *env) connected() []string {
	var out []string
	for _, e := range v.st.events(EvConnect) {
		out = append(out, e.Agent)
	}
	return out
}

// busEvents lists the events of type typ seen so far.
func (v *env) busEvents(typ string) []events.Event {
	var out []events.Event
	for {
		select {
		case ev := <-v.sub.C():
			v.seen = append(v.seen, ev)
			continue
		default:
		}
		break
	}
	for _, ev := range v.seen {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// testSite is a site with agents bob (101), sue (102), ann (103) and one
// queue "service" served by them.
func testSite(mod func(q *site.Queue)) *site.Site {
	s := &site.Site{
		Version: 1,
		System:  site.System{Name: "test"},
		Extensions: []site.Extension{
			{Number: "101", Name: "Bob"}, {Number: "102", Name: "Sue"}, {Number: "103", Name: "Ann"},
		},
		Agents: []site.Agent{
			{ID: "bob", Name: "Bob", Extension: "101", ReportsTo: "sue"},
			{ID: "sue", Name: "Sue", Extension: "102", Role: site.RoleManager},
			{ID: "ann", Name: "Ann", Extension: "103"},
		},
		Queues: []site.Queue{{
			ID: "service", Name: "Service",
			Agents:    []site.QueueAgent{{Agent: "bob"}, {Agent: "sue"}, {Agent: "ann"}},
			AgentRing: site.Duration(15 * time.Second),
			OnEmpty:   "voicemail:service",
			OnTimeout: "voicemail:timeout",
		}},
	}
	if mod != nil {
		mod(&s.Queues[0])
	}
	return s
}

func agentsOf(ids ...string) []site.QueueAgent {
	var out []site.QueueAgent
	for _, id := range ids {
		out = append(out, site.QueueAgent{Agent: id})
	}
	return out
}

var _ = slices.Equal[[]string]
