package site

import (
	"fmt"
	"slices"
	"strings"

	"ringbox/firmware/dialplan/pattern"
)

// Skills and routing by the caller (docs/site-file.md, "Skills" and
// "Routing by the caller").
//
// An agent has skills with levels (skills: {fr: 5, en: 3}). A queue, an
// inbound route or an IVR option sets the minimum levels a call needs; the
// ACD offers the call to agents who have them, best match first, and the
// queue's skill_widening steps lower the requirement as the caller waits.
//
// A caller's number is matched by a dial pattern ("+3361.") or a named
// list (caller: list:vip). Inbound routes with a caller are tried before
// the others; an IVR's callers are tried before its greeting plays.

// MaxSkillLevel is the highest skill level; levels run from 1 to it.
const MaxSkillLevel = 10

// CallerListPrefix starts a caller: that names a list of caller_lists.
const CallerListPrefix = "list:"

// SkillStep is one widening step of a queue: once a caller has waited
// After, the required levels are DropLevels lower (never below 1: the
// skill is still needed), or with AnyAgent any agent of the queue may take
// the call. Each step replaces the one before; steps are in After order.
type SkillStep struct {
	After      Duration `yaml:"after"`
	DropLevels int      `yaml:"drop_levels,omitempty"`
	AnyAgent   bool     `yaml:"any_agent,omitempty"`
}

// CallerList is a named list of callers' numbers: each a dial pattern
// ("+33612345678" exactly, "+3361." every number it starts).
type CallerList struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name,omitempty"`
	Numbers []string `yaml:"numbers,flow"`
}

// CallerRoute sends callers whose number matches Caller (a dial pattern or
// list:ID) to To.
type CallerRoute struct {
	Caller string `yaml:"caller"`
	To     string `yaml:"to"`
}

// CallerMatches reports whether number matches caller, a dial pattern or
// list:ID of s.CallerLists. An unknown list or a bad pattern matches
// nothing (validation refuses both).
func (s *Site) CallerMatches(caller, number string) bool {
	if number == "" || caller == "" {
		return false
	}
	pats := []string{caller}
	if id, ok := strings.CutPrefix(caller, CallerListPrefix); ok {
		pats = nil
		for _, l := range s.CallerLists {
			if l.ID == id {
				pats = l.Numbers
			}
		}
	}
	for _, src := range pats {
		if p, err := pattern.Compile(src); err == nil && p.Match(number) {
			return true
		}
	}
	return false
}

// knownSkills is every skill some agent has.
func (v *validator) knownSkills() map[string]bool {
	m := map[string]bool{}
	for _, a := range v.s.Agents {
		for k := range a.Skills {
			m[k] = true
		}
	}
	return m
}

// skillsAndCallers checks skills, widening steps, caller lists and the
// caller: of inbound routes and IVRs.
func (v *validator) skillsAndCallers() {
	s := v.s
	v.callerLists = ids(v, "caller_lists", "id", len(s.CallerLists), func(i int) string { return s.CallerLists[i].ID })
	for i, a := range s.Agents {
		v.skillLevels(fieldPath(indexPath("agents", i), "skills"), a.Skills, nil)
	}
	known := v.knownSkills()
	for i, q := range s.Queues {
		p := indexPath("queues", i)
		v.skillLevels(fieldPath(p, "skills"), q.Skills, known)
		v.answerable(fieldPath(p, "skills"), q.Skills, DestQueue+":"+q.ID)
		var prev Duration
		for j, st := range q.SkillWidening {
			sp := indexPath(fieldPath(p, "skill_widening"), j)
			switch {
			case st.After <= 0:
				v.add(fieldPath(sp, "after"), "after must be a wait like 30s, more than 0")
			case j > 0 && st.After <= prev:
				v.add(fieldPath(sp, "after"), "steps must come in order of wait: %s is not after the previous step's %s", st.After, prev)
			}
			prev = st.After
			switch {
			case st.DropLevels < 0 || st.DropLevels >= MaxSkillLevel:
				v.add(fieldPath(sp, "drop_levels"), "drop_levels must be from 1 to %d, not %d", MaxSkillLevel-1, st.DropLevels)
			case st.AnyAgent && st.DropLevels > 0:
				v.add(sp, "a step either drops levels (drop_levels: N) or lets any agent take the call (any_agent: true), not both")
			case !st.AnyAgent && st.DropLevels == 0:
				v.add(sp, "a step needs drop_levels: N or any_agent: true")
			}
		}
	}
	for i, r := range s.Inbound {
		p := indexPath("inbound", i)
		v.skillLevels(fieldPath(p, "skills"), r.Skills, known)
		v.answerable(fieldPath(p, "skills"), r.Skills, r.To)
		v.callerMatch(fieldPath(p, "caller"), r.Caller)
	}
	for i, m := range s.IVRs {
		p := indexPath("ivrs", i)
		keys := make([]string, 0, len(m.OptionSkills))
		for k := range m.OptionSkills {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			kp := keyPath(fieldPath(p, "option_skills"), k)
			if _, ok := m.Options[k]; !ok {
				v.add(kp, "no option %q in this ivr's options: skills are set for a key the menu offers", k)
				continue
			}
			v.skillLevels(kp, m.OptionSkills[k], known)
			v.answerable(kp, m.OptionSkills[k], m.Options[k])
		}
		for j, c := range m.Callers {
			cp := indexPath(fieldPath(p, "callers"), j)
			if c.Caller == "" {
				v.add(cp, "missing caller (a number pattern like \"+3361.\" or list:ID)")
			} else {
				v.callerMatch(fieldPath(cp, "caller"), c.Caller)
			}
			v.dest(fieldPath(cp, "to"), c.To, true)
		}
	}
	for i, l := range s.CallerLists {
		p := indexPath("caller_lists", i)
		if len(l.Numbers) == 0 {
			v.add(fieldPath(p, "numbers"), "caller list %q has no numbers", l.ID)
		}
		for j, src := range l.Numbers {
			if _, err := pattern.Compile(src); err != nil {
				v.add(indexPath(fieldPath(p, "numbers"), j), "bad number %q: %v (write a number like +33612345678, or a pattern like +3361. for every number it starts)", src, err)
			}
		}
	}
}

// skillLevels checks one set of skills: names, levels from 1 to
// MaxSkillLevel, and, for a requirement (known set), that some agent has
// the skill.
func (v *validator) skillLevels(path string, sk map[string]int, known map[string]bool) {
	names := make([]string, 0, len(sk))
	for n := range sk {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := keyPath(path, n)
		lvl := sk[n]
		switch {
		case !validID(n):
			v.add(p, "%q is not a valid skill name: use letters, digits, - _ and . only", n)
		case lvl < 1 || lvl > MaxSkillLevel:
			v.add(p, "skill level must be from 1 to %d, not %d", MaxSkillLevel, lvl)
		case known != nil && !known[n]:
			v.add(p, "no agent has skill %q (give an agent skills: {%s: N}, or check the spelling)", n, n)
		}
	}
}

// answerable checks that a call needing need, sent to dest, can be
// answered when dest is a queue: some agent of the queue has the skills
// (at the levels left after the queue's widening), or the queue widens to
// any agent.
func (v *validator) answerable(path string, need map[string]int, dest string) {
	kind, id, _ := strings.Cut(dest, ":")
	if len(need) == 0 || kind != DestQueue {
		return
	}
	qi, ok := v.queues[id]
	if !ok {
		return // reported where dest is
	}
	q := v.s.Queues[qi]
	drop := 0
	for _, st := range q.SkillWidening {
		if st.AnyAgent {
			return
		}
		drop = max(drop, st.DropLevels)
	}
	for _, qa := range q.Agents {
		if ai, ok := v.agents[qa.Agent]; ok && meets(v.s.Agents[ai].Skills, need, drop) {
			return
		}
	}
	names := make([]string, 0, len(need))
	for k := range need {
		names = append(names, k)
	}
	slices.Sort(names)
	var want []string
	for _, k := range names {
		want = append(want, fmt.Sprintf("%s %d", k, max(need[k]-drop, 1)))
	}
	v.add(path, "no agent of queue %q has %s: these calls would wait for nobody (give an agent of the queue the skills, or add a skill_widening step with any_agent: true)",
		q.ID, strings.Join(want, " and "))
}

// meets reports whether skills has every skill of need at its level less
// drop (never below 1).
func meets(skills, need map[string]int, drop int) bool {
	for k, l := range need {
		if skills[k] < max(l-drop, 1) {
			return false
		}
	}
	return true
}

// callerMatch checks a caller: a known list:ID or a valid dial pattern.
func (v *validator) callerMatch(path, c string) {
	if c == "" {
		return
	}
	if id, ok := strings.CutPrefix(c, CallerListPrefix); ok {
		if _, ok := v.callerLists[id]; !ok {
			v.add(path, "unknown caller list %q (no caller_lists entry with id %q)", id, id)
		}
		return
	}
	if _, err := pattern.Compile(c); err != nil {
		v.add(path, "bad caller %q: %v (write a number pattern like +3361. or list:ID)", c, err)
	}
}
