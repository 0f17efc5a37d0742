package web_test

import (
	"context"
	"os"
	"os/exec"
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
	node, dir := browserScripts(t)
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
