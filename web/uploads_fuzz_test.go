package web_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/tlscert"
	"ringbox/web"
)

// FuzzUploads posts hostile files to every upload of the API as an admin
// would send them: a prompt and a hold-music track (the body is the file),
// a backup to inspect before a restore (the body is the .tar.gz) and the
// web certificate (multipart cert and key; the input is the two split at
// its first NUL byte). Whatever arrives, the answer is a success or a
// client error with a JSON body naming the problem, never a 500 or a
// panic, and no temporary file is left in the data directory. Seeds
// (testdata/fuzz/FuzzUploads): real WAV and MP3 files, a real backup of
// the test box, a PEM certificate and key, and broken variants.
func FuzzUploads(f *testing.F) {
	e := newBareEnv(f)
	e.auth.AddToken("fuzz-admin", auth.Principal{Login: "token:admin", Role: auth.Admin})
	quiet := slog.New(slog.DiscardHandler)
	certs, err := tlscert.Open(tlscert.Options{Dir: f.TempDir(), Logger: quiet,
		Hostname: func() (string, error) { return "office-pbx", nil },
		Addrs:    func() ([]netip.Addr, error) { return nil, nil }})
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range web.CertificateRoutes(certs, quiet) {
		e.srv.HandleRoute(r)
	}
	e.h = e.srv.Handler()
	// A real backup of this box, as the restore page would get it.
	w := e.req("GET", "/api/v1/backup", "", "Authorization", "Bearer fuzz-admin")
	if w.Code != http.StatusOK {
		f.Fatalf("backup: %d %s", w.Code, w.Body)
	}
	f.Add(uint8(2), "backup", w.Body.Bytes())
	f.Add(uint8(0), "welcome", tone(8000, 1, 440, 100*time.Millisecond))
	f.Add(uint8(1), "default", tone(16000, 2, 440, 60*time.Millisecond))

	kinds := []string{"prompt", "track", "restore", "certificate"}
	f.Fuzz(func(t *testing.T, kind uint8, name string, body []byte) {
		if name == "" || name == "." || name == ".." {
			name = "x" // the router redirects the cleaned path (307) before any handler
		}
		var w *httptest.ResponseRecorder
		switch kinds[int(kind)%len(kinds)] {
		case "prompt":
			w = e.with(t).req("POST", "/api/v1/prompts/"+url.PathEscape(name), string(body), "Authorization", "Bearer fuzz-admin")
		case "track":
			w = e.with(t).req("POST", "/api/v1/holdmusic/"+url.PathEscape(name)+"/tracks", string(body), "Authorization", "Bearer fuzz-admin")
		case "restore":
			w = e.with(t).req("POST", "/api/v1/restore/inspect", string(body), "Authorization", "Bearer fuzz-admin")
		case "certificate":
			cert, key, _ := bytes.Cut(body, []byte{0})
			mp, ct := multipartBody(t, part{"cert", cert}, part{"key", key})
			w = e.with(t).req("POST", "/api/v1/system/certificate", mp.String(), "Authorization", "Bearer fuzz-admin", "Content-Type", ct)
		}
		if w.Code >= 500 || (w.Code >= 300 && w.Code < 400) {
			t.Fatalf("%s %q: %d %s", kinds[int(kind)%len(kinds)], name, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var v struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.Error == "" {
				t.Fatalf("%s %q: error answer %d %q names no problem", kinds[int(kind)%len(kinds)], name, w.Code, w.Body)
			}
		}
		filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && isTemp(d.Name()) {
				t.Fatalf("left %s behind", p)
			}
			return nil
		})
	})
}

// isTemp reports whether name is one of the temporary files an upload
// writes before it renames or removes it.
func isTemp(name string) bool {
	for _, p := range []string{".upload-", ".export-", ".backup-", "part-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
