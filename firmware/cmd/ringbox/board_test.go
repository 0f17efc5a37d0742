package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringbox/board/sim"
	"ringbox/firmware/site"
)

func TestBoardFlag(t *testing.T) {
	for _, ok := range []string{"sim", "pbx-a", "rpi", "/etc/ringbox/board.yaml", "mine.yaml"} {
		if err := checkBoard(ok); err != nil {
			t.Errorf("checkBoard(%q) = %v", ok, err)
		}
	}
	err := checkBoard("pbx")
	if err == nil || !strings.Contains(err.Error(), "pbx-a, rpi") {
		t.Errorf("checkBoard(pbx) = %v, want the choices", err)
	}
}

func TestOpenBoardNamesWhatFailed(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	s := &site.Site{Agents: []site.Agent{{ID: "bob", Button: 6}}}
	b, err := openBoard("sim", t.TempDir(), s, quiet)
	if err != nil {
		t.Fatalf("openBoard(sim) = %v", err)
	}
	if _, ok := b.(*sim.Board); !ok || len(b.Buttons()) != 6 || len(b.Lines()) != 3 {
		t.Errorf("openBoard(sim) = %T with %d buttons and %d lines, want the sim board with 6 buttons (bob's is 6), 2 FXS and 1 FXO",
			b, len(b.Buttons()), len(b.Lines()))
	}
	b.Close()
	// This machine is not the reference board: its first button's line
	// is missing.
	_, err = openBoard("pbx-a", t.TempDir(), s, quiet)
	want := "--board pbx-a: button 1: GPIO line QLOGIN1 not found (is this the pbx-a board?)"
	if err == nil || (err.Error() != want && !strings.Contains(err.Error(), "periph host drivers")) {
		t.Errorf("openBoard(pbx-a) = %v, want %q", err, want)
	}
	bad := filepath.Join(t.TempDir(), "b.yaml")
	os.WriteFile(bad, []byte("name: b\nbuttons:\n  - {n: 1, pin: X, colour: red}\n"), 0o644)
	_, err = openBoard(bad, "", s, quiet)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("openBoard(%s) = %v, want the file and the line", bad, err)
	}
}

func TestRingHz(t *testing.T) {
	for zone, want := range map[string]int{"us": 20, "uk": 25, "de": 25, "jp": 20} {
		if got := ringHz(zone); got != want {
			t.Errorf("ringHz(%s) = %d, want %d", zone, got, want)
		}
	}
}

func TestWatchdogAutoArmsOnlyHardwareBoards(t *testing.T) {
	for _, c := range []struct{ flag, board, want string }{
		{"auto", "sim", ""},
		{"auto", "pbx-a", "/dev/watchdog"},
		{"auto", "/etc/ringbox/board.yaml", "/dev/watchdog"},
		{"", "pbx-a", ""},
		{"/dev/watchdog1", "sim", "/dev/watchdog1"},
	} {
		if got := watchdogDevice(c.flag, c.board); got != c.want {
			t.Errorf("--watchdog %q --board %s: %q, want %q", c.flag, c.board, got, c.want)
		}
	}
}
