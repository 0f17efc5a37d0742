package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"ringbox/firmware/auth"
	"ringbox/firmware/update"
	"ringbox/web"
	"ringbox/web/webtest"
)

// fakeUpdater judges an upload by its first line, as the real one judges a
// bundle by its signed manifest.
type fakeUpdater struct {
	mu       sync.Mutex
	got      []byte // the last upload, read from the path Install was given
	force    bool
	progress *update.Progress
}

func (f *fakeUpdater) Status() (update.Status, error) {
	return update.Status{Compatible: "ringbox-qemu-virt", Version: "v1.0.0", Booted: "A",
		Slots:    []update.Slot{{Name: "A", State: "good", Booted: true, Version: "v1.0.0"}, {Name: "B", State: "trying", Version: "v1.1.0"}},
		Rollback: &update.Rollback{From: "B", Version: "v0.9.0", Reason: "ringbox exited at start"},
		Pending:  &update.Slot{Name: "B", Version: "v1.1.0"}}, nil
}

func (f *fakeUpdater) Progress() *update.Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.progress
}

func (f *fakeUpdater) Install(ctx context.Context, path string, force bool, progress func(update.Progress)) (update.Info, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return update.Info{}, err
	}
	f.mu.Lock()
	f.got, f.force = b, force
	f.mu.Unlock()
	first, _, _ := bytes.Cut(b, []byte("\n"))
	switch string(first) {
	case "stranger":
		return update.Info{}, fmt.Errorf("%w: x509: certificate signed by unknown authority", update.ErrSignature)
	case "board":
		return update.Info{}, fmt.Errorf("bundle is for ringbox-pbx-a, this box is ringbox-qemu-virt: %w", update.ErrCompatible)
	case "busy":
		return update.Info{}, update.ErrBusy
	case "junk":
		return update.Info{}, fmt.Errorf("%w: no signature trailer", update.ErrNotBundle)
	case "disk":
		return update.Info{}, fmt.Errorf("write slot B: input/output error")
	}
	return update.Info{Compatible: "ringbox-qemu-virt", Version: "v1.1.0", Size: int64(len(b))}, nil
}

func newFirmwareServer(t *testing.T) (*httptest.Server, *fakeUpdater, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	a := webtest.NewAuth()
	a.AddToken(adminToken, auth.Principal{Login: "installer", Role: auth.Admin})
	a.AddToken(managerToken, auth.Principal{Login: "sue", Role: auth.Manager})
	ws := web.New(web.Config{Auth: a, Logger: log})
	fu := &fakeUpdater{}
	for _, r := range web.FirmwareRoutes(web.Firmware{Updater: fu, TempDir: t.TempDir(), Logger: log}) {
		ws.HandleRoute(r)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return srv, fu, logs
}

func upload(t *testing.T, srv *httptest.Server, token, query string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/system/firmware"+query, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestFirmwareUploadInstalls(t *testing.T) {
	srv, fu, _ := newFirmwareServer(t)
	bundle := append([]byte("good\n"), bytes.Repeat([]byte{0xab}, 3<<20)...)
	code, out := upload(t, srv, adminToken, "", bundle)
	if code != 200 || out["reboot_required"] != true {
		t.Fatalf("POST: %d %v", code, out)
	}
	if !bytes.Equal(fu.got, bundle) || fu.force {
		t.Errorf("the updater got %d bytes (force %v), want the %d uploaded", len(fu.got), fu.force, len(bundle))
	}
	if info := out["info"].(map[string]any); info["version"] != "v1.1.0" {
		t.Errorf("info %v", info)
	}
	if p := out["pending"].(map[string]any); p["name"] != "B" {
		t.Errorf("pending %v", p)
	}
	upload(t, srv, adminToken, "?force=1", bundle)
	if !fu.force {
		t.Error("?force=1 did not reach the updater")
	}
}

func TestFirmwareRefusals(t *testing.T) {
	srv, _, logs := newFirmwareServer(t)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{"stranger\n", 422, "signature"},
		{"board\n", 422, "bundle is for ringbox-pbx-a, this box is ringbox-qemu-virt"},
		{"busy\n", 409, "already being installed"},
		{"junk\n", 400, "not a firmware bundle"},
		{"disk\n", 500, "internal error"},
	} {
		code, out := upload(t, srv, adminToken, "", []byte(c.body))
		msg, _ := out["error"].(string)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%q: %d %q, want %d mentioning %q", strings.TrimSpace(c.body), code, msg, c.code, c.msg)
		}
	}
	for _, want := range []string{"certificate signed by unknown authority", "input/output error"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not give the reason %q:\n%s", want, logs)
		}
	}
	if code, _ := upload(t, srv, managerToken, "", []byte("good\n")); code != 403 {
		t.Errorf("a manager's upload: %d, want 403", code)
	}
}

func TestFirmwareStatus(t *testing.T) {
	srv, fu, _ := newFirmwareServer(t)
	fu.progress = &update.Progress{Step: "write", Done: 5, Total: 10}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/system/firmware", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		update.Status
		Progress *update.Progress `json:"progress"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %d %v", resp.StatusCode, err)
	}
	if st.Version != "v1.0.0" || len(st.Slots) != 2 || st.Rollback == nil || st.Rollback.Reason != "ringbox exited at start" ||
		st.Progress == nil || st.Progress.Done != 5 {
		t.Errorf("status %+v", st)
	}
}
