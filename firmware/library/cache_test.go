package library

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ringbox/audio/moh"
	"ringbox/firmware/site"
)

// An upload that replaces a prompt file under the same name is heard at
// once: the cache notices the new file.
func TestCacheNoticesReplacedFile(t *testing.T) {
	dir := t.TempDir()
	c := NewCache(dir, func() *site.Site { return &site.Site{} }, slog.New(slog.DiscardHandler))
	writeFile(t, dir, "prompts/main-menu.wav", toneWAV(8000, 440, time.Second))
	first, err := c.Clip("prompts/main-menu.wav")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Clip("prompts/main-menu.wav")
	if again != first {
		t.Error("an unchanged file was decoded twice")
	}
	p := filepath.Join(dir, "prompts", "main-menu.wav")
	writeFile(t, dir, "prompts/main-menu.wav", toneWAV(8000, 440, 2*time.Second))
	os.Chtimes(p, time.Now().Add(time.Second), time.Now().Add(time.Second))
	second, err := c.Clip("prompts/main-menu.wav")
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second.Duration <= first.Duration {
		t.Errorf("replaced file still plays the old audio (%v, was %v)", second.Duration, first.Duration)
	}
	// A site import deletes a file before this box has its new
	// configuration: calls still get the audio until then.
	os.Remove(p)
	if gone, err := c.Clip("prompts/main-menu.wav"); err != nil || gone != second {
		t.Errorf("a deleted file that was decoded = %v, %v; want the decoded audio", gone, err)
	}
	c.Prune(&site.Site{})
	if _, err := c.Clip("prompts/main-menu.wav"); err == nil {
		t.Error("a deleted file the site no longer names still plays after Prune")
	}
	if _, err := c.Clip("prompts/never.wav"); err == nil {
		t.Error("a file never there decodes")
	}
}

func TestCachePromptFallsBackToBuiltIn(t *testing.T) {
	dir := t.TempDir()
	s := &site.Site{Prompts: []site.Prompt{{ID: "main-menu", File: "prompts/mine.wav"}, {ID: "welcome", File: "prompts/welcome.wav"}}}
	c := NewCache(dir, func() *site.Site { return s }, slog.New(slog.DiscardHandler))
	writeFile(t, dir, "prompts/welcome.wav", toneWAV(16000, 440, time.Second))
	if pcm, ok := c.Prompt("", "welcome", 8000); !ok || len(pcm) != 8000 {
		t.Errorf("welcome at 8 kHz = %d samples, %v; want 8000", len(pcm), ok)
	}
	if pcm, ok := c.Prompt("", "welcome", 16000); !ok || len(pcm) != 16000 {
		t.Errorf("welcome at 16 kHz = %d samples, %v; want 16000", len(pcm), ok)
	}
	// main-menu's file is missing: the built-in main-menu plays.
	if _, ok := c.Prompt("", "main-menu", 8000); !ok {
		t.Error("no built-in main-menu when the site's file is missing")
	}
	if _, ok := c.Source("nope", 8000); ok {
		t.Error("an unknown prompt has a source")
	}
}

// hubLog records the classes given to it.
type hubLog []string

func (h *hubLog) SetClass(name string, tracks []moh.Track) {
	*h = append(*h, fmt.Sprintf("%s:%d", name, len(tracks)))
}

// TestLoadHoldMusicLeavesUnchangedClasses: a configuration change that
// does not touch a class does not restart its music for callers on hold.
func TestLoadHoldMusicLeavesUnchangedClasses(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "moh/jazz/1.wav", toneWAV(8000, 440, time.Second))
	writeFile(t, dir, "moh/jazz/2.wav", toneWAV(8000, 550, time.Second))
	writeFile(t, dir, "moh/rock/1.wav", toneWAV(8000, 660, time.Second))
	s := &site.Site{HoldMusic: []site.HoldMusic{{ID: "jazz", Files: []string{"moh/jazz/1.wav", "moh/jazz/2.wav"}}, {ID: "rock", Files: []string{"moh/rock/1.wav", "moh/rock/gone.wav"}}}}
	c := NewCache(dir, func() *site.Site { return s }, slog.New(slog.DiscardHandler))
	var h hubLog
	c.LoadHoldMusic(&h, s)
	if fmt.Sprint(sortedCopy(h)) != "[default:1 jazz:2 rock:1]" {
		t.Errorf("first load: %v, want jazz, rock (without its missing track) and the built-in default", h)
	}
	h = nil
	c.LoadHoldMusic(&h, s)
	if len(h) != 0 {
		t.Errorf("reload of the same site set %v, want nothing", h)
	}
	s2 := &site.Site{HoldMusic: []site.HoldMusic{s.HoldMusic[0], {ID: "rock", Files: []string{"moh/rock/1.wav", "moh/jazz/1.wav"}}, {ID: "default", Files: []string{"moh/jazz/2.wav"}}}}
	c.LoadHoldMusic(&h, s2)
	if fmt.Sprint(sortedCopy(h)) != "[default:1 rock:2]" {
		t.Errorf("after a change: %v, want rock and default only", h)
	}
	h = nil
	c.LoadHoldMusic(&h, s)
	if fmt.Sprint(sortedCopy(h)) != "[default:1 rock:1]" {
		t.Errorf("back: %v, want rock and the built-in default", h)
	}
}

func sortedCopy(h hubLog) []string {
	out := slices.Clone(h)
	slices.Sort(out)
	return out
}
