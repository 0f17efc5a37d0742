package main

// Records that survive: calls of every kind up when the box is killed
// (kill -9: a crash, a watchdog reset, a power cut) come back after the
// restart as CDRs ended by restart, with the trunk and number sent of an
// outside call that failed over to its second trunk.

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// survivedCDR is a record as GET /api/v1/cdr gives it, with its times.
type survivedCDR struct {
	cdrRow
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// openDB opens the box's database beside the running (or killed) box, as
// a second process would: a test reads what the box committed.
func openDB(t *testing.T, data string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.Join(data, "ringbox.db"), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// inProgress is a row of calls_in_progress.
type inProgress struct {
	callee, trunk, sent string
	answered            bool
}

func callsInProgress(t *testing.T, db *sql.DB) map[string]inProgress {
	t.Helper()
	rows, err := db.Query(`SELECT callee, trunk, number_sent, answer_ms IS NOT NULL FROM calls_in_progress`)
	if err != nil {
		t.Fatalf("read calls in progress: %v", err)
	}
	defer rows.Close()
	out := map[string]inProgress{}
	for rows.Next() {
		var r inProgress
		if err := rows.Scan(&r.callee, &r.trunk, &r.sent, &r.answered); err != nil {
			t.Fatal(err)
		}
		out[r.callee] = r
	}
	return out
}

func survivalSite(t *testing.T, first, second int) string {
	t.Helper()
	y := fmt.Sprintf(`version: 1
system: {name: Survive, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
  - {number: "102", name: Bob, secret: "bob-secret-102"}
  - {number: "103", name: Carol, secret: "carol-secret-103"}
  - {number: "104", name: Dan, secret: "dan-secret-104", permission: national}
  - {number: "105", name: Sue, secret: "sue-secret-105"}
agents:
  - {id: sue, name: Sue, extension: "105"}
queues:
  - {id: service, agents: [sue], on_empty: hangup}
trunks:
  - {id: first, host: "127.0.0.3:%d", transport: udp}
  - {id: second, host: "127.0.0.2:%d", transport: udp}
outbound:
  - {pattern: "9NXXNXXXXXX", strip: 1, prepend: "+1", trunks: [first, second], permission: national}
inbound:
  - {match: "+15551230000", to: queue:service}
`, first, second)
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKilledCallsOfEveryKindGetRestartCDRs: an internal call answered, an
// internal call still ringing, an outside call that the first trunk
// refused (503) and the second carried, and a call from the carrier
// answered by an agent through a queue are up when the box is killed:
// after the restart each has its CDR, ended by restart at a time between
// its start and the kill, the outside one naming trunk "second" and the
// number sent to it.
func TestKilledCallsOfEveryKindGetRestartCDRs(t *testing.T) {
	t.Parallel()
	first, second := freePort(t), freePort(t)
	data := t.TempDir()
	began := time.Now()
	a := startServe(t, serveOpt{site: survivalSite(t, first, second), data: data})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	if code, body := a.post("/api/v1/agents/sue/login", admin, `{}`); code != 200 {
		t.Fatalf("log sue in: %d %s", code, body)
	}
	// The first trunk refuses, the second answers and stays up.
	sippBackground(t, "-sf", testdata(t, "uas_503.xml"), "-i", "127.0.0.3", "-p", fmt.Sprint(first))
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(second),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-d", "0")
	bob := startBaresip(t, "102", "bob-secret-102", box, freePorts(t, 100), 1000)
	carol := startBaresipMode(t, "103", "carol-secret-103", box, freePorts(t, 100), 1200, "manual")
	sue := startBaresip(t, "105", "sue-secret-105", box, freePorts(t, 100), 1400)
	for _, b := range []*baresip{bob, carol, sue} {
		if !b.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", b.user)
		}
	}
	call := testdata(t, "uac_invite_auth.xml")
	up := func(args ...string) {
		sippBackground(t, append([]string{box, "-m", "1", "-d", "60000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)),
			"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4))}, args...)...)
	}
	up("-sf", call, "-s", "102", "-set", "caller", "101", "-au", "101", "-ap", "alice-secret-101")
	up("-sf", call, "-s", "103", "-set", "caller", "101", "-au", "101", "-ap", "alice-secret-101")
	up("-sf", call, "-s", "92125551234", "-set", "caller", "104", "-au", "104", "-ap", "dan-secret-104")
	sippBackground(t, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550777",
		"-m", "1", "-d", "60000", "-i", "127.0.0.2", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	for _, w := range []struct {
		b  *baresip
		ev string
	}{{bob, "CALL_ESTABLISHED"}, {carol, "CALL_INCOMING"}, {sue, "CALL_ESTABLISHED"}} {
		if _, ok := w.b.waitEvent(w.ev, 15*time.Second); !ok {
			t.Fatalf("baresip %s: no %s", w.b.user, w.ev)
		}
	}
	// Every call is in the database as in progress, the outside one
	// answered on the second trunk.
	db := openDB(t, data)
	a.waitFor("four calls in progress stored", func() bool {
		rows := callsInProgress(t, db)
		out := rows["92125551234"]
		return len(rows) == 4 && rows["102"].answered && !rows["103"].answered && rows["+15551230000"].answered &&
			out.answered && out.trunk == "second"
	})
	a.cmd.Process.Kill() // SIGKILL: no drain, no CDR
	<-a.exited
	killed := time.Now()

	b := startServe(t, serveOpt{data: data})
	rows := waitCDRs[survivedCDR](b, admin, 4)
	by := map[string]survivedCDR{}
	for _, r := range rows {
		by[r.Callee] = r
		if r.Cause != "restart" || r.HangupBy != "system" {
			t.Errorf("%s -> %s: cause %q by %q, want restart by system", r.Caller, r.Callee, r.Cause, r.HangupBy)
		}
		// Sane times: within the test, never after the kill, in order.
		if r.Start.Before(began.Add(-time.Second)) || r.End.After(killed) || r.End.Before(r.Start) ||
			(!r.Answer.IsZero() && (r.Answer.Before(r.Start) || r.Answer.After(r.End))) ||
			time.Duration(r.Billable)*time.Second > r.End.Sub(r.Start) {
			t.Errorf("%s -> %s: start %v answer %v end %v billable %ds; the box ran %v..%v",
				r.Caller, r.Callee, r.Start, r.Answer, r.End, r.Billable, began, killed)
		}
	}
	for _, w := range []struct {
		callee, caller, direction, trunk, sent string
		answered                               bool
	}{
		{"102", "101", "internal", "", "", true},
		{"103", "101", "internal", "", "", false},
		{"92125551234", "104", "outbound", "second", "+12125551234", true},
		{"+15551230000", "+12125550777", "inbound", "second", "", true},
	} {
		r, ok := by[w.callee]
		if !ok {
			t.Errorf("no CDR of the call %s -> %s after the restart", w.caller, w.callee)
			continue
		}
		if r.Caller != w.caller || r.Direction != w.direction || r.Trunk != w.trunk || r.NumberSent != w.sent || r.Answer.IsZero() == w.answered {
			t.Errorf("CDR %s -> %s: direction %q trunk %q sent %q answered %v; want %q, trunk %q, sent %q, answered %v",
				r.Caller, r.Callee, r.Direction, r.Trunk, r.NumberSent, !r.Answer.IsZero(), w.direction, w.trunk, w.sent, w.answered)
		}
	}
	if rows := callsInProgress(t, db); len(rows) != 0 {
		t.Errorf("calls still in progress after the restart recorded them: %v", rows)
	}
}
