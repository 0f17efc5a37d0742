package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// browserScripts returns node and the folder of the Playwright scripts
// (web/e2e), installing playwright-core there when missing. The browser
// tests fail, never skip, without node or Chromium: make test installs
// both. With -short they are skipped as a whole.
func browserScripts(t *testing.T) (node, dir string) {
	t.Helper()
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
	dir, _ = filepath.Abs("e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if out, err := exec.Command("npm", "--prefix", dir, "install", "--no-audit", "--no-fund").CombinedOutput(); err != nil {
			t.Fatalf("npm install in web/e2e: %v\n%s", err, out)
		}
	}
	return node, dir
}
