package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/update"
	"ringbox/web"
)

// TestSystemPageInChromium: an admin logs in with the login form, sees
// the firmware version and slots, uploads a bundle with a progress bar for
// the upload and then the install (to a stand-in for the firmware route, which firmware.go serves) and
// sees a refusal as the box words it, saves a static network after
// seeing the error at a bad address, filters the log by level, is told a
// reboot needs the appliance, and the page fits 375 px
// (web/e2e/system.mjs drives Chromium). Screenshots are kept with
// -artifacts; with RINGBOX_DOCS_IMG=1 they also replace docs/img/system/.
func TestSystemPageInChromium(t *testing.T) {
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
	installed := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	fw := fakeFirmware{st: update.Status{Compatible: "ringbox-qemu-virt", Version: "1.4.2", Booted: "A",
		Slots: []update.Slot{
			{Name: "A", Device: "/dev/vda2", Version: "1.4.2", Booted: true, State: "good", InstalledAt: installed},
			{Name: "B", Device: "/dev/vda3", Version: "1.5.0", State: "bad", InstalledAt: installed.Add(14 * 24 * time.Hour)},
		},
		Rollback: &update.Rollback{At: installed.Add(14*24*time.Hour + 5*time.Minute), From: "B", Version: "1.5.0",
			Reason: "health check failed: SIP did not answer within 60 s"},
	}}
	e := newSysEnv(t, func(p *web.SystemPage) { p.FirmwareStatus = fw })
	e.log.Info("ringbox started", "version", "1.4.2", "sip", ":5060")
	e.log.Info("registered", "ext", "101", "contact", "sip:101@192.168.1.21:5060")
	e.log.Warn("trunk registration failed", "trunk", "provider", "status", 403)
	e.log.Error("voicemail mail not sent", "ext", "102", "err", "smtp: connection refused")
	e.log.Info("call ended", "call", "c-17", "cause", "normal")

	// A stand-in for firmware.go's upload route: it takes the raw body.
	var mu sync.Mutex
	var uploads []string
	var progress *update.Progress
	e.srv.HandleRoute(web.Route{Method: "POST", Path: "/api/v1/system/firmware", Role: auth.Admin,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			uploads = append(uploads, fmt.Sprintf("%s %s %d", r.Header.Get("Content-Type"), r.URL.RawQuery, len(body)))
			mu.Unlock()
			if bytes.HasPrefix(body, []byte("BAD")) {
				time.Sleep(300 * time.Millisecond)
				web.WriteError(w, http.StatusUnprocessableEntity, "bundle signature not valid: signed by an unknown key")
				return
			}
			// Writing the slot takes a while: the page shows its progress.
			mu.Lock()
			progress = &update.Progress{Step: "write", Done: 50, Total: 100}
			mu.Unlock()
			time.Sleep(1500 * time.Millisecond)
			mu.Lock()
			progress = nil
			mu.Unlock()
			web.WriteJSON(w, http.StatusOK, map[string]any{
				"info":            update.Info{Compatible: "ringbox-qemu-virt", Version: "1.5.1", Size: int64(len(body))},
				"pending":         update.Slot{Name: "B", Version: "1.5.1", State: "trying"},
				"reboot_required": true,
			})
		})})
	e.srv.HandleRoute(web.Route{Method: "GET", Path: "/api/v1/system/firmware", Role: auth.Admin,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			web.WriteJSON(w, http.StatusOK, map[string]any{"version": "1.4.2", "progress": progress})
		})})
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	shots := t.ArtifactDir()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "system.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "LOGIN=root", "PASSWORD=pw", "SHOTS="+shots)
	out, err := cmd.CombinedOutput()
	t.Logf("system.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test of the System page failed: %v", err)
	}

	// What the page did reached the box.
	want := "# Network settings saved by ringbox's System page; /etc/init.d/S40network\n" +
		"# reads them at boot (sourced by sh).\n" +
		"MODE=static\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nDNS=\"10.0.2.3\"\n"
	if got := e.file("network.conf"); got != want {
		t.Errorf("network.conf after the page saved it:\n%s\nwant:\n%s", got, want)
	}
	if got := e.file("hostname"); got != "pbx-office\n" {
		t.Errorf("hostname file %q", got)
	}
	mu.Lock()
	got := strings.Join(uploads, "; ")
	mu.Unlock()
	if got != "application/octet-stream  3145728; application/octet-stream force=1 1024" {
		t.Errorf("uploads %q, want a 3 MiB raw body, then a forced 1 KiB one", got)
	}
	if os.Getenv("RINGBOX_DOCS_IMG") == "1" {
		docs := filepath.Join("..", "docs", "img", "system")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"system.png", "system-375.png"} {
			png, err := os.ReadFile(filepath.Join(shots, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(docs, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshots copied to %s", docs)
	}
}
