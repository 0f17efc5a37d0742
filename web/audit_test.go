package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/store"
)

type auditRow struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Object string    `json:"object"`
	Detail string    `json:"detail"`
}

func (e *env) audit(query string) []auditRow {
	e.t.Helper()
	w := e.req("GET", "/api/v1/audit"+query, "", "Authorization", "Bearer t-admin")
	if w.Code != 200 {
		e.t.Fatalf("GET /api/v1/audit%s = %d %s", query, w.Code, w.Body)
	}
	var rows []auditRow
	if err := json.Unmarshal(w.Body.Bytes(), &rows); err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// A request refused for role or scope is in the audit log with who,
// what and why; a flood of them writes a few rows, the next of which says
// how many it stands for.
func TestAuditForbiddenRequests(t *testing.T) {
	e := newFullEnv(t)
	if w := e.req("GET", "/api/v1/agents/b1", "", "Authorization", "Bearer t-mona"); w.Code != 403 {
		t.Fatalf("mona reading bea: %d", w.Code)
	}
	if w := e.req("GET", "/api/v1/audit", "", "Authorization", "Bearer t-al"); w.Code != 403 {
		t.Fatalf("al reading the audit log: %d", w.Code)
	}
	rows := e.audit("?kind=web")
	if len(rows) != 2 {
		t.Fatalf("audit rows = %+v, want al's and mona's refusals", rows)
	}
	if r := rows[1]; r.Kind != "web.forbidden" || r.Actor != "mona" || r.Object != "GET /api/v1/agents/b1" || !strings.Contains(r.Detail, "agents who report to you") {
		t.Errorf("mona's refusal audited as %+v", r)
	}
	if r := rows[0]; r.Actor != "al" || !strings.Contains(r.Detail, "needs the admin role") {
		t.Errorf("al's refusal audited as %+v", r)
	}
	// A page refused for its role is audited too.
	cookie := e.login("al", agentPW)
	if w := e.req("GET", "/console", "", "Cookie", cookie); w.Code != 403 {
		t.Fatalf("al opening the console: %d", w.Code)
	}
	if rows := e.audit("?kind=web.forbidden&limit=1"); len(rows) != 1 || rows[0].Object != "GET /console" || !strings.Contains(rows[0].Detail, "admin role") {
		t.Errorf("al's console refusal audited as %+v", rows)
	}

	// The console's history page lists them.
	w := e.req("GET", "/console/history", "", "Cookie", e.login("root", adminPW))
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, "web.forbidden") || !strings.Contains(body, "GET /api/v1/agents/b1") {
		t.Errorf("console history = %d, want the refusals in its audit log:\n%.2000s", w.Code, body)
	}

	// 1,000 forbidden requests by al in the same minute write the
	// per-user share, not 1,000 rows.
	for range 1000 {
		e.req("GET", "/api/v1/agents/a3", "", "Authorization", "Bearer t-al")
	}
	if n := len(e.audit("?kind=web&limit=1000")); n > 10 {
		t.Errorf("1,000 refused requests wrote %d audit rows", n)
	}
	e.clock.Advance(2 * time.Minute)
	e.req("GET", "/api/v1/agents/a3", "", "Authorization", "Bearer t-al")
	if rows := e.audit("?kind=web&limit=1"); len(rows) != 1 || !strings.Contains(rows[0].Detail, "more like it not written") {
		t.Errorf("the row after the flood = %+v, want it to count the held-back attempts", rows)
	}
}

// The audit API lists every kind, other engineers' too (bans, changes),
// filters by kind and time and pages.
func TestAuditAPI(t *testing.T) {
	e := newFullEnv(t)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, a := range []string{"call.forbidden", "tollfraud.limit", "ban.added", "ban.lifted", "config.import", "web.forbidden", "banana"} {
		if err := e.st.InsertAudit(t.Context(), store.AuditEntry{Time: at.Add(time.Duration(i) * time.Minute), Actor: "x", Action: a, Object: fmt.Sprint(i), Detail: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	kinds := func(rows []auditRow) string {
		var k []string
		for _, r := range rows {
			k = append(k, r.Kind)
		}
		return strings.Join(k, " ")
	}
	for _, tt := range []struct{ query, want string }{
		// The box's own import of its site is later: before that day.
		{"?to=2026-03-02T00:00:00Z", "banana web.forbidden config.import ban.lifted ban.added tollfraud.limit call.forbidden"},
		{"?kind=ban", "ban.lifted ban.added"},
		{"?kind=ban.added", "ban.added"},
		{"?kind=tollfraud", "tollfraud.limit"},
		{"?from=2026-03-01T08:02:00Z&to=2026-03-01T08:04:00Z", "ban.lifted ban.added"},
		{"?to=2026-03-02T00:00:00Z&limit=2", "banana web.forbidden"},
		{"?to=2026-03-02T00:00:00Z&limit=2&offset=2", "config.import ban.lifted"},
		{"?to=2026-03-02T00:00:00Z&offset=7", ""},
	} {
		if got := kinds(e.audit(tt.query)); got != tt.want {
			t.Errorf("audit%s = %q, want %q", tt.query, got, tt.want)
		}
	}
	for _, q := range []string{"?from=yesterday", "?limit=-1", "?limit=100000", "?offset=x"} {
		if w := e.req("GET", "/api/v1/audit"+q, "", "Authorization", "Bearer t-admin"); w.Code != 400 {
			t.Errorf("audit%s = %d %s, want 400", q, w.Code, w.Body)
		}
	}
}
