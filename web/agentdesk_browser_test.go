package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/cdr"
	"ringbox/firmware/store"
)

// TestDeskOfferInChromium: with a queue call ringing bob, his page pops it
// up with the caller's history, saves a note, and Decline makes the banner
// go when the offer ends (web/e2e/agent-offer.mjs drives Chromium).
func TestDeskOfferInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required (make test installs nodejs): %v", err)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("chromium is required (make test installs it): %v", err)
	}
	dir, _ := filepath.Abs("e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if out, err := exec.Command("npm", "--prefix", dir, "install", "--no-audit", "--no-fund").CombinedOutput(); err != nil {
			t.Fatalf("npm install in web/e2e: %v\n%s", err, out)
		}
	}
	v := newDesk(t)
	ctx := t.Context()
	start := time.Now().Add(-time.Hour)
	if err := v.st.InsertCDR(ctx, cdr.Record{CallID: "c0", Caller: "+15550100", Callee: "+15550000", Direction: cdr.Inbound,
		Path: []string{"queue:service"}, Agent: "sue", AnsweredBy: "agent:sue/ext:102", Start: start, Answer: start, End: start.Add(time.Minute), Cause: "normal"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.st.InsertNote(ctx, store.Note{CallID: "c0", Caller: "+15550100", Author: "sue", Agent: "sue", Text: "asked about the invoice"}); err != nil {
		t.Fatal(err)
	}
	v.ringBob(t)
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(rctx, node, "agent-offer.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+v.srv.URL, "COOKIE="+v.cookie(t, auth.Principal{Login: "bob", Role: auth.Agent, Agent: "bob"}))
	out, err := cmd.CombinedOutput()
	t.Logf("agent-offer.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test of the incoming-call banner failed: %v", err)
	}
}
