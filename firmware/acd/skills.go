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
// call needed at first, "widened" when a widening step let them take it.

// Skill-match kinds, the CONNECT line's fourth field.
const (
	MatchSkill   = "skill"
	MatchWidened = "widened"
)

// skillNeed is what caller c needs in queue q now: the requirement it
// joined with (need; nil for none), the requirement after the widening
// steps reached by now (req), and whether any agent will do.
func skillNeed(c *caller, q *site.Queue, now time.Time) (need, req map[string]int, any bool) {
	need = c.qc.Skills
	if len(need) == 0 {
		need = q.Skills
	}
	if len(need) == 0 {
		return nil, nil, true
	}
	step := reachedStep(q.SkillWidening, now.Sub(c.joined))
	if step == nil {
		return need, need, false
	}
	if step.AnyAgent {
		return need, nil, true
	}
	req = make(map[string]int, len(need))
	for k, l := range need {
		req[k] = max(l-step.DropLevels, 1)
	}
	return need, req, false
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

// hasSkills reports whether skills meet req.
func hasSkills(skills, req map[string]int) bool {
	for k, l := range req {
		if skills[k] < l {
			return false
		}
	}
	return true
}

// skillScore is how well skills match need: the sum of the levels of
// the needed skills (0 without a requirement).
func skillScore(skills, need map[string]int) int {
	n := 0
	for k := range need {
		n += skills[k]
	}
	return n
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
	case len(need) == 0:
		return ""
	case a != nil && hasSkills(a.cfg.Skills, need):
		return MatchSkill
	}
	return MatchWidened
}
