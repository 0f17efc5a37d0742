package acd

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/site"
)

// BenchmarkPlan measures one dispatch decision with 100 available agents
// and 50 waiting callers spread over 5 queues of 20 agents each.
func BenchmarkPlan(b *testing.B) {
	e, now := planBench(b, false)
	for i := range 50 {
		e.waiting = append(e.waiting, &caller{id: fmt.Sprint(i), queue: fmt.Sprintf("q%d", i%5), joined: now.Add(-time.Minute),
			offers: map[string]*offer{}, retryAt: map[string]time.Time{}})
	}
	runPlan(b, e, now)
}

// planBench is the engine of the plan benchmarks: 100 available agents
// (with three skills each when skilled) in 5 queues of 20 (needing two
// skills, widened after 30 s, when skilled), no caller yet.
func planBench(b *testing.B, skilled bool) (*Engine, time.Time) {
	s := &site.Site{Version: 1}
	for i := range 100 {
		// An agent is offered calls only with a phone that can ring.
		s.Extensions = append(s.Extensions, site.Extension{Number: fmt.Sprint(1000 + i)})
		a := site.Agent{ID: fmt.Sprintf("a%d", i), Extension: fmt.Sprint(1000 + i)}
		if skilled {
			a.Skills = map[string]int{"fr": 1 + i%10, "en": 1 + (i*7)%10, "billing": 1 + (i*3)%10}
		}
		s.Agents = append(s.Agents, a)
	}
	for q := range 5 {
		qc := site.Queue{ID: fmt.Sprintf("q%d", q), Strategy: site.QueueLongestIdle}
		if skilled {
			qc.Skills = map[string]int{"fr": 3, "en": 2}
			qc.SkillWidening = []site.SkillStep{{After: site.Duration(30 * time.Second), DropLevels: 2}, {After: site.Duration(5 * time.Minute), AnyAgent: true}}
		}
		for i := range 20 {
			qc.Agents = append(qc.Agents, site.QueueAgent{Agent: fmt.Sprintf("a%d", q*20+i), Level: 1 + i%2})
		}
		s.Queues = append(s.Queues, qc)
	}
	cfg, err := config.New(s, 1)
	if err != nil {
		b.Fatal(err)
	}
	e := New(Config{Config: cfg, Dialer: calltest.NewDialer(), Store: newMemStore(), Logger: slog.New(slog.DiscardHandler)})
	e.refreshConfig()
	now := time.Now()
	e.updateHours(now)
	for i, a := range e.snap.Site.Agents {
		ag := e.agents[a.ID]
		ag.status = Available
		ag.idleSince = now.Add(-time.Duration(i) * time.Second)
	}
	return e, now
}

// runPlan times e.plan, which must pair each of the 50 callers.
func runPlan(b *testing.B, e *Engine, now time.Time) {
	b.ReportAllocs()
	for b.Loop() {
		if p := e.plan(now); len(p) != 50 {
			b.Fatalf("%d pairings, want 50", len(p))
		}
	}
}
