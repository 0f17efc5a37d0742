package main

// The box killed with calls up (a crash, a watchdog reset, a power cut)
// and started again on the same data: the calls get their CDRs with cause
// restart, agents are still logged in as they were, and schedule
// overrides hold.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func restartSite(t *testing.T) string {
	t.Helper()
	y := `version: 1
system: {name: Restart, timezone: UTC}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
  - {number: "102", name: Bob, secret: "bob-secret-102"}
  - {number: "103", name: Sue, secret: "sue-secret-103"}
agents:
  - {id: sue, name: Sue, extension: "103"}
  - {id: ann, name: Ann, mobile: "+12125550177"}
queues:
  - {id: service, agents: [sue, ann], on_empty: hangup}
schedules:
  - id: business
    open: [{days: mon-sun, from: "00:00", to: "23:59"}]
`
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRestartAfterKillRecordsCallsAndKeepsState(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// A plain file stands for /dev/watchdog: it records the feeds and the
	// magic close.
	dev1, dev2 := filepath.Join(t.TempDir(), "watchdog"), filepath.Join(t.TempDir(), "watchdog")
	for _, d := range []string{dev1, dev2} {
		if err := os.WriteFile(d, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := startServe(t, serveOpt{site: restartSite(t), data: data, extra: []string{"--watchdog", dev1}})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")

	// State that must survive: sue unavailable for lunch, ann available,
	// the office forced closed.
	for _, c := range []struct{ path, body string }{
		{"/api/v1/agents/sue/login", `{"unavailable": true, "reason": "lunch"}`},
		{"/api/v1/agents/ann/login", `{}`},
		{"/api/v1/schedules/business/override", `{"state": "closed"}`},
	} {
		if code, body := a.post(c.path, admin, c.body); code != 200 {
			t.Fatalf("POST %s: %d %s", c.path, code, body)
		}
	}

	// Alice (SIPp) calls Bob (baresip, answers at once); the call stays up.
	bob := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 102 did not register")
	}
	sippBackground(t, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "102", "-set", "caller", "101", "-au", "101", "-ap", "alice-secret-101",
		"-m", "1", "-d", "60000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatal("bob did not answer")
	}
	answered := time.Now()
	// Two heartbeats (every 5s) while the call is up.
	time.Sleep(11 * time.Second)
	a.cmd.Process.Kill() // SIGKILL: no drain, no CDR
	<-a.exited
	killed := time.Since(answered)
	if fed, _ := os.ReadFile(dev1); len(fed) < 10 || strings.Contains(string(fed), "V") {
		t.Errorf("watchdog device after the kill holds %q; want a feed a second and no magic close", fed)
	}

	b := startServe(t, serveOpt{data: data, extra: []string{"--watchdog", dev2}})
	rows := b.waitCDR(admin, 1)
	if len(rows) != 1 {
		t.Fatalf("CDRs after the restart: %+v, want the one call", rows)
	}
	r := rows[0]
	if r.Cause != "restart" || r.HangupBy != "system" || r.Caller != "101" || r.Callee != "102" || r.Direction != "internal" {
		t.Errorf("CDR %+v, want 101 -> 102 internal, ended by restart (system)", r)
	}
	// It ends at the last heartbeat: 5 to 10 s after the answer, never
	// after the kill.
	if r.Answer.IsZero() || r.Billable < 5 || time.Duration(r.Billable)*time.Second > killed {
		t.Errorf("CDR answer %v billable %ds; want answered, billed 5s..%v", r.Answer, r.Billable, killed)
	}
	if !strings.Contains(b.log(), "calls interrupted by a restart recorded") {
		t.Error("the restart CDRs are not logged")
	}

	var sue, ann struct {
		Status, Reason string
	}
	b.get("/api/v1/agents/sue", admin, &sue)
	b.get("/api/v1/agents/ann", admin, &ann)
	if sue.Status != "unavailable" || sue.Reason != "lunch" {
		t.Errorf("sue after the restart: %s %q, want unavailable \"lunch\"", sue.Status, sue.Reason)
	}
	if ann.Status != "available" {
		t.Errorf("ann after the restart: %s, want available", ann.Status)
	}
	var sched struct {
		Open     bool
		Override string
	}
	b.get("/api/v1/schedules/business/override", admin, &sched)
	if sched.Override != "closed" || sched.Open {
		t.Errorf("schedule after the restart: %+v, want closed by override", sched)
	}

	// A clean stop leaves nothing for the next start.
	if err := b.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, b.log())
	}
	if fed, _ := os.ReadFile(dev2); len(fed) < 2 || !strings.HasSuffix(string(fed), "V") {
		t.Errorf("watchdog device after a clean stop holds %q; want feeds, then the magic close 'V'", fed)
	}
	c := startServe(t, serveOpt{data: data})
	if n := len(c.waitCDR(admin, 1)); n != 1 {
		t.Errorf("%d CDRs after a clean restart, want still 1", n)
	}
}
