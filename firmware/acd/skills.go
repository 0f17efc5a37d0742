package acd

import (
	"time"

	"ringbox/firmware/site"
)

// Skills (docs/site-file.md, "Skills").
//
// A caller needs the skills its call carries (flow.QueueCall.Skills, from
// the inbound route or IVR option) or, when it carries none, the queue's.
// An agent may be offered the call when they have every required skill at
// the required level or above. Among those, the best match goes first:
// the highest sum of the agent's levels over the required skills; equal
// sums fall back to the queue's order (agent level, then strategy).
//
// The queue's skill_widening steps lower the requirement as the caller
// waits: from a step's after on (exactly: a caller who joined at t is
// widened at t+after, not a moment before), the required levels are the
// step's drop_levels lower, never below 1, or with any_agent every agent
// of the queue may take the call. The best match still goes first.
//
// The CONNECT line of the queue log gets a fourth field for a caller with
// a requirement: "skill" when the agent who answered has the skills the
// call needed at first, "widened" when they have not (a widening step let
// them in, or they picked the call up); none when a phone of no agent
// picked it up.

// Skill-match kinds, the CONNECT line's fourth field.
const (
	MatchSkill   = "skill"
	MatchWidened = "widened"
)

// skillNeed is what caller c needs in queue q now: the requirement it
// joined with (need; nil for none), how many levels the widening steps
// reached by now take off it (drop), and whether any agent will do.
func skillNeed(c *caller, q *site.Queue, now time.Time) (need map[string]int, drop int, any bool) {
	need = c.qc.Skills
	if len(need) == 0 {
		need = q.Skills
	}
	if len(need) == 0 {
		return nil, 0, true
	}
	step := reachedStep(q.SkillWidening, now.Sub(c.joined))
	switch {
	case step == nil:
		return need, 0, false
	case step.AnyAgent:
		return need, 0, true
	}
	return need, step.DropLevels, false
}

// reachedStep is the last widening step whose wait has passed (nil: none).
func reachedStep(steps []site.SkillStep, waited time.Duration) *site.SkillStep {
	var reached *site.SkillStep
	for i := range steps {
		if waited >= steps[i].After.D() {
			reached = &steps[i]
		}
	}
	return reached
}

// hasSkills reports whether skills meet need with drop levels taken off
// each needed level (never below 1).
func hasSkills(skills, need map[string]int, drop int) bool {
	for k, l := range need {
		if skills[k] < max(l-drop, 1) {
			return false
		}
	}
	return true
}

// skillLevel is one needed skill; plan lays a caller's requirement out as
// a slice once, so that judging each agent costs map lookups, not map
// iterations (BenchmarkPlanSkills).
type skillLevel struct {
	name  string
	level int
}

// appendNeed appends need to buf, in no particular order.
func appendNeed(buf []skillLevel, need map[string]int) []skillLevel {
	for k, l := range need {
		buf = append(buf, skillLevel{k, l})
	}
	return buf
}

// skillFit reports whether skills meet need (with drop levels taken off,
// never below 1, or any: whatever the levels), and the match's score: the
// sum of the agent's levels over the needed skills, higher is better (0
// without a requirement).
func skillFit(skills map[string]int, need []skillLevel, drop int, any bool) (ok bool, score int) {
	for _, n := range need {
		l := skills[n.name]
		if !any && l < max(n.level-drop, 1) {
			return false, 0
		}
		score += l
	}
	return true, score
}

// skillWakes calls soon with the times c's requirement widens, so the
// actor looks again at exactly those times.
func skillWakes(c *caller, q *site.Queue, soon func(time.Time)) {
	if len(c.qc.Skills) == 0 && len(q.Skills) == 0 {
		return
	}
	for _, st := range q.SkillWidening {
		soon(c.joined.Add(st.After.D()))
	}
}

// matchKind is the CONNECT line's skill field for caller c answered by
// agent a (nil: a phone that is no agent's picked the call up); "" when
// the call needed no skills.
func (e *Engine) matchKind(c *caller, a *agent) string {
	q, ok := e.queueCfg(c.queue)
	if !ok {
		return ""
	}
	need, _, _ := skillNeed(c, q, c.joined)
	switch {
	case len(need) == 0 || a == nil:
		// A phone of no agent picked the call up (*8): not a skill
		// decision either way.
		return ""
	case hasSkills(a.cfg.Skills, need, 0):
		return MatchSkill
	}
	return MatchWidened
}
