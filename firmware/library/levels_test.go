package library

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/site"
)

func sineAt(amp float64, n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(math.Round(amp * math.Sin(2*math.Pi*1000*float64(i)/16000)))
	}
	return pcm
}

func TestLevel(t *testing.T) {
	square := make([]int16, 1600)
	for i := range square {
		square[i] = 16384
		if i%16 < 8 {
			square[i] = -16384
		}
	}
	tests := []struct {
		name      string
		pcm       []int16
		peak, rms float64
	}{
		{"full-scale sine", sineAt(32767, 16000), 0, -3},
		{"sine at -20 dBFS", sineAt(3277, 16000), -20, -23},
		{"half-scale square", square, -6, -6},
		{"digital silence", make([]int16, 800), SilenceDBFS, SilenceDBFS},
		{"nothing", nil, SilenceDBFS, SilenceDBFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peak, rms := Level(tt.pcm)
			if peak != tt.peak || rms != tt.rms {
				t.Errorf("Level = peak %v, rms %v dBFS; want %v, %v", peak, rms, tt.peak, tt.rms)
			}
		})
	}
}

// TestRecordPromptInstallsLikeAnUpload: a take from a phone (8 kHz) is
// stored as the 16 kHz prompt the site names, bumps the configuration
// version, is audited with the extension as actor, and is listed with its
// duration and level.
func TestRecordPromptInstallsLikeAnUpload(t *testing.T) {
	st, dir := newStore(t)
	lib := New(Config{DataDir: dir, Store: st, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	v0, _ := st.ConfigVersion(ctx)
	take := make([]int16, 2*8000)
	for i := range take {
		take[i] = int16(3000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if err := lib.RecordPrompt(ctx, "123", take, 8000, "ext:101"); err != nil {
		t.Fatalf("RecordPrompt: %v", err)
	}
	if v, _ := st.ConfigVersion(ctx); v <= v0 {
		t.Errorf("configuration version %d after recording, want more than %d", v, v0)
	}
	if s := exported(t, st); !slices.Equal(s.Prompts, []site.Prompt{{ID: "123", File: "prompts/123.wav"}}) {
		t.Errorf("site prompts %v, want 123 in prompts/123.wav", s.Prompts)
	}
	audit, err := st.ListAudit(ctx, time.Time{}, time.Now().Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range audit {
		if a.Action == "prompt.record" && a.Actor == "ext:101" && a.Object == "123" {
			found = true
		}
	}
	if !found {
		t.Errorf("no prompt.record audit row by ext:101 for 123 in %+v", audit)
	}
	list, err := lib.Prompts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := list[0]
	// Stored takes are normalised to a -3 dBFS peak like uploads; a sine's
	// RMS is 3 dB under its peak.
	if p.ID != "123" || p.DurationSeconds != 2 || p.PeakDBFS == nil || *p.PeakDBFS != -3 || math.Abs(*p.RMSDBFS+6) > 0.2 {
		t.Errorf("listed %+v, want 123 of 2 s at -3 dBFS peak, about -6 dBFS RMS", p)
	}
	// An empty take is refused in words, as an empty upload would be.
	if err := lib.RecordPrompt(ctx, "124", nil, 8000, "ext:101"); err == nil || !strings.Contains(err.Error(), "no audio") {
		t.Errorf("empty take: %v, want a refusal saying there is no audio", err)
	}
}

// TestListMeasuresOnce: the list measures a file once and again only when
// the file changes (size or time), so a list call does not decode every
// file every time.
func TestListMeasuresOnce(t *testing.T) {
	st, dir := newStore(t)
	lib := New(Config{DataDir: dir, Store: st, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	if _, err := lib.UploadPrompt(ctx, "hello", bytes.NewReader(toneWAV(16000, 440, time.Second)), "", "test"); err != nil {
		t.Fatal(err)
	}
	peakOf := func() float64 {
		t.Helper()
		list, err := lib.Prompts(ctx)
		if err != nil || list[0].PeakDBFS == nil {
			t.Fatalf("Prompts = %+v, %v", list, err)
		}
		return *list[0].PeakDBFS
	}
	if p := peakOf(); p != -3 {
		t.Fatalf("uploaded prompt peak %v dBFS, want -3 (normalised)", p)
	}
	// Rewrite the file quieter, same size, same time: still the cached
	// measure, which shows the file was not decoded again.
	p := filepath.Join(dir, "prompts", "hello.wav")
	fi, _ := os.Stat(p)
	writeFile(t, dir, "prompts/hello.wav", toneWAVAmp(16000, 440, time.Second, 1000))
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if got := peakOf(); got != -3 {
		t.Errorf("unchanged size and time: peak %v, want the cached -3", got)
	}
	// A new modification time: measured again.
	os.Chtimes(p, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second))
	if got, want := peakOf(), -30.3; got != want {
		t.Errorf("after the file changed: peak %v, want %v", got, want)
	}
}

// TestUploadDurationLimits: a prompt may be 10 minutes, a hold-music track
// 30; the refusal names the limit.
func TestUploadDurationLimits(t *testing.T) {
	lib := New(Config{DataDir: t.TempDir(), Store: nopStore{}, Logger: slog.New(slog.DiscardHandler)})
	ctx := t.Context()
	// 4 kHz keeps 31 minutes under the byte limit; the header alone says
	// how long the file is, so nothing is decoded.
	long := toneWAV(4000, 440, 31*time.Minute)
	_, err := lib.AddTrack(ctx, "lounge", bytes.NewReader(long), "", "test")
	if err == nil || !strings.Contains(err.Error(), "at most 30 minutes") {
		t.Errorf("31-minute track: %v, want a refusal naming 30 minutes", err)
	}
	_, err = lib.UploadPrompt(ctx, "hello", bytes.NewReader(toneWAV(4000, 440, 11*time.Minute)), "", "test")
	if err == nil || !strings.Contains(err.Error(), "at most 10 minutes") {
		t.Errorf("11-minute prompt: %v, want a refusal naming 10 minutes", err)
	}
	if _, err := lib.AddTrack(ctx, "lounge", bytes.NewReader(toneWAV(4000, 440, 11*time.Minute)), "", "test"); err != nil {
		t.Errorf("11-minute track: %v, want it taken (tracks may be 30 minutes)", err)
	}
}
