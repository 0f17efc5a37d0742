package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestAgentPageInChromium drives the agent's page of the real appliance
// with Chromium (web/e2e/agent.mjs): log in, queues all and one at a time,
// status changes from the page and from elsewhere showing up live.
func TestAgentPageInChromium(t *testing.T) {
	t.Parallel()
	node, dir := browserScripts(t)
	site, err := filepath.Abs("testdata/agent-desk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: site})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	shot := filepath.Join(t.TempDir(), "agent.png")
	if p := os.Getenv("AGENT_SCREENSHOT"); p != "" {
		shot = p // to look at the page
	}
	cmd := exec.CommandContext(ctx, node, "agent.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+a.base, "AGENT_LOGIN=bob", "AGENT_ID=bob",
		"AGENT_PASSWORD=Bobs-Desk-Password-42", "TOKEN="+a.token("admin"),
		"SCREENSHOT="+shot)
	out, err := cmd.CombinedOutput()
	t.Logf("agent.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test of the agent page failed: %v", err)
	}
}
