// Package e2e drives the web UI with a real browser: ui.mjs runs Chromium
// through playwright-core against a Ringbox web server.
//
// With RINGBOX_URL set the test drives that server (the real `ringbox
// serve`); otherwise it starts web.Server on loopback with an in-memory
// authenticator on first boot. Node, npm (for the first run) and Chromium
// must be installed: the test fails, never skips, without them.
package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ringbox/firmware/events"
	"ringbox/web"
	"ringbox/web/webtest"
)

func TestBrowserUI(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the browser test (apt-get install nodejs npm): %v", err)
	}
	browser := os.Getenv("CHROMIUM")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("chromium is required for the browser test (apt-get install chromium): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatalf("playwright-core is not installed and npm is missing: %v", err)
		}
		cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install in web/e2e: %v\n%s", err, out)
		}
	}

	env := append(os.Environ(), "CHROMIUM="+browser)
	base := os.Getenv("RINGBOX_URL")
	if base == "" {
		srv := web.New(web.Config{
			Auth:    webtest.NewAuth(),
			Bus:     events.New(),
			Version: "e2e-test",
			Started: time.Now(),
		})
		// One list route, as the lead's API will register, so the browser
		// renders a section table.
		srv.Handle("GET /api/v1/extensions", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			web.WriteJSON(w, http.StatusOK, []map[string]string{{"number": "101", "name": "Front desk"}})
		}))
		env = append(env, "EXPECT_EXTENSION=Front desk")
		ts := httptest.NewServer(srv.Handler())
		// Streams end first, or ts.Close would wait for them.
		defer ts.Close()
		defer srv.Close()
		base = ts.URL
	}

	cmd := exec.CommandContext(ctx, node, "ui.mjs")
	cmd.Env = append(env, "BASE_URL="+base)
	out, err := cmd.CombinedOutput()
	t.Logf("ui.mjs against %s:\n%s", base, out)
	if err != nil {
		t.Fatalf("browser test failed: %v", err)
	}
}
