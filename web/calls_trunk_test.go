package web_test

import (
	"strings"
	"testing"
	"time"

	"ringbox/firmware/cdr"
)

// TestCallsPageNamesTrunkAndNumberSent: an outside call's record shows the
// trunk that carried it and the number sent to it (after the route's strip
// and prefix), besides the number as dialled, on the page and in its CSV.
func TestCallsPageNamesTrunkAndNumberSent(t *testing.T) {
	e := newTeamsEnv(t)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	r := cdr.Record{CallID: "c-out", Caller: "104", Callee: "95559998888", Direction: cdr.Outbound, Trunk: "backup", NumberSent: "+15559998888",
		Start: at, Answer: at.Add(5 * time.Second), End: at.Add(time.Minute), Cause: "normal", HangupBy: cdr.ByCaller,
		Legs: []cdr.Leg{{ID: "l1", Target: "external:95559998888", Trunk: "backup", Number: "+15559998888", Cause: "normal"}}}
	if err := e.st.InsertCDR(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	root := e.login("root", adminPW)
	w := e.req("GET", "/calls?from=2026-03-01&to=2026-03-01", "", "Cookie", root)
	if w.Code != 200 {
		t.Fatalf("GET /calls = %d %s", w.Code, w.Body)
	}
	b := w.Body.String()
	for _, want := range []string{`>Trunk</th>`, `>Sent</th>`, "<td>backup</td>", "<td>&#43;15559998888</td>", "<td>95559998888</td>"} {
		if !strings.Contains(b, want) {
			t.Errorf("the calls table lacks %q", want)
		}
	}
	rows := readCSV(t, e.req("GET", "/calls?from=2026-03-01&to=2026-03-01&format=csv", "", "Cookie", root).Body.String())
	if len(rows) != 2 {
		t.Fatalf("CSV %q, want a header and the call", rows)
	}
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h] = rows[1][i]
	}
	// A leading + is quoted as every caller-controlled text is (csvSafe).
	if col["trunk"] != "backup" || col["number_sent"] != "'+15559998888" || col["callee"] != "95559998888" {
		t.Errorf("CSV trunk %q number_sent %q callee %q", col["trunk"], col["number_sent"], col["callee"])
	}
}
