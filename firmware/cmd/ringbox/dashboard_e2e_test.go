package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestDashboardInChromium drives the real appliance's live dashboard and
// a queue wallboard with Chromium (web/e2e/dashboard.mjs): the wallboard
// fits 1920x1080 and 1280x720 without scrollbars, both pages follow an
// agent logging in and out without a reload, and a real SIP call is listed
// on /live and ended by its Hang up button.
func TestDashboardInChromium(t *testing.T) {
	// Not parallel: the page must reach /live while the phones' 30 s of
	// tone (and so the call) last; beside other tests on a loaded machine
	// Chromium came too late.
	node, dir := browserScripts(t)
	a := startServe(t, serveOpt{site: demoSite(t)})
	// Janet (104, in no queue) talks to Steve (103) while the browser
	// looks: /live lists the call and its Hang up button ends it.
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	janet := startBaresip(t, "104", "demo-104-secret", box, mediaPorts(t, 100), 440)
	steve := startBaresip(t, "103", "demo-103-secret", box, mediaPorts(t, 100), 1000) // answers
	for _, p := range []*baresip{janet, steve} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	janet.command("dial", "sip:103@"+box)
	if _, ok := janet.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("call not established\n%s", a.log())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "dashboard.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+a.base, "SCREENSHOT_DIR="+t.TempDir(),
		"EXPECT_CALL=104", "EXPECT_CALL_TO=103")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dashboard browser test against ringbox serve failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, p := range []*baresip{janet, steve} {
		if _, ok := p.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
			t.Errorf("phone %s still in the call after Hang up was clicked", p.user)
		}
	}
}

// TestLiveCallHangupOverSIP: a real SIP call between two baresip phones
// is listed in progress with who answered and its path; a manager may not
// hang it up, an admin may, and both phones then get their BYE.
func TestLiveCallHangupOverSIP(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	desk := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000) // answers
	for _, p := range []*baresip{alice, desk} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	mgr, adm := a.token("manager"), a.token("admin")
	alice.command("dial", "sip:102@"+box)
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("call not established\n%s", a.log())
	}
	type live struct {
		ID         string   `json:"id"`
		Caller     string   `json:"caller"`
		State      string   `json:"state"`
		AnsweredBy string   `json:"answered_by"`
		Path       []string `json:"path"`
	}
	var calls []live
	a.waitFor("the call listed as talking", func() bool {
		calls = nil
		a.get("/api/v1/calls/live", adm, &calls) // a manager token is nobody's manager: it sees no calls
		return len(calls) == 1 && calls[0].State == "talking"
	})
	if c := calls[0]; c.Caller != "101" || c.AnsweredBy == "" || fmt.Sprint(c.Path) != "[extension:102]" {
		t.Errorf("listed as %+v, want from 101 through extension:102, answered", c)
	}
	id := calls[0].ID
	if code, body := a.post("/api/v1/calls/"+id+"/hangup", mgr, ""); code != 403 {
		t.Errorf("manager hang-up = %d %s, want 403", code, body)
	}
	if code, body := a.post("/api/v1/calls/"+id+"/hangup", adm, ""); code != 204 {
		t.Fatalf("admin hang-up = %d %s, want 204", code, body)
	}
	for _, p := range []*baresip{alice, desk} {
		if _, ok := p.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
			t.Errorf("phone %s still in the call after the hang-up", p.user)
		}
	}
	r := a.waitCDR(adm, 1)[0]
	if r.HangupBy != "system" || r.Answer.IsZero() {
		t.Errorf("CDR = %+v, want answered, hung up by the system", r)
	}
	calls = nil
	a.get("/api/v1/calls/live", adm, &calls)
	if len(calls) != 0 {
		t.Errorf("still listed after the hang-up: %+v", calls)
	}
}
