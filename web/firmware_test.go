package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"ringbox/firmware/auth"
	"ringbox/firmware/update"
	"ringbox/firmware/update/updatetest"
	"ringbox/web"
	"ringbox/web/webtest"
)

// The firmware routes' tests run web.FirmwareRoutes on the real
// firmware/update.Updater of a box whose A/B slots and boot state are
// files (updatetest), with real RAUC bundles built by Debian's rauc.

// The boot state of a box that came up on slot A and passed its health
// check, and of one that then installed a bundle into slot B.
const (
	bootStateGood      = "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n"
	bootStateInstalled = "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=2\n"
)

type fwEnv struct {
	srv     *httptest.Server
	dev     updatetest.PKI // the key the box trusts
	box     *updatetest.Box
	upd     *update.Updater
	uploads string // web.Firmware.TempDir
	logs    *syncBuffer
}

// newFirmwareEnv is a box running 1.4.2 from slot A, marked good, serving
// the firmware routes; wrap (when not nil) wraps its updater as the routes
// see it, and maxUpload is web.Firmware.MaxUpload.
func newFirmwareEnv(t *testing.T, wrap func(*update.Updater) web.Updater, maxUpload int64) *fwEnv {
	t.Helper()
	e := &fwEnv{dev: updatetest.NewPKI(t, "dev"), uploads: t.TempDir(), logs: &syncBuffer{}}
	e.box = updatetest.NewBox(t, e.dev, "1.4.2")
	e.upd = e.box.Updater
	if err := e.upd.MarkGood(); err != nil {
		t.Fatal(err)
	}
	if got := e.box.BootState(t); got != bootStateGood {
		t.Fatalf("boot state of the new box:\n%s", got)
	}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	a := webtest.NewAuth()
	a.AddToken(adminToken, auth.Principal{Login: "installer", Role: auth.Admin})
	a.AddToken(managerToken, auth.Principal{Login: "sue", Role: auth.Manager})
	ws := web.New(web.Config{Auth: a, Logger: log})
	var u web.Updater = e.upd
	if wrap != nil {
		u = wrap(e.upd)
	}
	for _, r := range web.FirmwareRoutes(web.Firmware{Updater: u, TempDir: e.uploads, MaxUpload: maxUpload, Logger: log}) {
		ws.HandleRoute(r)
	}
	e.srv = httptest.NewServer(ws.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// upload POSTs the file at path (a bundle) or, when path is "", body.
func (e *fwEnv) upload(t *testing.T, token, query, path string, body []byte) (int, map[string]any) {
	t.Helper()
	if path != "" {
		var err error
		if body, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/system/firmware"+query, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Errorf("POST: %v", err)
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

type firmwareStatus struct {
	update.Status
	Progress *update.Progress `json:"progress"`
}

func (e *fwEnv) status(t *testing.T, token string) (int, firmwareStatus) {
	t.Helper()
	var st firmwareStatus
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/system/firmware", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Errorf("GET: %v", err)
		return 0, st
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Errorf("GET: %v", err)
		}
	}
	return resp.StatusCode, st
}

// untouched fails t unless slot B, the boot state and the status are as
// before any install, and no upload was left behind.
func (e *fwEnv) untouched(t *testing.T) {
	t.Helper()
	if got, _ := os.ReadFile(e.box.SlotB); !bytes.Equal(got, bytes.Repeat([]byte("B"), updatetest.SlotSize)) {
		t.Error("slot B was written")
	}
	if got := e.box.BootState(t); got != bootStateGood {
		t.Errorf("the boot state was changed:\n%s", got)
	}
	if st, err := e.upd.Status(); err != nil || st.Pending != nil || st.Slots[1].State != "empty" {
		t.Errorf("status: %+v, %v; want slot B empty, nothing pending", st, err)
	}
	e.noUploadsLeft(t)
}

func (e *fwEnv) noUploadsLeft(t *testing.T) {
	t.Helper()
	if ents, _ := os.ReadDir(e.uploads); len(ents) > 0 {
		t.Errorf("%d uploads left in %s (the data partition fills up)", len(ents), e.uploads)
	}
}

// installed fails t unless slot B holds image and is the next boot's
// first choice, pending with version.
func (e *fwEnv) installed(t *testing.T, image []byte, version string) {
	t.Helper()
	if got, _ := os.ReadFile(e.box.SlotB); !bytes.HasPrefix(got, image) {
		t.Error("slot B does not hold the bundle's image")
	}
	if got := e.box.BootState(t); got != bootStateInstalled {
		t.Errorf("boot state after the install:\n%s", got)
	}
	code, st := e.status(t, adminToken)
	if code != 200 || st.Pending == nil || st.Pending.Name != "B" || st.Pending.Version != version ||
		st.Slots[1].State != "trying" || st.Progress != nil {
		t.Errorf("GET after the install: %d %+v; want B pending with %s, no progress", code, st, version)
	}
	e.noUploadsLeft(t)
}

func TestFirmwareUploadInstalls(t *testing.T) {
	e := newFirmwareEnv(t, nil, 0)
	image := randomImage(300000)
	bundle := e.dev.Bundle(t, updatetest.Compatible, "1.5.0", image)

	code, out := e.upload(t, adminToken, "", bundle, nil)
	if code != 200 || out["reboot_required"] != true {
		t.Fatalf("POST: %d %v", code, out)
	}
	if info, _ := out["info"].(map[string]any); info["version"] != "1.5.0" || info["compatible"] != updatetest.Compatible || info["size"] != float64(len(image)) {
		t.Errorf("info %v", out["info"])
	}
	if p, _ := out["pending"].(map[string]any); p["name"] != "B" || p["version"] != "1.5.0" || p["state"] != "trying" {
		t.Errorf("pending %v", out["pending"])
	}
	e.installed(t, image, "1.5.0")
	if !strings.Contains(e.logs.String(), `msg="firmware bundle installed" version=1.5.0`) {
		t.Errorf("the install is not logged:\n%s", e.logs)
	}
	// What the System page shows after it: the running version on A, good.
	_, st := e.status(t, adminToken)
	if st.Version != "1.4.2" || st.Booted != "A" || st.Compatible != updatetest.Compatible ||
		len(st.Slots) != 2 || st.Slots[0].State != "good" || st.Slots[0].Version != "1.4.2" || st.Rollback != nil {
		t.Errorf("status %+v", st)
	}
}

func TestFirmwareRefusals(t *testing.T) {
	e := newFirmwareEnv(t, nil, 0)
	image := randomImage(200000)
	stranger := updatetest.NewPKI(t, "stranger").Bundle(t, updatetest.Compatible, "1.6.0", image)
	board := e.dev.Bundle(t, "ringbox-pbx-a", "1.6.0", image)
	older := e.dev.Bundle(t, updatetest.Compatible, "1.3.0", image)
	good, err := os.ReadFile(e.dev.Bundle(t, updatetest.Compatible, "1.6.0", image))
	if err != nil {
		t.Fatal(err)
	}
	// One byte of the payload changed on the way: the signature (over the
	// manifest) still verifies, the verity hash of the payload does not.
	damaged := bytes.Clone(good)
	damaged[1000] ^= 1

	for _, c := range []struct {
		name string
		path string
		body []byte
		code int
		msg  string // in the answer and, with the status, in the log
	}{
		{"stranger's signature", stranger, nil, 422, "x509: certificate signed by unknown authority"},
		{"another board", board, nil, 422, "bundle is for ringbox-pbx-a, this box is ringbox-qemu-virt"},
		{"older", older, nil, 422, "bundle version 1.3.0 is older than the running 1.4.2 (force to install anyway)"},
		{"damaged", "", damaged, 422, "the payload does not match the signed verity hash"},
		{"junk", "", bytes.Repeat([]byte("junk\n"), 2000), 400, "not a firmware bundle: no signature trailer"},
		{"half a bundle", "", good[:len(good)/2], 400, "not a firmware bundle"},
		{"empty", "", nil, 400, "not a firmware bundle: 0 bytes is too small"},
	} {
		code, out := e.upload(t, adminToken, "", c.path, c.body)
		msg, _ := out["error"].(string)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, code, msg, c.code, c.msg)
		}
		if want := `msg="firmware bundle refused" status=` + strconv.Itoa(c.code); !logHas(e.logs.String(), want, c.msg) {
			t.Errorf("%s: no log line %s with the reason %q:\n%s", c.name, want, c.msg, e.logs)
		}
	}
	// A manager may not install, even a good bundle; nor see the slots.
	if code, _ := e.upload(t, managerToken, "", "", good); code != 403 {
		t.Errorf("a manager's upload: %d, want 403", code)
	}
	if code, _ := e.status(t, managerToken); code != 403 {
		t.Errorf("a manager's GET: %d, want 403", code)
	}
	e.untouched(t)

	// The older one goes in when the admin insists.
	code, out := e.upload(t, adminToken, "?force=1", older, nil)
	if info, _ := out["info"].(map[string]any); code != 200 || info["version"] != "1.3.0" {
		t.Fatalf("POST ?force=1 of the older bundle: %d %v", code, out)
	}
	e.installed(t, image, "1.3.0")
	if !strings.Contains(e.logs.String(), `msg="firmware bundle installed" version=1.3.0 bytes=`) ||
		!strings.Contains(e.logs.String(), "force=true") {
		t.Errorf("the forced install is not logged as forced:\n%s", e.logs)
	}
}

// TestFirmwareUploadTooLarge: over the cap the upload is refused while it
// arrives, before the updater sees it; under it the same kind of bundle
// installs.
func TestFirmwareUploadTooLarge(t *testing.T) {
	const limit = 512 << 10
	e := newFirmwareEnv(t, nil, limit)
	big := e.dev.Bundle(t, updatetest.Compatible, "1.5.0", randomImage(2<<20))
	if fi, err := os.Stat(big); err != nil || fi.Size() <= limit {
		t.Fatalf("the big bundle: %v, %v; want over %d bytes", fi, err, limit)
	}
	code, out := e.upload(t, adminToken, "", big, nil)
	if msg, _ := out["error"].(string); code != 413 || !strings.Contains(msg, "larger than 512 KiB") {
		t.Errorf("POST of a bundle over the limit: %d %v, want 413 naming the 512 KiB limit", code, out)
	}
	if !strings.Contains(e.logs.String(), `msg="firmware upload refused: too large" limit=524288`) {
		t.Errorf("the refusal is not logged:\n%s", e.logs)
	}
	e.untouched(t)

	image := randomImage(100000)
	if code, out := e.upload(t, adminToken, "", e.dev.Bundle(t, updatetest.Compatible, "1.5.1", image), nil); code != 200 {
		t.Fatalf("POST of a bundle under the limit: %d %v", code, out)
	}
	e.installed(t, image, "1.5.1")
}

// TestFirmwareBusyWithProgress: while one install writes slot B, the
// status shows its progress and a second upload is refused with 409; the
// first one then completes.
func TestFirmwareBusyWithProgress(t *testing.T) {
	held := &heldDisk{writing: make(chan struct{}), release: make(chan struct{})}
	e := newFirmwareEnv(t, func(u *update.Updater) web.Updater { held.Updater = u; return held }, 0)
	image := randomImage(3 << 20)
	first, err := os.ReadFile(e.dev.Bundle(t, updatetest.Compatible, "1.5.0", image))
	if err != nil {
		t.Fatal(err)
	}
	second := e.dev.Bundle(t, updatetest.Compatible, "1.6.0", randomImage(100000))

	type answer struct {
		code int
		out  map[string]any
	}
	// Buffered: the answer is put back after each look, for the deferred
	// receive that joins the goroutine.
	done := make(chan answer, 1)
	go func() {
		code, out := e.upload(t, adminToken, "", "", first)
		done <- answer{code, out}
	}()
	released := false
	release := func() {
		if !released {
			released = true
			close(held.release)
		}
	}
	// Whatever fails below, the first install is let go and its request
	// answered before the test ends.
	defer func() { release(); <-done }()
	select {
	case <-held.writing:
	case a := <-done:
		done <- a // for the deferred receive
		t.Fatalf("the first upload ended before writing the slot: %d %v", a.code, a.out)
	}

	code, st := e.status(t, adminToken)
	if code != 200 || st.Progress == nil || *st.Progress != (update.Progress{Step: "write", Done: 1 << 20, Total: 3 << 20}) {
		t.Errorf("GET during the install: %d, progress %+v; want 1 of 3 MiB written", code, st.Progress)
	}
	if code, _ := e.status(t, managerToken); code != 403 {
		t.Errorf("a manager's GET during the install: %d, want 403", code)
	}
	code, out := e.upload(t, adminToken, "", second, nil)
	if msg, _ := out["error"].(string); code != 409 || msg != "an update is already being installed" {
		t.Errorf("a second upload during the install: %d %v, want 409", code, out)
	}
	if !logHas(e.logs.String(), `msg="firmware bundle refused" status=409`, "an update is already being installed") {
		t.Errorf("the 409 is not logged with its reason:\n%s", e.logs)
	}

	release()
	a := <-done
	done <- a
	if info, _ := a.out["info"].(map[string]any); a.code != 200 || info["version"] != "1.5.0" {
		t.Fatalf("the first upload: %d %v", a.code, a.out)
	}
	e.installed(t, image, "1.5.0")
}

// heldDisk is the box's updater with a disk that stalls after the first
// MiB written to the slot until the test releases it (as slowDisk, but
// for as long as the test needs rather than for a time): the install is
// then surely running when the test looks at it. The progress the routes
// read is still the updater's own.
type heldDisk struct {
	*update.Updater
	writing chan struct{} // closed when the first MiB is written
	release chan struct{} // closed by the test to let the write go on
}

func (h *heldDisk) Install(ctx context.Context, path string, force bool, progress func(update.Progress)) (update.Info, error) {
	first := true
	return h.Updater.Install(ctx, path, force, func(p update.Progress) {
		if p.Step == "write" && first {
			first = false
			close(h.writing)
			<-h.release
		}
		if progress != nil {
			progress(p)
		}
	})
}

// logHas: some line of logs has both want and reason.
func logHas(logs, want, reason string) bool {
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, want) && strings.Contains(l, reason) {
			return true
		}
	}
	return false
}
