package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestDashboardInChromium drives the real appliance's live dashboard and
// a queue wallboard with Chromium (web/e2e/dashboard.mjs): the wallboard
// fits 1920x1080 and 1280x720 without scrollbars, and both pages follow
// an agent logging in and out without a reload.
func TestDashboardInChromium(t *testing.T) {
	node, dir := browserScripts(t)
	a := startServe(t, serveOpt{site: demoSite(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "dashboard.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+a.base, "SCREENSHOT_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dashboard browser test against ringbox serve failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
