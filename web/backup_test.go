package web_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"ringbox/firmware/auth"
	"ringbox/firmware/backup"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
	"ringbox/web/webtest"
)

type backupEnv struct {
	*libEnv
	restarts atomic.Int32
}

// newBackupEnv is a box with a site, a prompt and a voicemail message
// behind the backup routes; Restart only counts.
func newBackupEnv(t *testing.T) *backupEnv {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, dir, store.Options{Logger: quiet})
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
	e := &backupEnv{libEnv: &libEnv{t: t, dir: dir, st: st, logs: &bytes.Buffer{}}}
	e.writeFile("prompts/welcome.wav", []byte("welcome"))
	e.writeFile("voicemail/101/m1.wav", []byte("message"))
	e.writeFile("recordings/2026-12-01/c1.wav", []byte("recording"))
	a := webtest.NewAuth()
	a.AddToken(adminToken, auth.Principal{Login: "installer", Role: auth.Admin})
	a.AddToken(managerToken, auth.Principal{Login: "sue", Role: auth.Manager})
	ws := web.New(web.Config{Auth: a, Logger: quiet})
	for _, r := range web.BackupRoutes(web.Backup{
		DataDir: dir, Firmware: "1.4.0", Site: func() string { return s.System.Name },
		Staging: &backup.Staging{Options: backup.InspectOptions{DataDir: dir, Firmware: "1.4.0", Store: st, Logger: quiet}},
		Restart: func() { e.restarts.Add(1) }, Logger: quiet,
	}) {
		ws.HandleRoute(r)
	}
	e.srv = httptest.NewServer(ws.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *backupEnv) download(query string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/backup"+query, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp, buf.Bytes()
}

func TestBackupDownloadAndRestore(t *testing.T) {
	e := newBackupEnv(t)
	resp, archive := e.download("")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("GET backup = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cd := resp.Header.Get("Content-Disposition")
	if !regexp.MustCompile(`^attachment; filename="ringbox-backup-test-office-\d{8}-\d{6}\.tar\.gz"$`).MatchString(cd) {
		t.Errorf("Content-Disposition = %q", cd)
	}

	code, body := e.do("POST", "/api/v1/restore/inspect", adminToken, "application/gzip", bytes.NewReader(archive))
	if code != 200 {
		t.Fatalf("inspect = %d %s", code, body)
	}
	var p backup.Plan
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Manifest.Firmware != "1.4.0" || p.Backup.Site != "Test Office" || p.Backup.Extensions != 1 ||
		p.Backup.AudioFiles != 1 || p.Backup.VoicemailMessages != 1 || p.Backup.Recordings != 0 || !p.KeepsRecordings {
		t.Errorf("plan = %s", body)
	}
	if code, body := e.do("POST", "/api/v1/restore/nope", adminToken, "", nil); code != 404 || !strings.Contains(string(body), "upload it again") {
		t.Errorf("restore of an unknown id = %d %s", code, body)
	}
	if n := e.restarts.Load(); n != 0 {
		t.Fatalf("restarted %d times before the restore", n)
	}
	code, body = e.do("POST", "/api/v1/restore/"+p.ID, adminToken, "", nil)
	if code != 202 || !strings.Contains(string(body), `"restarting"`) {
		t.Fatalf("restore = %d %s", code, body)
	}
	if n := e.restarts.Load(); n != 1 {
		t.Errorf("restarted %d times after the restore, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, backup.PendingDir, "ringbox.db")); err != nil {
		t.Errorf("nothing pending for the restart: %v", err)
	}
}

func TestBackupWithRecordings(t *testing.T) {
	e := newBackupEnv(t)
	_, archive := e.download("?recordings=1")
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	found := false
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		found = found || h.Name == "recordings/2026-12-01/c1.wav"
	}
	if !found {
		t.Error("?recordings=1 archive lacks the recording")
	}
	if resp, body := e.download("?recordings=yes"); resp.StatusCode != 400 {
		t.Errorf("?recordings=yes = %d %s", resp.StatusCode, body)
	}
}

func TestRestoreRefusals(t *testing.T) {
	e := newBackupEnv(t)
	newer := func() []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		m := fmt.Sprintf(`{"format":1,"firmware":"9.0","schema":%d,"files":0}`, store.SchemaVersion()+1)
		tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(m)), Typeflag: tar.TypeReg})
		tw.Write([]byte(m))
		tw.Close()
		zw.Close()
		return buf.Bytes()
	}
	tests := []struct {
		name  string
		token string
		body  []byte
		code  int
		msg   string
	}{
		{"manager", managerToken, []byte("x"), 403, ""},
		{"garbage", adminToken, []byte("hello"), 400, "not a Ringbox backup: the file is not gzip-compressed"},
		{"newer firmware", adminToken, newer(), 409, fmt.Sprintf("this backup was made by firmware 9.0 (schema %d); this box runs 1.4.0 (schema %d): update the firmware first", store.SchemaVersion()+1, store.SchemaVersion())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.do("POST", "/api/v1/restore/inspect", tt.token, "application/gzip", bytes.NewReader(tt.body))
			var got struct{ Error string }
			json.Unmarshal(body, &got)
			if code != tt.code || !strings.Contains(got.Error, tt.msg) {
				t.Errorf("inspect = %d %s, want %d %q", code, body, tt.code, tt.msg)
			}
		})
	}
	if code, _ := e.do("GET", "/api/v1/backup", managerToken, "", nil); code != 403 {
		t.Errorf("manager GET backup = %d, want 403", code)
	}
	if e.restarts.Load() != 0 {
		t.Error("a refused upload restarted the box")
	}
}
