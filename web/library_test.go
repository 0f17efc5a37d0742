package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/auth"
	"ringbox/firmware/library"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
	"ringbox/web/webtest"
)

// testSite uses an uploaded prompt in an IVR, overrides a built-in prompt,
// and plays an uploaded hold-music class to a ring group.
const testSite = `
version: 1
system: {name: Test Office}
extensions:
  - {number: "101", name: Bob, secret: bob-secret-101x}
ring_groups:
  - id: front
    stages: [{ring: [ext:101], for: 20s}]
    music: jazz
ivrs:
  - id: main
    greeting: welcome
    invalid: main-menu
    options: {"1": extension:101}
prompts:
  - {id: welcome, file: prompts/welcome.wav}
  - {id: spare, file: prompts/spare.wav}
  - {id: main-menu, file: prompts/main-menu.wav}
hold_music:
  - {id: jazz, files: [moh/jazz/1.wav]}
`

// libEnv is a library on a real store behind the real web server.
type libEnv struct {
	t    *testing.T
	dir  string
	st   *store.Store
	srv  *httptest.Server
	lib  *library.Library
	logs *bytes.Buffer
}

const (
	adminToken   = "admin-token"
	managerToken = "manager-token"
)

func newLibEnv(t *testing.T) *libEnv {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := site.Parse([]byte(testSite), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSite(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
	e := &libEnv{t: t, dir: dir, st: st, logs: &bytes.Buffer{}}
	// The files the site names, each a distinct short tone.
	for i, f := range []string{"prompts/welcome.wav", "prompts/spare.wav", "prompts/main-menu.wav", "moh/jazz/1.wav"} {
		e.writeFile(f, tone(16000, 1, 300+100*i, 500*time.Millisecond))
	}
	a := webtest.NewAuth()
	a.AddToken(adminToken, auth.Principal{Login: "installer", Role: auth.Admin})
	a.AddToken(managerToken, auth.Principal{Login: "sue", Role: auth.Manager})
	ws := web.New(web.Config{Auth: a, Logger: slog.New(slog.DiscardHandler)})
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	e.lib = library.New(library.Config{DataDir: dir, Store: st, Logger: logger})
	for _, r := range web.LibraryRoutes(e.lib, logger) {
		ws.HandleRoute(r)
	}
	e.srv = httptest.NewServer(ws.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *libEnv) writeFile(rel string, b []byte) {
	e.t.Helper()
	p := filepath.Join(e.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// do sends a request and returns the status and body.
func (e *libEnv) do(method, path, token, contentType string, body io.Reader) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// exported is the site as `ringbox export` prints it.
func (e *libEnv) exported() string {
	e.t.Helper()
	s, err := e.st.ExportSite(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := site.Marshal(s, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// files maps every file under the data directory except the database to
// its contents.
func (e *libEnv) files() map[string]string {
	e.t.Helper()
	m := map[string]string{}
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "ringbox.db") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(e.dir, p)
		m[filepath.ToSlash(rel)] = string(b)
		return err
	})
	return m
}

// tone is a WAV file of a sine at hz.
func tone(rate, channels, hz int, d time.Duration) []byte {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	pcm := make([]int16, 0, n*channels)
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*float64(hz)*float64(i)/float64(rate)))
		for range channels {
			pcm = append(pcm, v)
		}
	}
	var b bytes.Buffer
	if err := wav.Write(&b, rate, channels, pcm); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// soxFile makes a test recording with sox, as an installer's tools would:
// a 440 Hz tone of dur seconds.
func soxFile(t *testing.T, name string, rate, channels int, dur string) []byte {
	t.Helper()
	if _, err := exec.LookPath("sox"); err != nil {
		t.Fatalf("sox is required to make test recordings (make test installs it; apt-get install sox libsox-fmt-mp3): %v", err)
	}
	p := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("sox", "-n", "-r", fmt.Sprint(rate), "-c", fmt.Sprint(channels), p, "synth", dur, "sine", "440", "gain", "-6").CombinedOutput()
	if err != nil {
		t.Fatalf("sox %s: %v\n%s", name, err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readStored checks that rel is a 16 kHz mono 16-bit PCM WAV and returns
// its duration.
func readStored(t *testing.T, dir, rel string) time.Duration {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("stored file: %v", err)
	}
	defer f.Close()
	r, err := wav.NewReader(f)
	if err != nil {
		t.Fatalf("stored file %s: %v", rel, err)
	}
	if r.Rate != 16000 || r.Channels != 1 || r.Bits != 16 || r.Encoding != wav.PCM {
		t.Errorf("stored %s is %+v, want 16 kHz mono 16-bit PCM", rel, r.Format)
	}
	return time.Duration(r.Frames()) * time.Second / time.Duration(r.Rate)
}

func TestUploadPrompt(t *testing.T) {
	tests := []struct {
		name, id, ct string
		body         func(t *testing.T) []byte
		dur          float64
		rate         int
	}{
		{"wav 44.1 kHz stereo", "welcome", "audio/wav", func(t *testing.T) []byte { return soxFile(t, "in.wav", 44100, 2, "1.5") }, 1.5, 44100},
		{"mp3 44.1 kHz stereo", "new-greeting", "audio/mpeg", func(t *testing.T) []byte { return soxFile(t, "in.mp3", 44100, 2, "2") }, 2, 44100},
		{"mp3 as octet-stream replaces a built-in", "goodbye", "application/octet-stream", func(t *testing.T) []byte { return soxFile(t, "in.mp3", 22050, 1, "1") }, 1, 22050},
		{"wav 8 kHz without content type", "after_hours", "", func(t *testing.T) []byte { return soxFile(t, "in.wav", 8000, 1, "0.75") }, 0.75, 8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLibEnv(t)
			body := tt.body(t)
			code, resp := e.do("POST", "/api/v1/prompts/"+tt.id, adminToken, tt.ct, bytes.NewReader(body))
			if code != 200 {
				t.Fatalf("upload = %d %s", code, resp)
			}
			var got library.Uploaded
			if err := json.Unmarshal(resp, &got); err != nil {
				t.Fatal(err)
			}
			file := "prompts/" + tt.id + ".wav"
			// MP3 encoders pad the start and end by up to a few frames.
			if got.ID != tt.id || got.File != file || math.Abs(got.DurationSeconds-tt.dur) > 0.1 || got.SourceRate != tt.rate {
				t.Errorf("answer = %+v, want id %s, file %s, ~%.2fs from %d Hz", got, tt.id, file, tt.dur, tt.rate)
			}
			if d := readStored(t, e.dir, file); math.Abs(d.Seconds()-got.DurationSeconds) > 0.01 {
				t.Errorf("stored file lasts %v, answer says %.3fs", d, got.DurationSeconds)
			}
			want := fmt.Sprintf("- {id: %s, file: %s}", tt.id, file)
			if out := e.exported(); strings.Count(out, "id: "+tt.id+",") != 1 || !strings.Contains(out, want) {
				t.Errorf("export lacks %q exactly once:\n%s", want, out)
			}
			for f := range e.files() {
				if strings.Contains(f, "/.") {
					t.Errorf("temporary file %s left behind", f)
				}
			}
			audits, err := e.st.ListAudit(t.Context(), time.Time{}, time.Time{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(audits, func(a store.AuditEntry) bool {
				return a.Action == "prompt.upload" && a.Object == tt.id && a.Actor == "installer"
			}) {
				t.Errorf("no prompt.upload audit row by installer for %s: %+v", tt.id, audits)
			}
			if !slices.ContainsFunc(audits, func(a store.AuditEntry) bool { return a.Action == "config.import" && a.Actor == "installer" }) {
				t.Errorf("the site import is not audited as the installer's: %+v", audits)
			}
		})
	}
}

func TestUploadRefusesBadFilesAndChangesNothing(t *testing.T) {
	good := tone(44100, 2, 440, time.Second)
	tests := []struct {
		name   string
		id, ct string
		body   func(t *testing.T) io.Reader
		status int
		says   string
	}{
		{"truncated wav", "welcome", "audio/wav", func(*testing.T) io.Reader { return bytes.NewReader(good[:len(good)/2]) }, 400, "truncated"},
		{"png", "welcome", "audio/wav", func(*testing.T) io.Reader {
			return bytes.NewReader(append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 200)...))
		}, 415, "PNG image"},
		{"empty body", "welcome", "audio/mpeg", func(*testing.T) io.Reader { return bytes.NewReader(nil) }, 400, "empty body"},
		{"oversize with length", "welcome", "audio/wav", func(*testing.T) io.Reader { return bytes.NewReader(make([]byte, library.MaxUploadBytes+1)) }, 413, "20 MiB"},
		{"oversize chunked", "welcome", "audio/wav", func(*testing.T) io.Reader {
			return struct{ io.Reader }{io.LimitReader(zeros{}, library.MaxUploadBytes+1)} // no length: chunked
		}, 413, "20 MiB"},
		{"mpeg-2.5 mp3", "welcome", "audio/mpeg", func(t *testing.T) io.Reader { return bytes.NewReader(soxFile(t, "low.mp3", 8000, 1, "1")) }, 415, "MPEG-2.5"},
		{"silent wav", "welcome", "audio/wav", func(*testing.T) io.Reader {
			return bytes.NewReader(tone(16000, 1, 0, time.Second))
		}, 400, "silent"},
		{"too long", "welcome", "audio/wav", func(*testing.T) io.Reader {
			// A header claiming 11 minutes: refused before the data is read.
			b := tone(8000, 1, 440, 11*time.Minute)
			return bytes.NewReader(b)
		}, 400, "too long"},
		{"text content type", "welcome", "text/plain", func(*testing.T) io.Reader { return bytes.NewReader(good) }, 415, "Content-Type"},
		{"bad id", "Main%20Menu", "audio/wav", func(*testing.T) io.Reader { return bytes.NewReader(good) }, 400, "not valid"},
		{"id too long", strings.Repeat("a", 65), "audio/wav", func(*testing.T) io.Reader { return bytes.NewReader(good) }, 400, "not valid"},
		{"new id, bad file", "brand-new", "audio/wav", func(*testing.T) io.Reader { return strings.NewReader("RIFF\x00\x00") }, 415, "not a WAV or MP3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLibEnv(t)
			site0, files0 := e.exported(), e.files()
			code, resp := e.do("POST", "/api/v1/prompts/"+tt.id, adminToken, tt.ct, tt.body(t))
			var got struct{ Error string }
			json.Unmarshal(resp, &got)
			if code != tt.status || !strings.Contains(got.Error, tt.says) {
				t.Errorf("upload = %d %q, want %d saying %q", code, got.Error, tt.status, tt.says)
			}
			if after := e.exported(); after != site0 {
				t.Errorf("a refused upload changed the site:\n%s", after)
			}
			if after := e.files(); !mapsEqual(after, files0) {
				t.Errorf("a refused upload changed the files: %v, want %v", keys(after), keys(files0))
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

func TestDeletePrompt(t *testing.T) {
	e := newLibEnv(t)
	tests := []struct {
		id     string
		status int
		says   string
		gone   bool // the file and the site entry are gone
	}{
		{"welcome", 409, "ivr main (greeting)", false},
		{"spare", 200, "", true},
		{"main-menu", 200, "", true}, // used, but the built-in one takes over
		{"spare", 404, "no uploaded prompt", true},
		{"goodbye", 404, "no uploaded prompt", true}, // built-in only: nothing to delete
	}
	for _, tt := range tests {
		code, resp := e.do("DELETE", "/api/v1/prompts/"+tt.id, adminToken, "", nil)
		if code != tt.status || !strings.Contains(string(resp), tt.says) {
			t.Errorf("DELETE %s = %d %s, want %d saying %q", tt.id, code, resp, tt.status, tt.says)
		}
		_, err := os.Stat(filepath.Join(e.dir, "prompts", tt.id+".wav"))
		inSite := strings.Contains(e.exported(), "id: "+tt.id+",")
		if tt.gone && (err == nil || inSite) {
			t.Errorf("after DELETE %s: file stat %v, in site %v; want both gone", tt.id, err, inSite)
		}
		if !tt.gone && (err != nil || !inSite) {
			t.Errorf("after refused DELETE %s: file stat %v, in site %v; want both kept", tt.id, err, inSite)
		}
	}
}

func TestListPrompts(t *testing.T) {
	e := newLibEnv(t)
	code, resp := e.do("GET", "/api/v1/prompts", managerToken, "", nil)
	if code != 200 {
		t.Fatalf("GET prompts = %d %s", code, resp)
	}
	var got []library.PromptInfo
	if err := json.Unmarshal(resp, &got); err != nil {
		t.Fatal(err)
	}
	byID := map[string]library.PromptInfo{}
	for _, p := range got {
		if _, dup := byID[p.ID]; dup {
			t.Errorf("prompt %s listed twice", p.ID)
		}
		byID[p.ID] = p
	}
	if w := byID["welcome"]; w.File != "prompts/welcome.wav" || w.Builtin || w.DurationSeconds != 0.5 {
		t.Errorf("welcome = %+v, want the uploaded 0.5 s file", w)
	}
	if m := byID["main-menu"]; m.File != "prompts/main-menu.wav" || !m.Builtin {
		t.Errorf("main-menu = %+v, want the uploaded file overriding a built-in", m)
	}
	for _, id := range site.BuiltinPrompts {
		if p, ok := byID[id]; !ok || p.DurationSeconds <= 0 {
			t.Errorf("built-in %s = %+v, %v; want it listed with its duration", id, p, ok)
		}
	}
	os.Remove(filepath.Join(e.dir, "prompts", "spare.wav"))
	_, resp = e.do("GET", "/api/v1/prompts", managerToken, "", nil)
	if !strings.Contains(string(resp), "prompts/spare.wav is missing") {
		t.Errorf("a missing file is not reported: %s", resp)
	}
}

func TestHoldMusic(t *testing.T) {
	e := newLibEnv(t)
	wavTrack := soxFile(t, "t.wav", 48000, 2, "1")
	mp3Track := soxFile(t, "t.mp3", 44100, 2, "1")
	for i, body := range [][]byte{wavTrack, mp3Track} {
		code, resp := e.do("POST", "/api/v1/holdmusic/lounge/tracks", adminToken, "application/octet-stream", bytes.NewReader(body))
		if code != 200 {
			t.Fatalf("upload track %d = %d %s", i+1, code, resp)
		}
		var got library.Uploaded
		json.Unmarshal(resp, &got)
		want := fmt.Sprintf("moh/lounge/%d.wav", i+1)
		if got.File != want || len(got.Files) != i+1 {
			t.Errorf("track %d = %+v, want file %s", i+1, got, want)
		}
		readStored(t, e.dir, want)
	}
	if out := e.exported(); !strings.Contains(out, "- {id: lounge, files: [moh/lounge/1.wav, moh/lounge/2.wav]}") {
		t.Errorf("export lacks the new class:\n%s", out)
	}
	// A track for an existing class goes after its tracks.
	code, resp := e.do("POST", "/api/v1/holdmusic/jazz/tracks", adminToken, "audio/wav", bytes.NewReader(wavTrack))
	if code != 200 || !strings.Contains(string(resp), `"moh/jazz/2.wav"`) {
		t.Errorf("upload to jazz = %d %s, want moh/jazz/2.wav", code, resp)
	}

	code, resp = e.do("GET", "/api/v1/holdmusic", managerToken, "", nil)
	var classes []library.ClassInfo
	if err := json.Unmarshal(resp, &classes); code != 200 || err != nil {
		t.Fatalf("GET holdmusic = %d %s", code, resp)
	}
	var ids []string
	for _, c := range classes {
		ids = append(ids, fmt.Sprintf("%s:%d:%v", c.ID, len(c.Tracks), c.Builtin))
	}
	if want := []string{"jazz:2:false", "lounge:2:false", "default:0:true"}; !slices.Equal(ids, want) {
		t.Errorf("classes = %v, want %v", ids, want)
	}

	code, resp = e.do("DELETE", "/api/v1/holdmusic/jazz", adminToken, "", nil)
	if code != 409 || !strings.Contains(string(resp), "ring group front") {
		t.Errorf("DELETE used class = %d %s, want 409 naming ring group front", code, resp)
	}
	code, resp = e.do("DELETE", "/api/v1/holdmusic/lounge", adminToken, "", nil)
	if code != 200 {
		t.Fatalf("DELETE lounge = %d %s", code, resp)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "moh", "lounge")); err == nil {
		t.Error("moh/lounge is still there")
	}
	if strings.Contains(e.exported(), "lounge") {
		t.Error("lounge is still in the site")
	}
	if code, _ := e.do("POST", "/api/v1/holdmusic/jazz/tracks", adminToken, "audio/wav", strings.NewReader("not audio")); code != 415 {
		t.Errorf("bad track = %d, want 415", code)
	}
}

func TestRoutesDeclareRoles(t *testing.T) {
	e := newLibEnv(t)
	want := map[string]string{
		"POST /api/v1/prompts/{id}":                      auth.Admin,
		"GET /api/v1/prompts":                            auth.Manager,
		"GET /api/v1/prompts/{id}/audio":                 auth.Manager,
		"GET /api/v1/holdmusic/{class}/tracks/{n}/audio": auth.Manager,
		"DELETE /api/v1/prompts/{id}":                    auth.Admin,
		"POST /api/v1/holdmusic/{class}/tracks":          auth.Admin,
		"GET /api/v1/holdmusic":                          auth.Manager,
		"DELETE /api/v1/holdmusic/{class}":               auth.Admin,
		"POST /api/v1/site/import":                       auth.Admin,
	}
	got := map[string]string{}
	for _, r := range web.LibraryRoutes(e.lib, nil) {
		got[r.Method+" "+r.Path] = r.Role
		if r.Summary == "" {
			t.Errorf("%s %s has no summary for the API document", r.Method, r.Path)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
	// And the web server enforces them.
	if code, _ := e.do("POST", "/api/v1/prompts/welcome", managerToken, "audio/wav", bytes.NewReader(tone(8000, 1, 440, time.Second))); code != 403 {
		t.Errorf("manager upload = %d, want 403", code)
	}
	if code, _ := e.do("DELETE", "/api/v1/prompts/spare", managerToken, "", nil); code != 403 {
		t.Errorf("manager delete = %d, want 403", code)
	}
}

// TestConcurrentUploadsKeepEveryPrompt checks that changes are serialised:
// each one exports, edits and imports the whole site.
func TestConcurrentUploadsKeepEveryPrompt(t *testing.T) {
	e := newLibEnv(t)
	body := tone(16000, 1, 440, 200*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if code, resp := e.do("POST", fmt.Sprintf("/api/v1/prompts/p%d", i), adminToken, "audio/wav", bytes.NewReader(body)); code != 200 {
				t.Errorf("upload p%d = %d %s", i, code, resp)
			}
		})
	}
	wg.Wait()
	out := e.exported()
	for i := range 6 {
		if !strings.Contains(out, fmt.Sprintf("{id: p%d, file: prompts/p%d.wav}", i, i)) {
			t.Errorf("p%d lost:\n%s", i, out)
		}
	}
}

// failingStore fails every import, as a full disk would.
type failingStore struct{ *store.Store }

func (failingStore) ImportSite(context.Context, *site.Site, string) (store.Change, error) {
	return store.Change{}, fmt.Errorf("disk full")
}
func (failingStore) ImportSiteWith(context.Context, *site.Site, string, store.ImportOptions) (store.Change, error) {
	return store.Change{}, fmt.Errorf("disk full")
}

func TestFailedImportRestoresTheOldFile(t *testing.T) {
	e := newLibEnv(t)
	files0 := e.files()
	lib := library.New(library.Config{DataDir: e.dir, Store: failingStore{e.st}, Logger: slog.New(slog.DiscardHandler)})
	var upload http.Handler
	for _, r := range web.LibraryRoutes(lib, slog.New(slog.DiscardHandler)) {
		if r.Method == "POST" && r.Path == "/api/v1/prompts/{id}" {
			upload = r.Handler
		}
	}
	for _, id := range []string{"welcome", "brand-new"} {
		req := httptest.NewRequest("POST", "/api/v1/prompts/"+id, bytes.NewReader(tone(44100, 2, 440, time.Second)))
		req.SetPathValue("id", id)
		rec := httptest.NewRecorder()
		upload.ServeHTTP(rec, req)
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "disk full") {
			t.Errorf("upload %s with a failing store = %d %s, want 500 without internals", id, rec.Code, rec.Body)
		}
		if after := e.files(); !mapsEqual(after, files0) {
			t.Errorf("failed upload %s left files %v, want %v", id, keys(after), keys(files0))
		}
	}
}
