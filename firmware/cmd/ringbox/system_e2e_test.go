package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSystemRebootOnTheAppliance: with --appliance, the System page's
// reboot ends serve the way SIGTERM does and then runs busybox's reboot
// (a stand-in on PATH here); the log viewer holds ringbox's own lines.
func TestSystemRebootOnTheAppliance(t *testing.T) {
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	for _, cmd := range []string{"reboot", "poweroff"} {
		script := "#!/bin/sh\necho " + cmd + " >> " + marker + "\n"
		if err := os.WriteFile(filepath.Join(bin, cmd), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	sys := t.TempDir()
	a := startServe(t, serveOpt{site: demoSite(t), extra: []string{"--appliance", "--system-dir", sys}})
	admin := a.token("admin")

	var logs []struct{ Message, Attrs string }
	if code := a.get("/api/v1/system/logs?level=info&limit=1000", admin, &logs); code != 200 {
		t.Fatalf("logs = %d", code)
	}
	found := false
	for _, l := range logs {
		found = found || l.Message == "ringbox started" && strings.Contains(l.Attrs, "version=")
	}
	if !found {
		t.Errorf("the log viewer lacks ringbox's start line: %+v", logs)
	}
	var st struct{ Appliance bool }
	if a.get("/api/v1/system/status", admin, &st); !st.Appliance {
		t.Error("status does not say this is the appliance")
	}

	req, _ := http.NewRequest("POST", a.base+"/api/v1/system/reboot", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("reboot = %d, want 202", resp.StatusCode)
	}
	// reboot runs once serve has drained; ringbox then waits for init's
	// SIGTERM rather than exit and be restarted by its supervisor.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ran, _ := os.ReadFile(marker); len(ran) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reboot not run within 20 s\n%s", a.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-a.exited:
		t.Fatalf("ringbox exited (%v) before init's SIGTERM: its supervisor would start it again mid-reboot", a.err)
	case <-time.After(time.Second):
	}
	if err := a.stop(); err != nil {
		t.Errorf("ringbox exited with %v on init's SIGTERM, want 0", err)
	}
	if ran, _ := os.ReadFile(marker); string(ran) != "reboot\n" {
		t.Errorf("ran %q, want reboot once", ran)
	}
	for _, s := range []string{"shutting down", "running reboot"} {
		if !strings.Contains(a.log(), s) {
			t.Errorf("serve's output lacks %q", s)
		}
	}
}
