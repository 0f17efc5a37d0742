package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An upload that replaces a prompt file under the same name is heard at
// once: the cache notices the new file.
func TestAudioLibNoticesReplacedFile(t *testing.T) {
	dir := t.TempDir()
	lib := &audioLib{dir: dir, log: slog.Default()}
	p := filepath.Join(dir, "prompts", "main-menu.wav")
	os.MkdirAll(filepath.Dir(p), 0o755)
	writeToneWAV(t, p, 440, 1)
	first, err := lib.clip("prompts/main-menu.wav")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := lib.clip("prompts/main-menu.wav")
	if again != first {
		t.Error("an unchanged file was decoded twice")
	}
	writeToneWAV(t, p, 440, 2)
	os.Chtimes(p, time.Now().Add(time.Second), time.Now().Add(time.Second))
	second, err := lib.clip("prompts/main-menu.wav")
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second.Duration <= first.Duration {
		t.Errorf("replaced file still plays the old audio (%v, was %v)", second.Duration, first.Duration)
	}
}
