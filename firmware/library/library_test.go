package library

// The HTTP routes are tested in package web (web/library_test.go); these
// are the domain's own.

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ringbox/firmware/site"
)

func TestUploadOnAFreshBox(t *testing.T) {
	st, dir := newStore(t)
	lib := New(Config{DataDir: dir, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if _, err := lib.UploadPrompt(t.Context(), "main-menu", bytes.NewReader(toneWAV(8000, 440, time.Second)), "", "test"); err != nil {
		t.Fatalf("upload before any site import: %v", err)
	}
	s := exported(t, st)
	if s.Version != 1 || !slices.Equal(s.Prompts, []site.Prompt{{ID: "main-menu", File: "prompts/main-menu.wav"}}) {
		t.Errorf("site = version %d, prompts %v; want version 1 with main-menu", s.Version, s.Prompts)
	}
}

// FuzzUpload feeds arbitrary files through the upload: none may crash it
// or fail as anything but a refusal, and a refused one leaves no file.
func FuzzUpload(f *testing.F) {
	f.Add(toneWAV(8000, 440, 100*time.Millisecond))
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt "))
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"))
	f.Add([]byte("\xff\xf3\x14\xc4"))
	dir := f.TempDir()
	lib := New(Config{DataDir: dir, Store: nopStore{}, Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := lib.UploadPrompt(t.Context(), "fuzz", bytes.NewReader(body), "", "fuzz")
		var le *Error
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("internal error for %q: %v", body, err)
		}
		if err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "prompts", "fuzz.wav")); serr == nil {
				t.Fatalf("refused upload (%v) stored a file", err)
			}
		}
		os.Remove(filepath.Join(dir, "prompts", "fuzz.wav"))
	})
}
