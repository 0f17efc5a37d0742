package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/library"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
)

// part is one part of a multipart upload.
type part struct {
	name string
	body []byte
}

func multipartBody(t testing.TB, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		w, err := mw.CreateFormFile(p.name, "upload")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// importSite is testSite with its files named relative to the site file.
const importSite = `version: 1
system: {name: Imported Office}
extensions:
  - {number: "101", name: Bob, secret: bob-secret-101x}
ivrs:
  - {id: main, greeting: welcome, options: {"1": extension:101}}
prompts:
  - {id: welcome, file: audio/welcome.wav}
hold_music:
  - {id: jazz, files: [jazz.wav]}
`

func TestSiteImportAPI(t *testing.T) {
	e := newLibEnv(t)
	welcome, jazz := tone(44100, 2, 440, time.Second), tone(8000, 1, 300, time.Second)
	type answer struct {
		Error    string
		Problems []web.Problem
		Kinds    []store.KindChange
	}
	post := func(parts ...part) (int, answer) {
		t.Helper()
		body, ct := multipartBody(t, parts...)
		code, resp := e.do("POST", "/api/v1/site/import", adminToken, ct, body)
		var a answer
		if err := json.Unmarshal(resp, &a); err != nil {
			t.Fatalf("answer %s: %v", resp, err)
		}
		return code, a
	}
	site0, files0 := e.exported(), e.files()
	unchanged := func(what string) {
		t.Helper()
		if e.exported() != site0 || !mapsEqual(e.files(), files0) {
			t.Errorf("%s changed the site or its files", what)
		}
	}

	// A file not sent, and one that is not audio: both named, with lines.
	code, a := post(part{"site", []byte(importSite)}, part{"jazz.wav", []byte("not audio at all")})
	if code != 400 || len(a.Problems) != 2 {
		t.Fatalf("import with bad audio = %d %+v", code, a)
	}
	if p := a.Problems[0]; p.Line != 8 || p.Field != "prompts[0].file" || !strings.Contains(p.Message, `send it as a part named "audio/welcome.wav"`) {
		t.Errorf("first problem %+v", p)
	}
	if p := a.Problems[1]; p.Line != 10 || p.Field != "hold_music[0].files[0]" || !strings.Contains(p.Message, "not a WAV or MP3") {
		t.Errorf("second problem %+v", p)
	}
	unchanged("a refused import")

	// A site file with a mistake is refused with its line, audio or not.
	code, a = post(part{"site", []byte(strings.Replace(importSite, "extension:101", "extension:999", 1))})
	if code != 400 || len(a.Problems) == 0 || a.Problems[0].Line != 6 {
		t.Errorf("import of an invalid site = %d %+v", code, a)
	}
	unchanged("an invalid site")

	for _, tt := range []struct {
		name string
		ct   string
		body string
		code int
		says string
	}{
		{"not multipart", "application/json", "{}", 415, "multipart/form-data"},
		{"no site part", "", "", 400, "no part named site"},
	} {
		ct, body := tt.ct, strings.NewReader(tt.body)
		if ct == "" {
			b, c := multipartBody(t, part{"jazz.wav", jazz})
			ct, body = c, strings.NewReader(b.String())
		}
		code, resp := e.do("POST", "/api/v1/site/import", adminToken, ct, body)
		if code != tt.code || !strings.Contains(string(resp), tt.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tt.name, code, resp, tt.code, tt.says)
		}
	}
	unchanged("refused uploads")
	if code, _ := e.do("POST", "/api/v1/site/import", managerToken, "application/json", strings.NewReader("{}")); code != 403 {
		t.Errorf("manager import = %d, want 403", code)
	}

	// The site with its audio: a part named "file" goes by its file name.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile("site", "office.yaml")
	w.Write([]byte(importSite))
	w, _ = mw.CreateFormFile("audio/welcome.wav", "welcome.wav")
	w.Write(welcome)
	w, _ = mw.CreateFormFile("file", "jazz.wav")
	w.Write(jazz)
	mw.Close()
	code, resp := e.do("POST", "/api/v1/site/import", adminToken, mw.FormDataContentType(), &b)
	if code != 200 {
		t.Fatalf("import = %d %s", code, resp)
	}
	out := e.exported()
	if !strings.Contains(out, "Imported Office") || !strings.Contains(out, "{id: welcome, file: prompts/welcome-") || !strings.Contains(out, "files: [moh/jazz/jazz-") {
		t.Errorf("export after the API import:\n%s", out)
	}
	for f := range e.files() {
		if strings.Contains(f, "/.") || strings.HasPrefix(f, ".") {
			t.Errorf("temporary file %s left behind", f)
		}
	}
	// The old site's stored files that the new one does not name are gone.
	for _, f := range []string{"prompts/spare.wav", "prompts/main-menu.wav", "moh/jazz/1.wav"} {
		if _, ok := e.files()[f]; ok {
			t.Errorf("%s is still stored", f)
		}
	}
	audits, _ := e.st.ListAudit(t.Context(), time.Time{}, time.Time{}, 10)
	found := false
	for _, a := range audits {
		found = found || (a.Action == "site.audio" && a.Actor == "installer")
	}
	if !found {
		t.Errorf("no site.audio audit row by the installer: %+v", audits)
	}
}

// emptyStore keeps no site and accepts every import.
type emptyStore struct{}

func (emptyStore) ExportSite(context.Context) (*site.Site, error) { return &site.Site{Version: 1}, nil }
func (emptyStore) ImportSite(context.Context, *site.Site, string) (store.Change, error) {
	return store.Change{}, nil
}
func (emptyStore) ImportSiteWith(context.Context, *site.Site, string, store.ImportOptions) (store.Change, error) {
	return store.Change{}, nil
}
func (emptyStore) InsertAudit(context.Context, store.AuditEntry) error { return nil }

// FuzzSiteImport sends arbitrary site files and audio through the API
// import: none may crash it or fail as an internal error, and none may
// leave a temporary file behind.
func FuzzSiteImport(f *testing.F) {
	f.Add([]byte(importSite), tone(8000, 1, 440, 100*time.Millisecond))
	f.Add([]byte("version: 1\nsystem: {name: x}\nprompts:\n  - {id: a, file: jazz.wav}\n"), []byte("RIFF\x24\x00\x00\x00WAVEfmt "))
	f.Add([]byte("version: 1\nsystem: {name: x}\nhold_music:\n  - {id: a, files: [jazz.wav, ../jazz.wav, /etc/passwd]}\n"), []byte("\xff\xf3\x14\xc4"))
	f.Add([]byte("version: [1"), []byte{})
	dir := f.TempDir()
	lib := library.New(library.Config{DataDir: dir, Store: emptyStore{}, Logger: slog.New(slog.DiscardHandler)})
	var h http.Handler
	for _, r := range web.LibraryRoutes(lib, slog.New(slog.DiscardHandler)) {
		if r.Path == "/api/v1/site/import" {
			h = r.Handler
		}
	}
	f.Fuzz(func(t *testing.T, siteFile, audio []byte) {
		body, ct := multipartBody(t, part{"site", siteFile}, part{"jazz.wav", audio})
		req := httptest.NewRequest("POST", "/api/v1/site/import", body)
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 500 {
			t.Fatalf("internal error for site %q: %s", siteFile, rec.Body)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Fatalf("left %s behind", e.Name())
			}
		}
	})
}
