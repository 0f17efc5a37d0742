package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/backup"
	"ringbox/web"
)

func TestPowerOffTheAppliance(t *testing.T) {
	var cause error
	p := &power{stop: func(err error) { cause = err }, log: slog.New(slog.DiscardHandler)}
	if err := p.Reboot("root"); !errors.Is(err, web.ErrNotAppliance) || cause != nil {
		t.Errorf("reboot on a dev box = %v, stopped with %v; want ErrNotAppliance and nothing stopped", err, cause)
	}
	p.appliance = true
	for _, tt := range []struct {
		do   func(string) error
		want string
	}{{p.Reboot, "reboot"}, {p.Shutdown, "poweroff"}} {
		cause = nil
		if err := tt.do("root"); err != nil {
			t.Fatal(err)
		}
		pa, ok := errors.AsType[powerAction](cause)
		if !ok || pa.Cmd != tt.want {
			t.Errorf("serve stopped with %v, want the %s action", cause, tt.want)
		}
	}
}

func TestSystemDir(t *testing.T) {
	for _, tt := range []struct {
		flag      string
		appliance bool
		want      string
	}{
		{"", true, "/data"},
		{"", false, filepath.Join("/var/lib/rb", "system")},
		{"/tmp/x", true, "/tmp/x"},
	} {
		if got := systemDir(tt.flag, tt.appliance, "/var/lib/rb"); got != tt.want {
			t.Errorf("systemDir(%q, %v) = %q, want %q", tt.flag, tt.appliance, got, tt.want)
		}
	}
}

// TestDoPowerGivesUpWhenTheBoxStaysUp: reboot ran but init never sent
// SIGTERM; after powerWait ringbox exits with an error, so its supervisor
// brings the service back. (init's SIGTERM ending the wait is in
// TestSystemRebootOnTheAppliance.)
func TestDoPowerGivesUpWhenTheBoxStaysUp(t *testing.T) {
	ran := ""
	defer func(old func(string) error) { runPower = old }(runPower)
	runPower = func(cmd string) error { ran = cmd; return nil }
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := doPower(t.Context(), powerAction{Cmd: "poweroff"}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "poweroff did not take the box down within 2m0s") {
			t.Errorf("doPower = %v", err)
		}
		if waited := time.Since(start); waited != powerWait {
			t.Errorf("waited %v, want %v", waited, powerWait)
		}
	})
	if ran != "poweroff" {
		t.Errorf("ran %q", ran)
	}
	// A reboot that cannot be run is said at once.
	runPower = func(cmd string) error { return errors.New("reboot: not found") }
	if err := doPower(t.Context(), powerAction{Cmd: "reboot"}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a failed reboot command is not an error")
	}
}

// TestFactoryResetForgetsSystemSettings: with a factory reset waiting,
// the network, host name and NTP files go; without one they stay.
func TestFactoryResetForgetsSystemSettings(t *testing.T) {
	data, sys := t.TempDir(), t.TempDir()
	files := []string{"network.conf", "hostname", "ntp.conf"}
	for _, f := range files {
		os.WriteFile(filepath.Join(sys, f), []byte("x\n"), 0o644)
	}
	quiet := slog.New(slog.DiscardHandler)
	forgetSystemSettings(data, sys, quiet)
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(sys, f)); err != nil {
			t.Errorf("%s removed without a factory reset: %v", f, err)
		}
	}
	if err := backup.RequestErase(data); err != nil {
		t.Fatal(err)
	}
	forgetSystemSettings(data, sys, quiet)
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(sys, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s kept through a factory reset: %v", f, err)
		}
	}
}
