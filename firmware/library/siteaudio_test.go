package library

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/site"
)

// audioSite plays a prompt in an IVR and a two-track hold-music class in a
// ring group; the files are named relative to the site file.
const audioSite = `version: 1
system: {name: Audio}
extensions:
  - {number: "101", secret: bob-secret-101x}
ring_groups:
  - {id: front, stages: [{ring: [ext:101], for: 20s}], music: jazz}
ivrs:
  - {id: main, greeting: welcome, options: {"1": extension:101}}
prompts:
  - {id: welcome, file: welcome.wav}
hold_music:
  - {id: jazz, files: [music/Take Five.wav, ./second.wav]}
`

// installerDir is a site file's directory with the audio it names.
func installerDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "welcome.wav", toneWAV(44100, 440, 700*time.Millisecond))
	writeFile(t, dir, "music/Take Five.wav", toneWAV(8000, 300, time.Second))
	writeFile(t, dir, "second.wav", toneWAV(22050, 500, 500*time.Millisecond))
	return dir
}

var storedPattern = regexp.MustCompile(`^(prompts|moh/[a-z0-9_-]+)/[a-z0-9_-]+-[0-9a-f]{12}\.wav$`)

// checkStored checks every file s names is a stored 16 kHz WAV in dir.
func checkStored(t *testing.T, dir string, s *site.Site) {
	t.Helper()
	var files []string
	for _, p := range s.Prompts {
		files = append(files, p.File)
	}
	for _, h := range s.HoldMusic {
		files = append(files, h.Files...)
	}
	for _, f := range files {
		if !storedPattern.MatchString(f) {
			t.Errorf("the site names %q, not a file stored in the library", f)
			continue
		}
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("stored file: %v", err)
			continue
		}
		r, err := wav.NewReader(fh)
		if err != nil || r.Rate != 16000 || r.Channels != 1 || r.Bits != 16 {
			t.Errorf("stored %s: %+v %v, want 16 kHz mono 16-bit", f, r, err)
		}
		fh.Close()
	}
}

func TestImportSiteStoresTheAudioItNames(t *testing.T) {
	st, data := newStore(t)
	lib := New(Config{DataDir: data, Store: st, Logger: slog.New(slog.DiscardHandler)})
	src := installerDir(t)
	ch, err := lib.ImportSite(t.Context(), parse(t, audioSite), DirOpener(src), "test")
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if ch.Kind("prompts").Added == nil || ch.Kind("hold_music").Added == nil {
		t.Errorf("change = %+v, want prompts and hold music added", ch)
	}
	s := exported(t, st)
	checkStored(t, data, s)
	if !strings.HasPrefix(s.Prompts[0].File, "prompts/welcome-") || !strings.HasPrefix(s.HoldMusic[0].Files[0], "moh/jazz/take-five-") ||
		!strings.HasPrefix(s.HoldMusic[0].Files[1], "moh/jazz/second-") {
		t.Errorf("stored names %v %v, want them after the prompt id and the tracks' names", s.Prompts, s.HoldMusic)
	}
	if strings.Contains(tree(t, data), "/.") {
		t.Errorf("temporary files left:\n%s", tree(t, data))
	}
	// The same files again: nothing changes, nothing is written.
	before := tree(t, data)
	ch, err = lib.ImportSite(t.Context(), parse(t, audioSite), DirOpener(src), "test")
	if err != nil || !ch.Empty() {
		t.Errorf("same import again = %+v, %v; want no change", ch, err)
	}
	if after := tree(t, data); after != before {
		t.Errorf("same import again rewrote files:\n%s\nwas\n%s", after, before)
	}

	// A new recording of the welcome: the prompt changes, the old file goes.
	old := s.Prompts[0].File
	writeFile(t, src, "welcome.wav", toneWAV(16000, 880, 900*time.Millisecond))
	ch, err = lib.ImportSite(t.Context(), parse(t, audioSite), DirOpener(src), "test")
	if err != nil || fmt.Sprint(ch.Kind("prompts").Changed) != "[welcome]" || len(ch.Kinds) != 1 {
		t.Errorf("import of a new recording = %+v, %v; want prompts welcome changed only", ch, err)
	}
	s = exported(t, st)
	if s.Prompts[0].File == old {
		t.Errorf("the new recording is stored under the old name %s", old)
	}
	if _, err := os.Stat(filepath.Join(data, old)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old recording %s is still stored: %v", old, err)
	}
	checkStored(t, data, s)

	// A site without hold music: its tracks and directory go.
	noMusic := strings.Replace(strings.Replace(audioSite, ", music: jazz", "", 1), "hold_music:\n  - {id: jazz, files: [music/Take Five.wav, ./second.wav]}\n", "", 1)
	if _, err := lib.ImportSite(t.Context(), parse(t, noMusic), DirOpener(src), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "moh", "jazz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("moh/jazz is still there: %v\n%s", err, tree(t, data))
	}
	audits, _ := st.ListAudit(t.Context(), time.Time{}, time.Time{}, 20)
	n := 0
	for _, a := range audits {
		if a.Action == "site.audio" && a.Actor == "test" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d site.audio audit rows, want one per import (4)", n)
	}
}

func TestImportSiteIsAllOrNothing(t *testing.T) {
	st, data := newStore(t)
	lib := New(Config{DataDir: data, Store: st, Logger: slog.New(slog.DiscardHandler)})
	src := installerDir(t)
	if _, err := lib.ImportSite(t.Context(), parse(t, audioSite), DirOpener(src), "test"); err != nil {
		t.Fatal(err)
	}
	site0, files0 := exported(t, st), tree(t, data)

	// A new welcome that decodes, then a missing track and a text file.
	writeFile(t, src, "welcome.wav", toneWAV(16000, 660, time.Second))
	writeFile(t, src, "notes.wav", []byte("call the plumber on monday"))
	bad := strings.Replace(audioSite, "files: [music/Take Five.wav, ./second.wav]", "files: [gone.wav, notes.wav]", 1)
	_, err := lib.ImportSite(t.Context(), parse(t, bad), DirOpener(src), "test")
	var probs site.Errors
	if !errors.As(err, &probs) || len(probs) != 2 {
		t.Fatalf("import with a missing and a bad file = %v, want two problems", err)
	}
	if probs[0].Field != "hold_music[0].files[0]" || !strings.Contains(probs[0].Msg, "gone.wav is missing") {
		t.Errorf("first problem %q %q, want hold_music[0].files[0] missing", probs[0].Field, probs[0].Msg)
	}
	if probs[1].Field != "hold_music[0].files[1]" || !strings.Contains(probs[1].Msg, "not a WAV or MP3") {
		t.Errorf("second problem %q %q, want hold_music[0].files[1] not audio", probs[1].Field, probs[1].Msg)
	}
	if s := exported(t, st); !site.Equal(s, site0) {
		t.Errorf("a refused import changed the site: %+v", s)
	}
	if after := tree(t, data); after != files0 {
		t.Errorf("a refused import changed the files:\n%s\nwant\n%s", after, files0)
	}

	// The store's import fails: the new files go, the old ones stay.
	failing := New(Config{DataDir: data, Store: failingStore{st}, Logger: slog.New(slog.DiscardHandler)})
	if _, err := failing.ImportSite(t.Context(), parse(t, audioSite), DirOpener(src), "test"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("import into a failing store = %v", err)
	}
	if after := tree(t, data); after != files0 {
		t.Errorf("a failed import changed the files:\n%s\nwant\n%s", after, files0)
	}
	// An invalid site is refused before any file is read.
	_, err = lib.ImportSite(t.Context(), &site.Site{Version: 1, Prompts: []site.Prompt{{ID: "x"}}}, DirOpener(src), "test")
	if !errors.As(err, &probs) || !strings.Contains(err.Error(), "has no file") {
		t.Errorf("import of an invalid site = %v", err)
	}
}

// TestExportedAudioImportsUnchanged: the audio exported beside a site
// file is the stored audio, byte for byte, and importing it changes
// nothing and decodes nothing.
func TestExportedAudioImportsUnchanged(t *testing.T) {
	st, data := newStore(t)
	lib := New(Config{DataDir: data, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if _, err := lib.ImportSite(t.Context(), parse(t, audioSite), DirOpener(installerDir(t)), "test"); err != nil {
		t.Fatal(err)
	}
	s := exported(t, st)
	out := t.TempDir()
	probs, err := ExportAudio(data, s, out)
	if err != nil || len(probs) != 0 {
		t.Fatalf("export audio: %v %v", probs, err)
	}
	for _, f := range append([]string{s.Prompts[0].File}, s.HoldMusic[0].Files...) {
		a, _ := os.ReadFile(filepath.Join(data, f))
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("exported %s differs from the stored file: %v", f, err)
		}
	}
	before := tree(t, data)
	if probs := CheckAudio(s, DirOpener(out)); len(probs) != 0 {
		t.Errorf("the exported audio does not check: %v", probs)
	}
	ch, err := lib.ImportSite(t.Context(), s, DirOpener(out), "test")
	if err != nil || !ch.Empty() {
		t.Errorf("import of the export = %+v, %v; want no change", ch, err)
	}
	if after := tree(t, data); after != before {
		t.Errorf("import of the export rewrote files:\n%s\nwas\n%s", after, before)
	}
	// Exporting again into the same directory writes nothing.
	outBefore := tree(t, out)
	if _, err := ExportAudio(data, s, out); err != nil || tree(t, out) != outBefore {
		t.Errorf("second export rewrote files: %v", err)
	}
	// A file missing from the data directory is reported, not fatal.
	os.Remove(filepath.Join(data, s.Prompts[0].File))
	probs, err = ExportAudio(data, s, t.TempDir())
	if err != nil || len(probs) != 1 || probs[0].Field != "prompts[0].file" {
		t.Errorf("export with a file missing = %v, %v; want one problem for prompts[0].file", probs, err)
	}
}

func TestCheckAudioSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ok.wav", toneWAV(8000, 440, 300*time.Millisecond))
	writeFile(t, dir, "silent.wav", toneWAV(8000, 0, time.Second))
	writeFile(t, dir, "empty.mp3", nil)
	writeFile(t, dir, "picture.mp3", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...))
	writeFile(t, dir, "huge.wav", make([]byte, MaxUploadBytes+1))
	os.Mkdir(filepath.Join(dir, "folder.wav"), 0o755)
	abs := filepath.Join(dir, "ok.wav")
	s := &site.Site{Version: 1, Prompts: []site.Prompt{
		{ID: "a", File: "ok.wav"}, {ID: "b", File: "silent.wav"}, {ID: "c", File: "empty.mp3"},
		{ID: "d", File: "picture.mp3"}, {ID: "e", File: "huge.wav"}, {ID: "f", File: "folder.wav"},
		{ID: "g", File: "nope.wav"}, {ID: "h", File: abs},
	}}
	want := map[string]string{
		"prompts[1].file": "silent",
		"prompts[2].file": "empty.mp3 is empty",
		"prompts[3].file": "PNG",
		"prompts[4].file": "too big",
		"prompts[5].file": "is a directory",
		"prompts[6].file": "nope.wav is missing",
	}
	got := map[string]string{}
	for _, p := range CheckAudio(s, DirOpener(dir)) {
		got[p.Field] = p.Msg
	}
	for f, says := range want {
		if !strings.Contains(got[f], says) {
			t.Errorf("%s: %q, want it to say %q", f, got[f], says)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems %v, want exactly %v", got, want)
	}
}

func TestBundle(t *testing.T) {
	_, data := newStore(t)
	lib := New(Config{DataDir: data, Store: nopStore{}, Logger: slog.New(slog.DiscardHandler)})
	// A bundle left by a crash an hour ago goes; one in progress stays.
	stale, fresh := filepath.Join(data, ".import-1"), filepath.Join(data, ".import-2")
	writeFile(t, stale, "part-1", []byte("x"))
	writeFile(t, fresh, "part-1", []byte("x"))
	os.Chtimes(stale, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour))
	b, err := lib.NewBundle()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add("audio/welcome.mp3", strings.NewReader("mp3 bytes")); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("./audio/welcome.mp3", strings.NewReader("again")); err == nil || !strings.Contains(err.Error(), "sent twice") {
		t.Errorf("same name twice = %v", err)
	}
	if err := b.Add("big.wav", io.LimitReader(zeros{}, MaxUploadBytes+1)); !errors.Is(err, ErrTooBig) {
		t.Errorf("too big = %v", err)
	}
	rc, err := b.Open("audio/./welcome.mp3")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "mp3 bytes" {
		t.Errorf("read back %q", got)
	}
	if _, err := b.Open("other.mp3"); err == nil || !strings.Contains(err.Error(), `send it as a part named "other.mp3"`) {
		t.Errorf("open of a file not sent = %v", err)
	}
	b.Close()
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "ringbox.db") && e.Name() != ".import-2" {
			t.Errorf("the bundle left %s", e.Name())
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh bundle was removed: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestStoredNameIsIdempotent: the name of a stored file named again keeps
// one hash.
func TestStoredNameIsIdempotent(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	n := storedName("moh/jazz", "take-five", sum)
	if n != "moh/jazz/take-five-abababababab.wav" {
		t.Errorf("storedName = %s", n)
	}
	again := storedName("moh/jazz", safeName(strings.TrimSuffix(filepath.Base(n), ".wav")), sum)
	if again != n {
		t.Errorf("named again: %s, want %s", again, n)
	}
	for in, want := range map[string]string{"Take Five": "take-five", "...": "audio", "über": "ber", strings.Repeat("x", 50): strings.Repeat("x", 40)} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
