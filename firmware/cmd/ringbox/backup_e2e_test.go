package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupRestoreThroughTheAPI takes a backup of a running box, changes
// its site, restores the backup through the API and checks the box that
// comes back: the old site, and the admin login of the backup still works.
func TestBackupRestoreThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: demoSite(t)})
	const login, password = "installer", "correct horse battery"
	if code, body := a.send("POST", "/api/v1/setup", "", "application/json",
		strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`)); code != 200 && code != 201 {
		t.Fatalf("setup = %d %s", code, body)
	}
	tok := a.token("admin")

	code, archive := a.send("GET", "/api/v1/backup", tok, "", nil)
	if code != 200 || len(archive) < 100 {
		t.Fatalf("GET backup = %d, %d bytes", code, len(archive))
	}

	// The site changes after the backup: extension 150 is added.
	src, err := os.ReadFile(demoSite(t))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "extensions:\n", "extensions:\n  - number: \"150\"\n    name: After Backup\n    secret: \"after-150-secret-x\"\n", 1)
	f := filepath.Join(t.TempDir(), "changed.yaml")
	os.WriteFile(f, []byte(changed), 0o600)
	if _, e, code := ringbox(t, "import", f, "--data", a.data); code != 0 {
		t.Fatalf("import: %d %s", code, e)
	}
	waitExtension(t, a, tok, "150", true)

	code, body := a.send("POST", "/api/v1/restore/inspect", tok, "application/gzip", bytes.NewReader(archive))
	if code != 200 {
		t.Fatalf("inspect = %d %s", code, body)
	}
	var plan struct {
		ID     string
		Backup struct {
			Site       string
			Extensions int
		}
		Current struct {
			Site       string
			Extensions int
		}
	}
	json.Unmarshal(body, &plan)
	if plan.Backup.Site != "Ringbox Demo" || plan.Current.Extensions != plan.Backup.Extensions+1 {
		t.Errorf("plan = %s", body)
	}
	started := strings.Count(a.log(), "ringbox started")
	if code, body := a.send("POST", "/api/v1/restore/"+plan.ID, tok, "", nil); code != 202 {
		t.Fatalf("restore = %d %s", code, body)
	}

	// The same process comes back (exec keeps the pid) on the backup.
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(a.log(), "ringbox started") == started {
		select {
		case <-a.exited:
			t.Fatalf("ringbox exited instead of restarting: %v", a.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the box did not come back after the restore")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(a.log(), "restore: done") {
		t.Errorf("no log of the restore being applied")
	}
	waitExtension(t, a, tok, "150", false)
	if code, body := a.send("POST", "/api/v1/session", "", "application/json",
		strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`)); code != 200 {
		t.Errorf("admin login after the restore = %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(a.data, "restore-previous", "ringbox.db")); err != nil {
		t.Errorf("the replaced database is not kept: %v", err)
	}
}

// waitExtension waits until GET /api/v1/extensions has (or lacks) number.
func waitExtension(t *testing.T, a *appliance, tok, number string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var exts []struct{ Number string }
		code := a.get("/api/v1/extensions", tok, &exts)
		found := false
		for _, x := range exts {
			found = found || x.Number == number
		}
		if code == 200 && found == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("extension %s present=%v, want %v (GET extensions %d)", number, found, want, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// send does a request with an optional bearer token and returns the status
// and body.
func (a *appliance) send(method, path, token, contentType string, body io.Reader) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
