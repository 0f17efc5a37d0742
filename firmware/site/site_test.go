package site

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func examples(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in docs/examples: %v", err)
	}
	return files
}

func parseFile(t *testing.T, path string) *Site {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data, filepath.Base(path))
	if err != nil {
		t.Fatalf("%s is not valid:\n%v", path, err)
	}
	return s
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestExamplesValid(t *testing.T) {
	for _, f := range examples(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s := parseFile(t, f)
			if errs := s.Validate(); errs != nil {
				t.Errorf("Validate on the parsed site: %v", errs)
			}
		})
	}
}

// TestRoundTrip: parse, export with secrets, parse again: the same site,
// except user passwords, which are never exported.
func TestRoundTrip(t *testing.T) {
	for _, f := range examples(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			a := parseFile(t, f)
			out, err := Marshal(a, true)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(out, "export.yaml")
			if err != nil {
				t.Fatalf("export does not parse:\n%v\n%s", err, out)
			}
			for i := range a.Users {
				a.Users[i].Password = ""
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("round trip changed the site:\nbefore %+v\nafter  %+v", a, b)
			}
			if !Equal(a, b) {
				t.Errorf("Equal = false after a round trip")
			}
			again, _ := Marshal(b, true)
			if !bytes.Equal(out, again) {
				t.Errorf("second export differs from the first")
			}
		})
	}
}

func TestExportGolden(t *testing.T) {
	s := parseFile(t, "../../docs/examples/everything.yaml")
	out, err := Marshal(s, true)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "everything.export.golden", out)
}

func TestMarshalSecrets(t *testing.T) {
	s := parseFile(t, "../../docs/examples/everything.yaml")
	s.Users[0].PasswordHash = "$2a$10$hashhashhash"
	secrets := []string{"change-me-101", "change-me-trunk", "4711", "2468", "change-me-smtp", "97531"}
	never := []string{"change-me-admin", "change-me-sue", "hashhash", "password_hash"}

	without, err := Marshal(s, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range append(secrets, never...) {
		if bytes.Contains(without, []byte(sec)) {
			t.Errorf("export without secrets contains %q", sec)
		}
	}
	with, err := Marshal(s, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets {
		if !bytes.Contains(with, []byte(sec)) {
			t.Errorf("export with secrets lacks %q", sec)
		}
	}
	for _, sec := range never {
		if bytes.Contains(with, []byte(sec)) {
			t.Errorf("export with secrets contains %q, which is never exported", sec)
		}
	}
	// Marshal must not touch the site it is given.
	if s.Extensions[0].Secret != "change-me-101" || s.Users[0].Password != "change-me-admin" || s.System.SMTP.Password != "change-me-smtp" {
		t.Errorf("Marshal changed the site it exported")
	}
	// A site exported without secrets still imports.
	if _, err := Parse(without, "nosecrets.yaml"); err != nil {
		t.Errorf("export without secrets does not parse: %v", err)
	}
}

// TestCheckGolden is the output of `ringbox check` on a file full of
// mistakes: every mistake reported at once, each with its line.
func TestCheckGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/check.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, "check.yaml")
	errs, ok := err.(Errors)
	if !ok {
		t.Fatalf("Parse error is %T, want Errors: %v", err, err)
	}
	golden(t, "check.golden", []byte(errs.Error()+"\n"))

	// Beyond the golden text: each kind of mistake is on its own line.
	want := []struct {
		line int
		msg  string
	}{
		{6, "unknown time zone"},
		{12, "duplicate number 101"},
		{13, `"1O3" must be digits only`},
		{20, "overlaps agents[0].hours[0] on Monday at 11:30"},
		{21, "impossible time"},
		{22, `unknown day "frii"`},
		{23, `unknown role "boss"`},
		{23, `agent "bob" is not a manager`},
		{28, `unknown member "steve"`},
		{29, `unknown member "ext:109"`},
		{29, "bad duration 0s"},
		{30, `unknown destination "queue:servce" (no queue with id "servce")`},
		{34, `unknown strategy "sequental"`},
		{35, `unknown member "fxs:3"`},
		{36, `bad duration "15 seconds"`},
		{40, `queue "service" has no agents`},
		{41, `unknown destination "voicemail:nobody"`},
		{42, `unknown prompt "about-us"`},
		{44, `unknown field "skill"`},
		{45, `exit_key must be one key`},
		{51, `option key "10"`},
		{51, `unknown destination "announce:missing"`},
		{58, "overlaps schedules[0].open[1] on Saturday at 01:00"},
		{59, `bad holiday "25/12/2026"`},
		{63, "this route is never used: inbound[0]"},
		{63, `unknown schedule "busness"`},
		{66, `needs host (a SIP trunk) or fxo`},
		{70, `this route is never used: outbound[0] (pattern "9."`},
		{71, `'[' at position 6 is never closed`},
		{71, `unknown trunk "carier"`},
		{74, `no extension with number "201"`},
	}
	for _, w := range want {
		found := false
		for _, p := range errs {
			if p.Line == w.line && strings.Contains(p.Msg, w.msg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no problem on line %d containing %q", w.line, w.msg)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const base = "version: 1\nsystem: {name: X}\n"
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
		msg   string
	}{
		{"syntax", "version: 1\nsystem: [\n", 2, "", "not valid YAML"},
		{"empty", "", 1, "", "the file is empty"},
		{"not a mapping", "- a\n- b\n", 1, "", "must be a set of fields"},
		{"unknown top field", base + "extentions: []\n", 3, "extentions", "did you mean extensions?"},
		{"unknown nested field", base + "agents:\n  - id: bob\n    extension: \"1\"\n    hourz: []\nextensions: [{number: \"1\"}]\n", 6, "agents[0].hourz", `unknown field "hourz"`},
		{"duplicate field", base + "version: 1\n", 3, "version", "given twice (first at line 1)"},
		{"version", "version: 2\nsystem: {name: X}\n", 1, "version", "version must be 1, not 2"},
		{"not a number", "version: one\n", 1, "version", `must be a whole number, not "one"`},
		{"not a bool", base + "extensions: [{number: \"1\", voicemail: maybe}]\n", 3, "extensions[0].voicemail", "must be true or false"},
		{"list expected", base + "extensions: {number: 1}\n", 3, "extensions", "must be a list"},
		{"negative duration", base + "hunt_groups: [{id: h, members: [\"+1555\"], ring: -5s}]\n", 3, "hunt_groups[0].ring", "negative"},
		{"tone zone", "version: 1\nsystem: {name: X, tone_zone: xx}\n", 2, "system.tone_zone", `unknown tone zone "xx"`},
		{"queue agent bad", base + "agents: [{id: a, extension: \"1\"}]\nextensions: [{number: \"1\"}]\nqueues: [{id: q, agents: [[a]]}]\n", 5, "queues[0].agents[0]", "must be an agent id or {agent: ID, level: N}"},
		{"second document", base + "---\nversion: 1\n", 3, "", "second document"},
		{"alias bomb", "version: 1\nsystem: {name: X}\nx: &a [1,1,1,1,1,1,1,1,1,1]\n", 3, "x", "unknown field"},
		{"transfer recall too short", "version: 1\nsystem: {name: X, transfer_recall: 2s}\n", 2, "system.transfer_recall", "too short"},
		{"transfer recall too long", "version: 1\nsystem: {name: X, transfer_recall: 1h}\n", 2, "system.transfer_recall", "too long"},
		{"transfer recall negative", "version: 1\nsystem: {name: X, transfer_recall: -5s}\n", 2, "system.transfer_recall", "negative"},
		{"pickup group name", "version: 1\nsystem: {name: X}\nextensions: [{number: \"101\", pickup_group: \"a b\"}]\n", 3, "extensions[0].pickup_group", "letters, digits"},
		{"park timeout too short", "version: 1\nsystem: {name: X, park_timeout: 2s}\n", 2, "system.park_timeout", "too short"},
		{"park timeout too long", "version: 1\nsystem: {name: X, park_timeout: 2h}\n", 2, "system.park_timeout", "too long"},
		{"park slots not a range", "version: 1\nsystem: {name: X, park_slots: 7a-9}\n", 2, "system.park_slots", "range of numbers"},
		{"park slots backwards", "version: 1\nsystem: {name: X, park_slots: 709-701}\n", 2, "system.park_slots", "ends before"},
		{"park slots too many", "version: 1\nsystem: {name: X, park_slots: 1000-2000}\n", 2, "system.park_slots", "more than 100"},
		{"park slot is an extension", "version: 1\nsystem: {name: X, park_slots: 100-109}\nextensions: [{number: \"101\"}]\n", 2, "system.park_slots", "also extension 101"},
		{"silence timeout on a SIP trunk", base + "trunks: [{id: carrier, host: sip.example, silence_timeout: 30s}]\n", 3, "trunks[0].silence_timeout", "analog (fxo) lines only"},
		{"two queues on one LED", base + "queues: [{id: a, agents: [bob], led: 1}, {id: b, agents: [bob], led: 1}]\n", 3, "queues[1].led", "already shows queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "f.yaml")
			errs, ok := err.(Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("Parse error = %v (%T), want Errors", err, err)
			}
			for _, p := range errs {
				if p.Line == tt.line && p.Field == tt.field && strings.Contains(p.Msg, tt.msg) && p.File == "f.yaml" {
					return
				}
			}
			t.Errorf("want a problem f.yaml:%d: %s: ...%s...; got\n%v", tt.line, tt.field, tt.msg, errs)
		})
	}
}

func TestAliasBombRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nsystem: {name: X}\nextensions: [{number: \"1\"}]\n")
	b.WriteString("hunt_groups:\n  - &g {id: g, members: &m [ext:1, ext:1, ext:1, ext:1, ext:1, ext:1, ext:1, ext:1, ext:1, ext:1]}\n")
	// Each level multiplies by ten through aliases: ring groups whose stages
	// all point at the same member list.
	b.WriteString("ring_groups:\n")
	b.WriteString("  - {id: r, stages: &s [")
	for i := range 100 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{ring: *m, for: 1s}")
	}
	b.WriteString("]}\n")
	for i := range 300 {
		b.WriteString("  - {id: r")
		b.WriteString(strings.Repeat("x", i+1))
		b.WriteString(", stages: *s}\n")
	}
	start := time.Now()
	_, err := Parse([]byte(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Parse of an alias bomb = %v, want a too-large error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse of an alias bomb took %v", d)
	}
}

func TestQueueAgentForms(t *testing.T) {
	const doc = `version: 1
system: {name: X}
extensions: [{number: "1"}, {number: "2"}]
agents: [{id: bob, extension: "1"}, {id: sue, extension: "2"}]
queues:
  - id: q
    agents: [bob, {agent: sue, level: 2}]
`
	s, err := Parse([]byte(doc), "q.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueAgent{{Agent: "bob"}, {Agent: "sue", Level: 2}}
	if !reflect.DeepEqual(s.Queues[0].Agents, want) {
		t.Fatalf("agents = %+v, want %+v", s.Queues[0].Agents, want)
	}
	out, err := Marshal(s, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("agents: [bob, {agent: sue, level: 2}]")) {
		t.Errorf("export writes queue agents as\n%s\nwant agents: [bob, {agent: sue, level: 2}]", out)
	}
	// Level 1 is the first level: written as the plain id.
	s.Queues[0].Agents[1].Level = 1
	out, _ = Marshal(s, false)
	if !bytes.Contains(out, []byte("agents: [bob, sue]")) {
		t.Errorf("a level-1 agent is not written as a plain id:\n%s", out)
	}
}

// TestValidateGoSite: a site built in Go (as the store loads it) has no
// lines, but each problem still names its field.
func TestValidateGoSite(t *testing.T) {
	s := &Site{
		Version:    1,
		System:     System{Name: "X", Timezone: "Europe/Paris"},
		Extensions: []Extension{{Number: "101"}, {Number: "101"}},
		Agents:     []Agent{{ID: "bob", Extension: "101"}},
		Queues:     []Queue{{ID: "q", Agents: []QueueAgent{{Agent: "bob"}, {Agent: "ghost"}}, OnEmpty: "voicemail:101"}},
		RingGroups: []RingGroup{{ID: "r", Stages: []Stage{{Ring: []string{"bob"}, For: Duration(-time.Second)}}, Repeat: -1}},
		IVRs:       []IVR{{ID: "m", Options: map[string]string{"1": "queue:q", "#": "hangup", "**": "hangup"}}},
	}
	errs := s.Validate()
	got := errs.Error()
	for _, want := range []string{
		"extensions[1].number: duplicate number 101 (already used by extensions[0] at extensions[0].number)",
		`queues[0].agents[1]: unknown agent "ghost"`,
		`queues[0].on_empty: unknown destination "voicemail:101" (no voicemail box "101", and no extension 101 with voicemail: true)`,
		"ring_groups[0].stages[0].for: bad duration -1s: it cannot be negative",
		"ring_groups[0].repeat: must be 0 or more, not -1",
		`ivrs[0].options["**"]: option key "**" must be one key`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate output lacks %q; got:\n%s", want, got)
		}
	}
	for _, p := range errs {
		if p.Line != 0 || p.File != "" {
			t.Errorf("problem %v has a line or file on a Go-built site", p)
		}
	}
	valid := &Site{Version: 1, System: System{Name: "ok"}}
	if errs := valid.Validate(); errs != nil {
		t.Errorf("a minimal site is invalid: %v", errs)
	}
	if err := valid.Validate().Err(); err != nil {
		t.Errorf("Err() of no problems = %v, want nil", err)
	}
}

// TestValidateChecks runs each check on a small change to a valid site.
func TestValidateChecks(t *testing.T) {
	base := func() *Site {
		return &Site{
			Version:    1,
			System:     System{Name: "T", Timezone: "America/New_York"},
			Extensions: []Extension{{Number: "101", Voicemail: true}, {Number: "102"}, {Number: "201"}},
			Agents: []Agent{
				{ID: "bob", Extension: "101", Mobile: "+15550001001"},
				{ID: "sue", Extension: "102", Role: RoleManager},
			},
			HuntGroups: []HuntGroup{{ID: "h", Members: []string{"bob", "ext:102", "fxs:1", "+15552001002"}}},
			Queues:     []Queue{{ID: "q", Agents: []QueueAgent{{Agent: "bob"}}}},
			Schedules:  []Schedule{{ID: "biz", Open: []Range{{Days: "mon-fri", From: "09:00", To: "17:00"}}}},
			Trunks:     []Trunk{{ID: "c", Host: "sip.example:5060"}, {ID: "p", FXO: 1}},
			Outbound:   []OutboundRoute{{Pattern: "911", Trunks: []string{"p", "c"}, Emergency: true}, {Pattern: "+1NXXNXXXXXX", Trunks: []string{"c"}}},
			Lines:      []Line{{Port: "fxs:1", Extension: "201"}},
			Inbound:    []InboundRoute{{Match: "fxo:1", To: "hunt:h"}},
			Users:      []User{{Login: "admin", Role: RoleAdmin}},
		}
	}
	if errs := base().Validate(); errs != nil {
		t.Fatalf("base site invalid: %v", errs)
	}
	tests := []struct {
		name   string
		change func(s *Site)
		field  string
		msg    string
	}{
		{"extension is an emergency number", func(s *Site) { s.Extensions[2].Number = "911"; s.Lines = nil }, "extensions[2].number", "is also an emergency number"},
		{"preference needs mobile", func(s *Site) { s.Agents[1].RingPreference = RingMobileOnly }, "agents[1].ring_preference", "needs the agent's mobile"},
		{"nothing to ring", func(s *Site) { s.Agents[1].Extension = "" }, "agents[1]", "neither an extension nor a mobile"},
		{"browser then extension needs extension", func(s *Site) {
			s.Agents[1].Extension, s.Agents[1].RingPreference = "", RingBrowserThenExtension
		}, "agents[1].ring_preference", "needs the agent's extension"},
		{"browser and extension needs extension", func(s *Site) {
			s.Agents[1].Extension, s.Agents[1].RingPreference = "", RingBrowserAndExtension
		}, "agents[1].ring_preference", "needs the agent's extension"},
		{"unknown preference", func(s *Site) { s.Agents[1].RingPreference = "webrtc" }, "agents[1].ring_preference", "unknown ring preference"},
		{"agent extension", func(s *Site) { s.Agents[1].Extension = "999" }, "agents[1].extension", `no extension with number "999"`},
		{"reports to non-manager", func(s *Site) { s.Agents[1].ReportsTo = "bob" }, "agents[1].reports_to", `agent "bob" is not a manager`},
		{"reports to unknown", func(s *Site) { s.Agents[0].ReportsTo = "zed" }, "agents[0].reports_to", `no agent with id "zed"`},
		{"button twice", func(s *Site) { s.Agents[0].Button, s.Agents[1].Button = 1, 1 }, "agents[1].button", "button 1 is already agents[0]'s"},
		{"numeric agent id", func(s *Site) { s.Agents = append(s.Agents, Agent{ID: "555", Extension: "101"}) }, "agents[2].id", "looks like a phone number"},
		{"external member unroutable", func(s *Site) { s.HuntGroups[0].Members[3] = "4412345" }, "hunt_groups[0].members[3]", "no outbound route matches the number 4412345"},
		{"extension written as number", func(s *Site) { s.Outbound = s.Outbound[:1]; s.HuntGroups[0].Members = []string{"101"} }, "hunt_groups[0].members[0]", "for extension 101 write ext:101"},
		{"member twice", func(s *Site) { s.HuntGroups[0].Members[1] = "bob" }, "hunt_groups[0].members[1]", "listed twice"},
		{"queue agent twice", func(s *Site) { s.Queues[0].Agents = append(s.Queues[0].Agents, QueueAgent{Agent: "bob", Level: 2}) }, "queues[0].agents[1]", "listed twice"},
		{"queue strategy", func(s *Site) { s.Queues[0].Strategy = "fastest" }, "queues[0].strategy", `unknown strategy "fastest"`},
		{"comfort every zero", func(s *Site) { s.Queues[0].Comfort = &Comfort{Prompts: []string{"please-hold"}} }, "queues[0].comfort.every", "longer than zero"},
		{"builtin prompt ok, unknown music", func(s *Site) { s.Queues[0].HoldMusic = "jazz" }, "queues[0].hold_music", `unknown hold music "jazz"`},
		{"exit_to without key", func(s *Site) { s.Queues[0].ExitTo = "hangup" }, "queues[0].exit_to", "needs exit_key"},
		{"ivr without options", func(s *Site) { s.IVRs = []IVR{{ID: "m"}} }, "ivrs[0]", "no options and no direct_dial"},
		{"announcement without next", func(s *Site) { s.Announcements = []Announcement{{ID: "a", Prompt: "goodbye"}} }, "announcements[0].next", "missing destination"},
		{"duplicate ids", func(s *Site) { s.Queues = append(s.Queues, s.Queues[0]) }, "queues[1].id", `duplicate id "q" (already used at queues[0].id)`},
		{"bad id", func(s *Site) { s.Queues[0].ID = "my queue" }, "queues[0].id", "is not a valid id"},
		{"schedule from missing", func(s *Site) { s.Schedules[0].Open[0].From = "" }, "schedules[0].open[0]", "missing from time"},
		{"schedule empty range", func(s *Site) { s.Schedules[0].Open[0].To = "09:00" }, "schedules[0].open[0]", "the range is empty"},
		{"midnight overlap", func(s *Site) {
			s.Schedules[0].Open = []Range{{Days: "sun", From: "22:00", To: "02:00"}, {Days: "mon", From: "01:00", To: "05:00"}}
		}, "schedules[0].open[1]", "overlaps schedules[0].open[0] on Monday at 01:00"},
		{"week wrap overlap", func(s *Site) {
			s.Schedules[0].Open = []Range{{Days: "sun", From: "00:00", To: "03:00"}, {Days: "sat", From: "23:00", To: "01:00"}}
		}, "schedules[0].open[1]", "overlaps schedules[0].open[0] on Sunday at 00:00"},
		{"inbound when unknown", func(s *Site) { s.Inbound[0].When = "closed" }, "inbound[0].when", `unknown schedule "closed"`},
		{"inbound fxo unknown", func(s *Site) { s.Inbound[0].Match = "fxo:2" }, "inbound[0].match", "no trunk uses FXO port 2"},
		{"inbound bad match", func(s *Site) { s.Inbound[0].Match = "main line" }, "inbound[0].match", `bad match "main line"`},
		{"inbound after catch-all", func(s *Site) {
			s.Inbound = []InboundRoute{{Match: "*", To: "hangup"}, {Match: "+15551230000", To: "hangup"}}
		}, "inbound[1].match", `already takes every call with match "*"`},
		{"inbound otherwise without when", func(s *Site) { s.Inbound[0].Otherwise = "hangup" }, "inbound[0].otherwise", "only used with when"},
		{"trunk both", func(s *Site) { s.Trunks[1].Host = "x.example" }, "trunks[1]", "has both host and fxo"},
		{"trunk bad port", func(s *Site) { s.Trunks[0].Host = "sip.example:99999" }, "trunks[0].host", "bad host"},
		{"trunk transport", func(s *Site) { s.Trunks[0].Transport = "sctp" }, "trunks[0].transport", `unknown transport "sctp"`},
		{"trunk prack", func(s *Site) { s.Trunks[0].Prack = "always" }, "trunks[0].prack", `unknown prack mode "always"`},
		{"trunk srtp", func(s *Site) { s.Trunks[0].Transport, s.Trunks[0].SRTP = "tls", "dtls" }, "trunks[0].srtp", `unknown srtp mode "dtls"`},
		{"srtp on udp", func(s *Site) { s.Trunks[0].SRTP = "sdes" }, "trunks[0].srtp", "transport: tls only"},
		{"srtp on an fxo line", func(s *Site) { s.Trunks[1].SRTP = "off" }, "trunks[1]", "analog (fxo) line"},
		{"fxo trunk transport", func(s *Site) { s.Trunks[1].Transport = "tcp" }, "trunks[1]", "analog (fxo) line"},
		{"trunk register without user", func(s *Site) { s.Trunks[0].Register = true }, "trunks[0].register", "needs username"},
		{"outbound shadowed by wider", func(s *Site) {
			s.Outbound = append(s.Outbound, OutboundRoute{Pattern: "+1212NXXXXXX", Trunks: []string{"c"}})
		}, "outbound[2].pattern", `outbound[1] (pattern "+1NXXNXXXXXX", outbound[1]) comes first`},
		{"outbound identical", func(s *Site) { s.Outbound = append(s.Outbound, s.Outbound[0]) }, "outbound[2].pattern", "never used"},
		{"outbound no trunks", func(s *Site) { s.Outbound[1].Trunks = nil }, "outbound[1]", "no trunks"},
		{"outbound strip all", func(s *Site) { s.Outbound[0].Strip = 3 }, "outbound[0].strip", "would remove the whole number"},
		{"outbound permission", func(s *Site) { s.Outbound[1].Permission = "world" }, "outbound[1].permission", `unknown permission "world"`},
		{"line port", func(s *Site) { s.Lines[0].Port = "fxo:1" }, "lines[0].port", `bad port "fxo:1"`},
		{"line twice", func(s *Site) { s.Lines = append(s.Lines, s.Lines[0]) }, "lines[1].port", "listed twice"},
		{"user role", func(s *Site) { s.Users[0].Role = "root" }, "users[0].role", `unknown role "root"`},
		{"user agent unknown", func(s *Site) { s.Users = append(s.Users, User{Login: "x", Role: RoleAgent, Agent: "zed"}) }, "users[1].agent", `no agent with id "zed"`},
		{"agent user needs agent", func(s *Site) { s.Users = append(s.Users, User{Login: "x", Role: RoleAgent}) }, "users[1]", "needs agent:"},
		{"manager user not manager", func(s *Site) { s.Users = append(s.Users, User{Login: "x", Role: RoleManager, Agent: "bob"}) }, "users[1].agent", "is not a manager"},
		{"duplicate login", func(s *Site) { s.Users = append(s.Users, s.Users[0]) }, "users[1].login", `duplicate login "admin"`},
		{"mailbox clashes with extension box", func(s *Site) { s.Voicemail = []Mailbox{{Box: "101"}} }, "voicemail[0].box", "already extension 101's own mailbox"},
		{"mailbox prompt", func(s *Site) { s.Voicemail = []Mailbox{{Box: "g", Greeting: "hello"}} }, "voicemail[0].greeting", `unknown prompt "hello"`},
		{"hold music without files", func(s *Site) { s.HoldMusic = []HoldMusic{{ID: "jazz"}} }, "hold_music[0]", "needs files or a device"},
		{"loop_to", func(s *Site) { s.System.LoopTo = "ivr:none" }, "system.loop_to", `unknown destination "ivr:none" (no ivr with id "none")`},
		{"sip_digest unknown", func(s *Site) { s.System.SIPDigest = []string{"md5", "sha1"} }, "system.sip_digest[1]", `unknown digest algorithm "sha1"`},
		{"sip_digest twice", func(s *Site) { s.System.SIPDigest = []string{"sha256", "md5", "MD5"} }, "system.sip_digest[2]", "md5 is listed twice"},
		{"smtp from", func(s *Site) { s.System.SMTP = &SMTP{Host: "mail:25", From: "pbx"} }, "system.smtp.from", "not an e-mail address"},
		{"external destination", func(s *Site) { s.Inbound[0].To = "external:0044123" }, "inbound[0].to", "no outbound route matches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(s)
			errs := s.Validate()
			for _, p := range errs {
				if p.Field == tt.field && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want %s: ...%s...; got:\n%v", tt.field, tt.msg, errs)
		})
	}
}

func TestBuiltinsNeedNoDeclaration(t *testing.T) {
	s := &Site{
		Version:       1,
		Queues:        []Queue{{ID: "q", Agents: []QueueAgent{{Agent: "a"}}, HoldMusic: "default", Comfort: &Comfort{Every: Duration(time.Minute), Prompts: BuiltinPrompts}}},
		Agents:        []Agent{{ID: "a", Mobile: "+15550001"}},
		Announcements: []Announcement{{ID: "x", Prompt: "recording-notice", Next: "hangup"}},
		Outbound:      []OutboundRoute{{Pattern: "+1.", Trunks: []string{"t"}}},
		Trunks:        []Trunk{{ID: "t", Host: "h"}},
	}
	if errs := s.Validate(); errs != nil {
		t.Errorf("built-in prompts and hold music are not accepted: %v", errs)
	}
}

func TestProblemFormat(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Field: "queues[0]", Msg: "bad"}, "a.yaml:3: queues[0]: bad"},
		{Problem{Field: "queues[0]", Msg: "bad"}, "queues[0]: bad"},
		{Problem{Line: 3, Field: "x", Msg: "bad"}, "line 3: x: bad"},
		{Problem{File: "a.yaml", Line: 1, Msg: "not valid YAML"}, "a.yaml:1: not valid YAML"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	errs := Errors{&tests[0].p, &tests[1].p}
	if got := errs.Error(); got != "a.yaml:3: queues[0]: bad\nqueues[0]: bad" {
		t.Errorf("Errors.Error() = %q", got)
	}
	if Errors(nil).Err() != nil {
		t.Errorf("nil Errors.Err() is not nil")
	}
}

func TestDefaults(t *testing.T) {
	var q Queue
	var g RingGroup
	var h HuntGroup
	var m IVR
	var mb Mailbox
	var sys System
	var e Extension
	checks := []struct {
		name      string
		got, want any
	}{
		{"queue ring", q.Ring(), 15 * time.Second},
		{"queue retry", q.RetryAfter(), 5 * time.Second},
		{"queue level wait", q.LevelAfter(), 30 * time.Second},
		{"queue service level", q.ServiceTarget(), 20 * time.Second},
		{"queue strategy", q.StrategyName(), QueueLongestIdle},
		{"queue agent level", QueueAgent{Agent: "a"}.Levels(), 1},
		{"ring group repeat", g.Repeats(), 1},
		{"ring group confirm", g.ConfirmMode(), ConfirmNever},
		{"ring group no answer", g.NoAnswerDest(), "hangup"},
		{"hunt ring", h.RingTime(), 15 * time.Second},
		{"hunt strategy", h.StrategyName(), HuntSequential},
		{"ivr timeout", m.Wait(), 10 * time.Second},
		{"ivr digit timeout", m.InterDigit(), 2 * time.Second},
		{"ivr retries", m.InvalidTries(), 3},
		{"ivr timeout retries", m.TimeoutTries(), 3},
		{"ivr on invalid", m.InvalidDest(), "hangup"},
		{"mailbox max", mb.MaxLen(), 3 * time.Minute},
		{"mailbox min", mb.MinLen(), 2 * time.Second},
		{"timezone", sys.TimezoneName(), "UTC"},
		{"tone zone", sys.Zone(), "us"},
		{"language", sys.Lang(), "en"},
		{"loop limit", sys.Loops(), 5},
		{"loop to", sys.LoopDest(), "hangup"},
		{"permission", e.PermissionClass(), PermNational},
		{"set value wins", (&Queue{AgentRing: Duration(7 * time.Second)}).Ring(), 7 * time.Second},
		{"agent ext only", (&Agent{Extension: "1"}).Preference(), RingExtensionOnly},
		{"agent both", (&Agent{Extension: "1", Mobile: "+1"}).Preference(), RingBoth},
		{"agent mobile only", (&Agent{Mobile: "+1"}).Preference(), RingMobileOnly},
		{"agent explicit", (&Agent{Extension: "1", Mobile: "+1", RingPreference: RingExtensionThenMobile}).Preference(), RingExtensionThenMobile},
		{"agent mobile after", (&Agent{}).MobileDelay(), 15 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts exports to a file
// that parses back to the same site.
func FuzzParse(f *testing.F) {
	for _, file := range examples(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if data, err := os.ReadFile("testdata/check.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("version: 1\nsystem: {name: x}\n"))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("Parse error is %T, want Errors", err)
			}
			if s != nil {
				t.Fatalf("Parse returned a site with an error")
			}
			return
		}
		out, err := Marshal(s, true)
		if err != nil {
			t.Fatalf("Marshal of a parsed site: %v", err)
		}
		s2, err := Parse(out, "export.yaml")
		if err != nil {
			t.Fatalf("export does not parse: %v\n%s", err, out)
		}
		if !Equal(s, s2) {
			t.Fatalf("export parses to a different site:\n%s", out)
		}
	})
}

// BenchmarkParse measures reading and validating the demo site, as
// `ringbox check` and an import do.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../../docs/examples/demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "demo.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSystemDigest(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want []string
	}{
		{nil, []string{"MD5"}},
		{[]string{"md5"}, []string{"MD5"}},
		{[]string{"sha256"}, []string{"SHA-256"}},
		{[]string{"sha256", "md5"}, []string{"SHA-256", "MD5"}},
		{[]string{"MD5", "SHA-256"}, []string{"MD5", "SHA-256"}},
	} {
		s := System{SIPDigest: tt.in}
		if got := s.Digest(); !slices.Equal(got, tt.want) {
			t.Errorf("Digest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The file's line is reported, and the setting survives an export.
	_, err := Parse([]byte("version: 1\nsystem:\n  name: T\n  sip_digest: [md5, sha1]\n"), "site.yaml")
	if err == nil || !strings.Contains(err.Error(), "site.yaml:4") || !strings.Contains(err.Error(), `unknown digest algorithm "sha1"`) {
		t.Errorf("sip_digest [md5, sha1]: %v, want the problem on line 4", err)
	}
	s, err := Parse([]byte("version: 1\nsystem: {name: T, sip_digest: [sha256, md5]}\n"), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(s, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "sip_digest: [sha256, md5]") {
		t.Errorf("export lacks sip_digest:\n%s", out)
	}
}
