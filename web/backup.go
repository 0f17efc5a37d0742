package web

// The API of backup and restore (package backup).
//
//	GET  /api/v1/backup?recordings=1   admin: download the box as one .tar.gz
//	POST /api/v1/restore/inspect       admin: upload a backup (the body is the file); answers the plan
//	POST /api/v1/restore/{id}          admin: restore the inspected backup; 202, then the box restarts

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/backup"
)

// MaxRestoreUploadBytes bounds a restore upload: the files a backup may
// hold plus room for the tar headers of many small files.
const MaxRestoreUploadBytes = backup.MaxUnpackedBytes + 512<<20

// Backup is what the backup and restore routes need. All fields but
// Logger are required.
type Backup struct {
	DataDir  string          // the box's data directory (--data)
	Firmware string          // this firmware's version, for the manifest
	Site     func() string   // the site's name now, for the download's file name
	Staging  *backup.Staging // inspected uploads waiting to be restored
	// Restart shuts the box down the way SIGTERM does (calls end, their
	// CDRs are written) and starts it again, which applies the restore.
	// It returns at once; the answer is sent before the shutdown begins.
	Restart func()
	Logger  *slog.Logger // nil: slog.Default()
}

// BackupRoutes returns the backup and restore routes, for
// [Server.HandleRoute].
func BackupRoutes(b Backup) []Route {
	if b.Logger == nil {
		b.Logger = slog.Default()
	}
	b.Logger = b.Logger.With("pkg", "web")
	a := &b
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/backup", Role: auth.Admin, Section: "settings", File: true,
			Summary: "Download a backup of the box: configuration, audio, voicemail, call records (?recordings=1 adds call recordings)",
			Handler: http.HandlerFunc(a.download)},
		{Method: http.MethodPost, Path: "/api/v1/restore/inspect", Role: auth.Admin, Section: "settings",
			Summary: "Upload a backup (body: the .tar.gz); answers what restoring it would replace, with the id to restore it by",
			Handler: http.HandlerFunc(a.inspect)},
		{Method: http.MethodPost, Path: "/api/v1/restore/{id}", Role: auth.Admin, Section: "settings",
			Summary: "Restore an inspected backup: answers 202, then the box restarts on the backup's data",
			Handler: http.HandlerFunc(a.restore)},
	}
}

// countingWriter notes whether anything reached the client, after which
// a failure can no longer be an error answer.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (a *Backup) download(w http.ResponseWriter, r *http.Request) {
	rec := r.URL.Query().Get("recordings")
	if rec != "" && rec != "0" && rec != "1" {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("recordings must be 0 or 1, not %q", rec))
		return
	}
	now := time.Now()
	h := w.Header()
	h.Set("Content-Type", "application/gzip")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", backup.FileName(a.Site(), now)))
	h.Set("Cache-Control", "no-store")
	cw := &countingWriter{w: w}
	m, err := backup.Write(r.Context(), cw, backup.Options{
		DataDir: a.DataDir, Firmware: a.Firmware, Recordings: rec == "1", Logger: a.Logger,
		Now: func() time.Time { return now },
	})
	if err != nil {
		if cw.n == 0 {
			h.Del("Content-Disposition")
			WriteInternalError(w, r, a.Logger, fmt.Errorf("backup: %w", err))
			return
		}
		// Half an archive is on its way: break the connection so the
		// browser reports a failed download, not a short file.
		a.Logger.Error("backup download failed part way", "err", err, "sent", cw.n)
		panic(http.ErrAbortHandler)
	}
	a.Logger.Info("backup downloaded", "site", m.Site, "files", m.Files, "bytes", m.Bytes, "recordings", m.Recordings)
}

// limitedBody remembers whether the upload went over its limit, which the
// archive reader reports only as a damaged archive.
type limitedBody struct {
	r    io.Reader
	over bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		l.over = true
	}
	return n, err
}

func (a *Backup) inspect(w http.ResponseWriter, r *http.Request) {
	body := &limitedBody{r: http.MaxBytesReader(w, r.Body, MaxRestoreUploadBytes)}
	p, err := a.Staging.Inspect(r.Context(), body)
	if body.over {
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is larger than %d MiB; a backup is at most that", MaxRestoreUploadBytes>>20))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, p)
}

func (a *Backup) restore(w http.ResponseWriter, r *http.Request) {
	p, err := a.Staging.Apply(r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.Logger.Info("restore requested; restarting", "site", p.Backup.Site, "backup_created", p.Manifest.Created)
	WriteJSON(w, http.StatusAccepted, map[string]any{
		"status": "restarting",
		"message": fmt.Sprintf("The box restarts now with the backup of %q made %s; calls in progress end. The page reconnects when it is back.",
			p.Backup.Site, p.Manifest.Created.Format(time.RFC3339)),
		"plan": p,
	})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	a.Restart()
}

// fail answers a refusal with its status and words, anything else with
// 500 and the details only in the log.
func (a *Backup) fail(w http.ResponseWriter, r *http.Request, err error) {
	var be *backup.Error
	if !errors.As(err, &be) {
		WriteInternalError(w, r, a.Logger, err)
		return
	}
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, backup.ErrTooBig):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, backup.ErrNewerFirmware), errors.Is(err, backup.ErrPending):
		status = http.StatusConflict
	case errors.Is(err, backup.ErrUnknownStaging):
		status = http.StatusNotFound
	}
	WriteError(w, status, be.Msg)
}
