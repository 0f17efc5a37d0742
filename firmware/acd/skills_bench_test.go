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

// BenchmarkPlanSkills is BenchmarkPlan with skills: every agent has three
// skills, every caller needs two (half of them bring their own), and the
// queues' first widening step has passed.
func BenchmarkPlanSkills(b *testing.B) {
	s := &site.Site{Version: 1}
	for i := range 100 {
		// An agent is offered calls only with a phone that can ring.
		s.Extensions = append(s.Extensions, site.Extension{Number: fmt.Sprint(1000 + i)})
		s.Agents = append(s.Agents, site.Agent{ID: fmt.Sprintf("a%d", i), Extension: fmt.Sprint(1000 + i),
			Skills: map[string]int{"fr": 1 + i%10, "en": 1 + (i*7)%10, "billing": 1 + (i*3)%10}})
	}
	for q := range 5 {
		qc := site.Queue{ID: fmt.Sprintf("q%d", q), Strategy: site.QueueLongestIdle, Skills: map[string]int{"fr": 3, "en": 2},
			SkillWidening: []site.SkillStep{{After: site.Duration(30 * time.Second), DropLevels: 2}, {After: site.Duration(5 * time.Minute), AnyAgent: true}}}
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
	for i := range 50 {
		c := &caller{id: fmt.Sprint(i), queue: fmt.Sprintf("q%d", i%5), joined: now.Add(-time.Minute),
			offers: map[string]*offer{}, retryAt: map[string]time.Time{}}
		if i%2 == 0 {
			c.qc.Skills = map[string]int{"billing": 3, "en": 2}
		}
		e.waiting = append(e.waiting, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p := e.plan(now); len(p) != 50 {
			b.Fatalf("%d pairings, want 50", len(p))
		}
	}
}
