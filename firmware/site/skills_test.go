package site

import (
	"strings"
	"testing"
)

const skillsSite = `version: 1
system: {name: X}
extensions: [{number: "101"}, {number: "102"}]
agents:
  - {id: ann, extension: "101", skills: {fr: 5, en: 3}}
  - {id: bob, extension: "102", skills: {en: 8}}
caller_lists:
  - {id: vip, numbers: ["+33612345678", "+3361."]}
  - {id: blocked, name: Nuisance callers, numbers: ["+15550100"]}
queues:
  - id: support
    agents: [ann, bob]
    skills: {en: 5}
    skill_widening:
      - {after: 30s, drop_levels: 2}
      - {after: 1m, any_agent: true}
ivrs:
  - id: main
    options: {"1": queue:support, "2": queue:support}
    option_skills:
      "1": {fr: 4}
    callers: [{caller: list:vip, to: queue:support}]
inbound:
  - {caller: list:blocked, to: busy}
  - {match: "+15551230000", caller: "+1555.", to: queue:support, skills: {en: 2}}
  - {match: "*", to: ivr:main}
`

func TestSkillsParse(t *testing.T) {
	s, err := Parse([]byte(skillsSite), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Agents[0].Skills; got["fr"] != 5 || got["en"] != 3 {
		t.Errorf("agent skills = %v", got)
	}
	q := s.Queues[0]
	if q.Skills["en"] != 5 || len(q.SkillWidening) != 2 || q.SkillWidening[0].After.D().Seconds() != 30 ||
		q.SkillWidening[0].DropLevels != 2 || !q.SkillWidening[1].AnyAgent {
		t.Errorf("queue = %+v", q)
	}
	if s.IVRs[0].OptionSkills["1"]["fr"] != 4 || s.IVRs[0].Callers[0].To != "queue:support" {
		t.Errorf("ivr = %+v", s.IVRs[0])
	}
	if s.Inbound[0].Caller != "list:blocked" || s.Inbound[0].Match != "" || s.Inbound[1].Skills["en"] != 2 {
		t.Errorf("inbound = %+v", s.Inbound)
	}
	// What is written comes back the same.
	out, err := Marshal(s, true)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, "out.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !Equal(s, back) {
		t.Errorf("round trip differs:\n%s", out)
	}
}

func TestCallerMatches(t *testing.T) {
	s, err := Parse([]byte(skillsSite), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		caller, number string
		want           bool
	}{
		{"list:vip", "+33612345678", true},
		{"list:vip", "+33610000000", true}, // +3361.
		{"list:vip", "+3361", false},       // '.' needs one more digit
		{"list:vip", "+33712345678", false},
		{"list:blocked", "+15550100", true},
		{"list:blocked", "+155501000", false},
		{"list:nope", "+15550100", false},
		{"+1555.", "+15551234", true},
		{"+1555.", "15551234", false},
		{"list:vip", "", false},
		{"list:vip", "anonymous", false},
	} {
		if got := s.CallerMatches(tt.caller, tt.number); got != tt.want {
			t.Errorf("CallerMatches(%q, %q) = %v, want %v", tt.caller, tt.number, got, tt.want)
		}
	}
}

// TestSkillsProblems: each mistake is reported at its line, naming the
// field.
func TestSkillsProblems(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		line     int
		field    string
		msg      string
	}{
		{"agent level too high", "fr: 5, en: 3", "fr: 11, en: 3", 5, `agents[0].skills["fr"]`, "from 1 to 10, not 11"},
		{"agent level zero", "{en: 8}", "{en: 0}", 6, `agents[1].skills["en"]`, "from 1 to 10, not 0"},
		{"bad skill name", "{en: 8}", "{\"e n\": 8}", 6, `agents[1].skills["e n"]`, "not a valid skill name"},
		{"queue skill nobody has", "skills: {en: 5}", "skills: {de: 5}", 13, `queues[0].skills["de"]`, `no agent has skill "de"`},
		{"queue level out of range", "skills: {en: 5}", "skills: {en: 12}", 13, `queues[0].skills["en"]`, "from 1 to 10"},
		{"widening out of order", "after: 1m, any", "after: 20s, any", 16, "queues[0].skill_widening[1].after", "not after the previous step's 30s"},
		{"widening both", "after: 1m, any_agent: true", "after: 1m, any_agent: true, drop_levels: 1", 16, "queues[0].skill_widening[1]", "not both"},
		{"widening nothing", "after: 1m, any_agent: true", "after: 1m", 16, "queues[0].skill_widening[1]", "needs drop_levels"},
		{"widening zero after", "after: 30s, drop", "after: 0s, drop", 15, "queues[0].skill_widening[0].after", "more than 0"},
		{"widening drop too far", "drop_levels: 2", "drop_levels: 10", 15, "queues[0].skill_widening[0].drop_levels", "from 1 to 9"},
		{"option skill nobody has", "{fr: 4}", "{it: 4}", 21, `ivrs[0].option_skills["1"]["it"]`, `no agent has skill "it"`},
		{"option skill for no option", `"1": {fr: 4}`, `"3": {fr: 4}`, 21, `ivrs[0].option_skills["3"]`, `no option "3"`},
		{"ivr caller unknown list", "caller: list:vip, to: queue", "caller: list:vips, to: queue", 22, "ivrs[0].callers[0].caller", `unknown caller list "vips"`},
		{"ivr caller bad destination", "to: queue:support}]", "to: queue:sales}]", 22, "ivrs[0].callers[0].to", `no queue with id "sales"`},
		{"inbound unknown list", "caller: list:blocked", "caller: list:blok", 24, "inbound[0].caller", `unknown caller list "blok"`},
		{"inbound bad pattern", `caller: "+1555."`, `caller: "+1555.X"`, 25, "inbound[1].caller", `bad caller "+1555.X"`},
		{"inbound skill nobody has", "skills: {en: 2}", "skills: {xx: 2}", 25, `inbound[1].skills["xx"]`, `no agent has skill "xx"`},
		{"inbound without match or caller", "{caller: list:blocked, to: busy}", "{to: busy}", 24, "inbound[0]", "missing match"},
		{"list bad number", `"+15550100"`, `"+1555-0100"`, 9, `caller_lists[1].numbers[0]`, `bad number "+1555-0100"`},
		{"list empty", `numbers: ["+15550100"]`, "numbers: []", 9, `caller_lists[1].numbers`, "has no numbers"},
		{"list id twice", `id: blocked`, `id: vip`, 9, `caller_lists[1].id`, `duplicate id "vip"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(skillsSite, tt.old) {
				t.Fatalf("%q not in the site", tt.old)
			}
			src := strings.Replace(skillsSite, tt.old, tt.new, 1)
			_, err := Parse([]byte(src), "s.yaml")
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("Parse error = %v, want Errors", err)
			}
			for _, p := range errs {
				if p.Line == tt.line && p.Field == tt.field && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want s.yaml:%d: %s: ...%s...; got\n%v", tt.line, tt.field, tt.msg, errs)
		})
	}
}

// TestCallerRoutesDoNotShadow: a caller route before a catch-all, or a
// catch-all before a caller route, is not "never used".
func TestCallerRoutesDoNotShadow(t *testing.T) {
	s, err := Parse([]byte(skillsSite), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Inbound = append(s.Inbound, InboundRoute{Match: "*", Caller: "list:vip", To: "queue:support"})
	if errs := s.Validate(); errs != nil {
		t.Errorf("a caller route after the catch-all: %v", errs)
	}
}

func FuzzCallerMatches(f *testing.F) {
	f.Add("+3361.", "+33612345678")
	f.Add("list:vip", "+1")
	f.Add("[1-", "1")
	f.Fuzz(func(t *testing.T, caller, number string) {
		s := &Site{CallerLists: []CallerList{{ID: "vip", Numbers: []string{caller}}}}
		a := s.CallerMatches(caller, number)
		b := s.CallerMatches("list:vip", number)
		if a != b && !strings.HasPrefix(caller, CallerListPrefix) {
			t.Errorf("pattern %q matches %q: %v, as a list: %v", caller, number, a, b)
		}
	})
}

// TestSkillsAnswerable: a requirement sent straight to a queue that no
// agent of the queue meets, even after the queue's widening, is an error.
func TestSkillsAnswerable(t *testing.T) {
	const base = `version: 1
system: {name: X}
extensions: [{number: "101"}, {number: "102"}, {number: "103"}]
agents:
  - {id: ann, extension: "101", skills: {fr: 5, en: 3}}
  - {id: bob, extension: "102", skills: {en: 8}}
  - {id: carl, extension: "103", skills: {de: 9}}
queues:
  - {id: support, agents: [ann, bob], SKILLS, skill_widening: [{after: 30s, drop_levels: 1}WIDEN]}
  - {id: other, agents: [carl]}
ivrs:
  - {id: main, options: {"1": queue:support}, OPTION}
inbound:
  - {match: "*", to: queue:support, INBOUND}
`
	tests := []struct {
		name                           string
		skills, widen, option, inbound string
		field, msg                     string // "": valid
	}{
		{"met after widening", "skills: {fr: 6}", "", "", "", "", ""},
		{"not met after widening", "skills: {fr: 7, en: 1}", "", "", "", "queues[0].skills", `no agent of queue "support" has en 1 and fr 6`},
		{"only outside the queue", "skills: {de: 2}", "", "", "", "queues[0].skills", `no agent of queue "support" has de 1`},
		{"any agent", "skills: {de: 2}", ", {after: 1m, any_agent: true}", "", "", "", ""},
		{"inbound met", "", "", "", "skills: {en: 9}", "", ""},
		{"inbound not met", "", "", "", "skills: {en: 10}", "inbound[0].skills", `no agent of queue "support" has en 9`},
		{"option not met", "", "", `option_skills: {"1": {fr: 5, en: 5}}`, "", `ivrs[0].option_skills["1"]`, `no agent of queue "support" has en 4 and fr 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.NewReplacer(", SKILLS", prefixed(tt.skills), "WIDEN", tt.widen, ", OPTION", prefixed(tt.option), ", INBOUND", prefixed(tt.inbound)).Replace(base)
			_, err := Parse([]byte(src), "s.yaml")
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("%v\n%s", err, src)
				}
				return
			}
			errs, _ := err.(Errors)
			for _, p := range errs {
				if p.Field == tt.field && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want %s: ...%s...; got\n%v", tt.field, tt.msg, err)
		})
	}
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}
