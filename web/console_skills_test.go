package web_test

import (
	"html"
	"maps"
	"net/http"
	"strings"
	"testing"
)

// TestConsoleSkillsAndCallerLists: skills, skill requirements, a caller
// list and a route by the caller are edited in the console's forms and
// applied.
func TestConsoleSkillsAndCallerLists(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)

	p := b.post("/console/k/agents/o/bob", "id", "bob", "name", "Bob", "extension", "101",
		"skills.k.0", "fr", "skills.v.0", "5", "skills.k.1", "en", "skills.v.1", "3")
	if p.code != http.StatusSeeOther {
		t.Fatalf("save agent: %d\n%s", p.code, p.body)
	}
	// A level that is not a number is shown at its field, not saved.
	p = b.post("/console/k/queues/o/support", "id", "support", "agents.0.agent", "bob",
		"skills.k.0", "fr", "skills.v.0", "high")
	if p.code == http.StatusSeeOther || !strings.Contains(html.UnescapeString(p.body), `"high" is not a whole number`) {
		t.Fatalf("queue with a bad level: %d\n%s", p.code, p.body)
	}
	p = b.post("/console/k/queues/o/support", "id", "support", "agents.0.agent", "bob",
		"skills.k.0", "fr", "skills.v.0", "4",
		"skill_widening.0.after", "30s", "skill_widening.0.drop_levels", "2",
		"skill_widening.1.after", "1m", "skill_widening.1.any_agent", "on")
	if p.code != http.StatusSeeOther {
		t.Fatalf("save queue: %d\n%s", p.code, p.body)
	}
	p = b.post("/console/k/caller_lists/new", "id", "vip", "numbers.0", "+33612345678", "numbers.1", "+3361.")
	if p.code != http.StatusSeeOther {
		t.Fatalf("add caller list: %d\n%s", p.code, p.body)
	}
	p = b.post("/console/k/ivrs/o/main", "id", "main", "greeting", "main-menu",
		"options.k.0", "1", "options.v.0", "extension:101", "options.k.1", "2", "options.v.1", "queue:support",
		"option_skills.k.0", "2", "option_skills.v.0", "fr=3, en=1",
		"callers.0.caller", "list:vip", "callers.0.to", "queue:support")
	if p.code != http.StatusSeeOther {
		t.Fatalf("save ivr: %d\n%s", p.code, p.body)
	}
	p = b.post("/console/k/inbound/new", "caller", "list:vip", "to", "queue:support", "skills.k.0", "en", "skills.v.0", "2")
	if p.code != http.StatusSeeOther {
		t.Fatalf("add inbound route: %d\n%s", p.code, p.body)
	}
	p = b.get("/console/review")
	p = b.post("/console/apply", "base", baseOf(t, p.body))
	if p.code != http.StatusSeeOther || !strings.Contains(p.body, "is in use") {
		t.Fatalf("apply: %d\n%s", p.code, p.body)
	}
	s := e.cfg.Current().Site
	if got := s.Agents[0].Skills; !maps.Equal(got, map[string]int{"fr": 5, "en": 3}) {
		t.Errorf("agent skills %v", got)
	}
	q := s.Queues[0]
	if q.Skills["fr"] != 4 || len(q.SkillWidening) != 2 || q.SkillWidening[0].DropLevels != 2 || !q.SkillWidening[1].AnyAgent {
		t.Errorf("queue %+v", q)
	}
	if got := s.IVRs[0].OptionSkills["2"]; !maps.Equal(got, map[string]int{"fr": 3, "en": 1}) || len(s.IVRs[0].Callers) != 1 {
		t.Errorf("ivr %+v", s.IVRs[0])
	}
	if len(s.CallerLists) != 1 || len(s.CallerLists[0].Numbers) != 2 {
		t.Errorf("caller lists %+v", s.CallerLists)
	}
	last := s.Inbound[len(s.Inbound)-1]
	if last.Caller != "list:vip" || last.Match != "" || last.Skills["en"] != 2 {
		t.Errorf("inbound %+v", s.Inbound)
	}
	// The forms show what was saved.
	if p := b.get("/console/k/ivrs/o/main"); !strings.Contains(p.body, `value="en=1, fr=3"`) {
		t.Error("the IVR form does not show the option's skills")
	}
	if p := b.get("/console/k/caller_lists"); !strings.Contains(html.UnescapeString(p.body), "+33612345678, +3361.") {
		t.Error("the caller lists page does not list the numbers")
	}
}
