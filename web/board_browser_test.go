package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/board"
	"ringbox/board/line"
	"ringbox/board/sim"
	"ringbox/firmware/auth"
	"ringbox/web"
)

// TestBoardPageInChromium: the board page draws the panel's LEDs with
// their exact blink patterns, lifts a simulated phone and shows the phone
// and the line engine change, makes the exchange call the box, presses a
// button and the service button, and fits 375 px (web/e2e/board.mjs
// drives Chromium). Screenshots are kept with -artifacts; with
// RINGBOX_DOCS_IMG=1 they also replace docs/img/board/.
func TestBoardPageInChromium(t *testing.T) {
	node, dir := browserScripts(t)
	b := sim.New(sim.Options{Buttons: 4, QueueLEDs: 2, FXS: 2, FXO: 1, Zone: "us"})
	t.Cleanup(func() { b.Close() })
	b.LED(1).Set(board.SlowBlink)
	b.LED(2).Set(board.FastBlink)
	b.LED(3).Set(board.On)
	b.QueueLED(1).Set(board.DoubleBlink)
	e := newBoardEnv(t, b)
	presses := b.Events(t.Context())
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	tok, err := e.auth.CreateSession(t.Context(), auth.Principal{Login: "root", Role: auth.Admin})
	if err != nil {
		t.Fatal(err)
	}

	// The line engine's ear on fxs:1: the DTMF the page's keypad sends.
	digits := make(chan byte, 16)
	go func() {
		a, det := b.Lines()[0].Audio(), dtmf.NewDetector()
		f := make([]int16, line.FrameSamples)
		for a.ReadFrame(f) == nil {
			for _, d := range det.Feed(f) {
				digits <- d
			}
		}
	}()

	shots := t.ArtifactDir()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "board.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "COOKIE="+web.CookieName+"="+tok, "SHOTS="+shots)
	out, err := cmd.CombinedOutput()
	t.Logf("board.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test of the board page failed: %v", err)
	}

	// What the page did reached the board.
	if !b.Phone(1).State().OffHook {
		t.Error("the page's Lift left fxs:1 on hook")
	}
	if s := b.Exchange(1).State(); s.Battery {
		t.Errorf("the page's battery switch left fxo:1 %+v", s)
	}
	select {
	case d := <-digits:
		if d != '4' {
			t.Errorf("fxs:1 heard DTMF %q, want 4", d)
		}
	default:
		t.Error("fxs:1 heard no DTMF from the page's keypad")
	}
	got := map[board.ButtonEvent]bool{}
	for range 2 {
		select {
		case ev := <-presses:
			got[board.ButtonEvent{Button: ev.Button, Kind: ev.Kind}] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("presses seen: %v, want button 1 and the service button", got)
		}
	}
	if !got[board.ButtonEvent{Button: 1, Kind: board.Short}] || !got[board.ButtonEvent{Button: 0, Kind: board.Service}] {
		t.Errorf("presses %v, want button 1 short and the service button", got)
	}
	if os.Getenv("RINGBOX_DOCS_IMG") == "1" {
		docs := filepath.Join("..", "docs", "img", "board")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"board.png", "board-busy.png", "board-375.png"} {
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
