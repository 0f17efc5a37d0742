package main

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

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
