package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// bigSite is the size the console's targets are set at: 500 extensions,
// 200 agents, 50 queues (10 agents each), 20 ring groups, 10 IVRs.
func bigSite() string {
	var b strings.Builder
	b.WriteString("version: 1\nsystem: {name: Big Office, timezone: Europe/Paris}\nextensions:\n")
	for i := range 500 {
		fmt.Fprintf(&b, "  - {number: \"%d\", name: Person %d, secret: secret-%d-long, voicemail: true}\n", 1000+i, i, i)
	}
	b.WriteString("agents:\n  - {id: bob, name: Bob, extension: \"1499\"}\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  - {id: a%d, name: Agent %d, extension: \"%d\", hours: [{days: mon-fri, from: \"08:00\", to: \"18:00\"}]}\n", i, i, 1000+i)
	}
	b.WriteString("ring_groups:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "  - {id: rg%d, stages: [{ring: [ext:%d, ext:%d], for: 10s}, {ring: [a%d, a%d, ext:%d], for: 20s}], no_answer: \"voicemail:%d\"}\n",
			i, 1000+i, 1001+i, i, i+1, 1300+i, 1000+i)
	}
	b.WriteString("queues:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - {id: q%d, name: Queue %d, agents: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "a%d", (i*4+j)%200)
		}
		fmt.Fprintf(&b, "], on_empty: \"voicemail:%d\"}\n", 1000+i)
	}
	b.WriteString("ivrs:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  - {id: ivr%d, greeting: main-menu, options: {\"1\": \"queue:q%d\", \"2\": \"ringgroup:rg%d\", \"0\": \"extension:%d\"}}\n", i, i, i, 1000+i)
	}
	b.WriteString("inbound:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  - {match: \"+1555000%04d\", to: \"ivr:ivr%d\"}\n", i, i)
	}
	return b.String()
}

// BenchmarkConsolePage is the server time of each kind of console page on
// a big site (target: under 50 ms each).
func BenchmarkConsolePage(b *testing.B) {
	e := newConsoleEnv(b, bigSite())
	br := e.login("alice", consoleAdminPW)
	// A draft with one change, so pages carry the draft bar and the review
	// has something to show.
	if p := br.post("/console/k/extensions/o/1003", "number", "1003", "name", "Renamed", "voicemail", "1"); p.code != http.StatusSeeOther {
		b.Fatalf("draft edit: %d\n%s", p.code, p.body)
	}
	for _, path := range []string{"/console", "/console/k/extensions", "/console/k/extensions/o/1010", "/console/k/agents/o/a10",
		"/console/k/queues/o/q10", "/console/k/ring_groups/o/rg3", "/console/k/ivrs/o/ivr2", "/console/k/inbound", "/console/review", "/console/review/diff", "/console/history"} {
		b.Run(strings.ReplaceAll(strings.TrimPrefix(path, "/console"), "/", "_"), func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				p := br.get(path)
				if p.code != 200 {
					b.Fatalf("%s: %d", path, p.code)
				}
				size = len(p.body)
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

// BenchmarkConsoleApplyOneField is an apply of a one-field change on a big
// site, from the click to the new configuration in use (target: under
// 200 ms).
func BenchmarkConsoleApplyOneField(b *testing.B) {
	e := newConsoleEnv(b, bigSite())
	br := e.login("alice", consoleAdminPW)
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		br.post("/console/k/extensions/o/1003", "number", "1003", "name", fmt.Sprintf("Name %d", i), "voicemail", "1")
		base := e.cfg.Current().Version
		b.StartTimer()
		p := br.do("POST", "/console/apply", map[string][]string{"base": {fmt.Sprint(base)}})
		b.StopTimer()
		if e.cfg.Current().Version == base {
			b.Fatalf("apply %d did not publish: %d\n%s", i, p.code, p.body)
		}
		b.StartTimer()
	}
}
