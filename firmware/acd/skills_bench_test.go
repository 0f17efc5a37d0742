package acd

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkPlanSkills is BenchmarkPlan with skills: every agent has three
// skills, every caller needs two (half of them bring their own), and the
// queues' first widening step has passed.
func BenchmarkPlanSkills(b *testing.B) {
	e, now := planBench(b, true)
	for i := range 50 {
		c := &caller{id: fmt.Sprint(i), queue: fmt.Sprintf("q%d", i%5), joined: now.Add(-time.Minute),
			offers: map[string]*offer{}, retryAt: map[string]time.Time{}}
		if i%2 == 0 {
			c.qc.Skills = map[string]int{"billing": 3, "en": 2}
		}
		e.waiting = append(e.waiting, c)
	}
	runPlan(b, e, now)
}
