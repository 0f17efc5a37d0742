package web

// The firmware API the System page calls:
//
//	GET  /api/v1/system/firmware           admin: slots, versions, last rollback, install progress
//	POST /api/v1/system/firmware?force=1   admin: the body is an update bundle; checks and installs it

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"ringbox/firmware/auth"
	"ringbox/firmware/update"
)

// MaxBundleUploadBytes caps an uploaded update bundle (they are under
// 25 MB; the slot image they carry is 64 MB before compression).
const MaxBundleUploadBytes = 96 << 20

// Updater is what the firmware routes need of firmware/update.Updater.
type Updater interface {
	Status() (update.Status, error)
	Install(ctx context.Context, path string, force bool, progress func(update.Progress)) (update.Info, error)
	Progress() *update.Progress
}

// Firmware serves the firmware routes.
type Firmware struct {
	Updater Updater
	// TempDir receives the upload before it is checked: on the data
	// partition, since the bundle does not fit in RAM on the box.
	TempDir string
	// MaxUpload caps the upload in bytes; 0 is MaxBundleUploadBytes.
	// Tests set a small cap so that going over it does not take 96 MiB.
	MaxUpload int64
	Logger    *slog.Logger
}

// FirmwareRoutes are the routes of the System page's firmware section.
func FirmwareRoutes(f Firmware) []Route {
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	if f.MaxUpload <= 0 {
		f.MaxUpload = MaxBundleUploadBytes
	}
	a := &f
	return []Route{
		{Method: "GET", Path: "/api/v1/system/firmware", Role: auth.Admin, Summary: "Firmware: running version, the A/B slots, a pending install, the last rollback and why, install progress", Handler: http.HandlerFunc(a.status)},
		{Method: "POST", Path: "/api/v1/system/firmware", Role: auth.Admin, Summary: "Install an update bundle (the body, application/octet-stream; ?force=1 installs an older version); the box runs it after a reboot", Handler: http.HandlerFunc(a.install)},
	}
}

func (a *Firmware) status(w http.ResponseWriter, r *http.Request) {
	st, err := a.Updater.Status()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		update.Status
		Progress *update.Progress `json:"progress,omitempty"`
	}{st, a.Updater.Progress()})
}

func (a *Firmware) install(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force") == "1" || r.URL.Query().Get("force") == "true"
	if err := os.MkdirAll(a.TempDir, 0o700); err != nil {
		a.fail(w, r, fmt.Errorf("firmware upload: %w", err))
		return
	}
	tmp, err := os.CreateTemp(a.TempDir, "upload-*.raucb")
	if err != nil {
		a.fail(w, r, fmt.Errorf("firmware upload: %w", err))
		return
	}
	defer os.Remove(tmp.Name())
	body := &limitedBody{r: http.MaxBytesReader(w, r.Body, a.MaxUpload)}
	n, err := io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if body.over {
		a.Logger.Warn("firmware upload refused: too large", "limit", a.MaxUpload, "received", n)
		WriteError(w, http.StatusRequestEntityTooLarge, "the upload is larger than "+byteSize(a.MaxUpload)+"; an update bundle is at most that")
		return
	}
	if err != nil {
		a.Logger.Warn("firmware upload failed", "err", err, "received", n)
		WriteError(w, http.StatusBadRequest, "the upload did not arrive whole: "+err.Error())
		return
	}
	info, err := a.Updater.Install(r.Context(), tmp.Name(), force, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.Updater.Status()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.Logger.Info("firmware bundle installed", "version", info.Version, "bytes", n, "force", force)
	WriteJSON(w, http.StatusOK, map[string]any{"info": info, "pending": st.Pending, "reboot_required": true})
}

// fail answers a refused bundle with 422, 409 or 400 and its reason,
// anything else with 500; every one is logged with its reason.
func (a *Firmware) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := 0
	switch {
	case errors.Is(err, update.ErrSignature), errors.Is(err, update.ErrCompatible), errors.Is(err, update.ErrOlder):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, update.ErrBusy):
		status = http.StatusConflict
	case errors.Is(err, update.ErrNotBundle):
		status = http.StatusBadRequest
	case errors.Is(err, update.ErrNoSlots):
		status = http.StatusConflict
	}
	if status == 0 {
		a.Logger.Error("firmware request failed", "method", r.Method, "err", err)
		WriteInternalError(w, r, a.Logger, err)
		return
	}
	a.Logger.Warn("firmware bundle refused", "status", status, "reason", err)
	WriteError(w, status, err.Error())
}

// byteSize says n in the largest binary unit that divides it whole.
func byteSize(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
