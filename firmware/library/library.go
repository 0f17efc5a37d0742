// Package library serves the API through which installers upload prompts
// and music on hold, so a box can greet callers in its owner's voice.
//
// An upload is decoded once, by [sound.Import] (WAV or MP3, any common
// rate, downmixed, resampled and normalised), and stored as a 16 kHz mono
// 16-bit WAV under the data directory: prompts/ID.wav for a prompt,
// moh/CLASS/N.wav for a hold-music track. The site then names the file,
// through the store's one-transaction import, so the running appliance picks
// it up like any other configuration change.
//
// # Failure
//
// A file that does not decode changes nothing: it is refused before any
// file is written or the configuration is read. A stored file is first
// written under a temporary name and renamed into place, so a crash never
// leaves half a file under a name the site uses; if the import then fails,
// the previous file is put back.
//
// # Routes
//
//	POST   /api/v1/prompts/{id}                admin: upload a prompt (the body is the file)
//	GET    /api/v1/prompts                     manager: uploaded and built-in prompts
//	DELETE /api/v1/prompts/{id}                admin: remove an uploaded prompt
//	POST   /api/v1/holdmusic/{class}/tracks    admin: add a track to a class
//	GET    /api/v1/holdmusic                   manager: hold-music classes and tracks
//	DELETE /api/v1/holdmusic/{class}           admin: remove a class and its tracks
package library

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hajimehoshi/go-mp3"

	"ringbox/audio/prompts"
	"ringbox/audio/sound"
	"ringbox/audio/wav"
	"ringbox/firmware/auth"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
)

// MaxUploadBytes is the largest audio file an upload may send.
const MaxUploadBytes = 20 << 20

// storedRate is the rate of every stored file: the G.722 rate, from which
// the 8 kHz G.711 audio is derived without loss of what phones can play.
const storedRate = 16000

// Store is the part of the store the library needs.
type Store interface {
	ExportSite(ctx context.Context) (*site.Site, error)
	ImportSite(ctx context.Context, st *site.Site, actor string) (store.Change, error)
	InsertAudit(ctx context.Context, e store.AuditEntry) error
}

// Config is what a [Library] needs. DataDir and Store are required.
type Config struct {
	DataDir string // the appliance's data directory; stored paths are relative to it
	Store   Store
	Logger  *slog.Logger // nil: slog.Default()
}

// Library stores uploaded audio and names it in the site.
type Library struct {
	dir string
	st  Store
	log *slog.Logger

	// mu serialises changes: each one exports the site, edits it and imports
	// it, and two interleaved would lose one of the edits.
	mu sync.Mutex
}

// New returns a library for cfg.
func New(cfg Config) *Library {
	if cfg.Store == nil || cfg.DataDir == "" {
		panic("library: Config.Store and Config.DataDir are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Library{dir: cfg.DataDir, st: cfg.Store, log: cfg.Logger.With("pkg", "library")}
}

// Routes returns the API routes, for web.Server.HandleRoute.
func (l *Library) Routes() []web.Route {
	return []web.Route{
		{Method: http.MethodPost, Path: "/api/v1/prompts/{id}", Role: auth.Admin, Section: "settings",
			Summary: "Upload a prompt (body: a WAV or MP3 file); replaces a built-in prompt of the same id", Handler: http.HandlerFunc(l.uploadPrompt)},
		{Method: http.MethodGet, Path: "/api/v1/prompts", Role: auth.Manager, Section: "settings",
			Summary: "Uploaded and built-in prompts with their durations", Handler: http.HandlerFunc(l.listPrompts)},
		{Method: http.MethodDelete, Path: "/api/v1/prompts/{id}", Role: auth.Admin, Section: "settings",
			Summary: "Remove an uploaded prompt unless the configuration uses it", Handler: http.HandlerFunc(l.deletePrompt)},
		{Method: http.MethodPost, Path: "/api/v1/holdmusic/{class}/tracks", Role: auth.Admin, Section: "settings",
			Summary: "Add a track (body: a WAV or MP3 file) to a hold-music class, creating the class if needed", Handler: http.HandlerFunc(l.uploadTrack)},
		{Method: http.MethodGet, Path: "/api/v1/holdmusic", Role: auth.Manager, Section: "settings",
			Summary: "Hold-music classes and their tracks", Handler: http.HandlerFunc(l.listHoldMusic)},
		{Method: http.MethodDelete, Path: "/api/v1/holdmusic/{class}", Role: auth.Admin, Section: "settings",
			Summary: "Remove a hold-music class and its uploaded tracks unless the configuration uses it", Handler: http.HandlerFunc(l.deleteHoldMusic)},
	}
}

var idPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// apiError is a failure with the status and words to answer with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// fail answers err: its own status and words for an *apiError, else 500
// with the details only in the log (they may name internal paths).
func (l *Library) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		web.WriteError(w, ae.status, ae.msg)
		return
	}
	l.log.Error("library request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	web.WriteError(w, http.StatusInternalServerError, "internal error: the change was not made (see the appliance log)")
}

func checkID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return errorf(http.StatusBadRequest, "%s id %q is not valid: use 1 to 64 lowercase letters, digits, - and _", kind, id)
	}
	return nil
}

func actor(r *http.Request) string {
	if p, ok := web.PrincipalFrom(r.Context()); ok && p.Login != "" {
		return p.Login
	}
	return "api"
}

// upload is a decoded upload, already written to a temporary file beside
// where it will live.
type upload struct {
	tmp        string // absolute path of the temporary file
	duration   time.Duration
	sourceRate int // 0: unknown
	bytes      int
}

// receive reads, decodes and stages the request body, to be renamed into
// dir (relative to the data directory). Nothing is written unless the file
// decodes.
func (l *Library) receive(w http.ResponseWriter, r *http.Request, name, dir string) (*upload, error) {
	ext, err := contentExt(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if r.ContentLength > MaxUploadBytes {
		return nil, tooBig()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUploadBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooBig()
		}
		return nil, errorf(http.StatusBadRequest, "could not read the upload: %v", err)
	}
	if len(body) == 0 {
		return nil, errorf(http.StatusBadRequest, "empty body: send the WAV or MP3 file itself as the request body")
	}
	clip, err := sound.Import(bytes.NewReader(body), name+ext, MaxUploadBytes)
	if err != nil {
		return nil, importError(err)
	}
	u := &upload{duration: clip.Duration, sourceRate: sourceRate(body), bytes: len(body)}
	abs := filepath.Join(l.dir, filepath.FromSlash(dir))
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", abs, err)
	}
	f, err := os.CreateTemp(abs, ".upload-*.wav")
	if err != nil {
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	u.tmp = f.Name()
	err = wav.Write(f, storedRate, 1, clip.PCM16k)
	if err == nil {
		err = f.Sync() // the rename must not overtake the data on a power cut
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(u.tmp)
		return nil, fmt.Errorf("write %s: %w", u.tmp, err)
	}
	return u, nil
}

func tooBig() error {
	return errorf(http.StatusRequestEntityTooLarge, "file is too big: the limit is %d MiB", MaxUploadBytes>>20)
}

// contentExt checks the upload's Content-Type and returns a file-name
// extension hinting the format to the decoder ("" when the type says
// nothing).
func contentExt(ct string) (string, error) {
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "audio/mpeg" || mt == "audio/mp3":
		return ".mp3", nil
	case mt == "audio/wav" || mt == "audio/x-wav" || mt == "audio/wave" || mt == "audio/vnd.wave":
		return ".wav", nil
	case strings.HasPrefix(mt, "audio/") || mt == "application/octet-stream":
		return "", nil
	}
	return "", errorf(http.StatusUnsupportedMediaType,
		"Content-Type %q: send the file itself with Content-Type audio/mpeg, audio/wav or application/octet-stream (curl: -H 'Content-Type: audio/mpeg' --data-binary @file.mp3)", ct)
}

// importError turns a sound.Import failure into an answer. The sound
// package's words are written for the person uploading.
func importError(err error) error {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, sound.ErrTooBig):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, sound.ErrUnknownFormat), errors.Is(err, sound.ErrUnsupported), errors.Is(err, wav.ErrUnsupported):
		status = http.StatusUnsupportedMediaType
	}
	return errorf(status, "%v; nothing was changed", err)
}

// sourceRate reads the sample rate an uploaded file declares, for the
// answer only; 0 when it cannot tell.
func sourceRate(b []byte) (rate int) {
	if wr, err := wav.NewReader(bytes.NewReader(b)); err == nil {
		return wr.Rate
	}
	defer func() {
		if recover() != nil { // the decoder already accepted the file; be safe anyway
			rate = 0
		}
	}()
	// Hide Seek: with it go-mp3 scans the whole file for its length.
	d, err := mp3.NewDecoder(struct{ io.Reader }{bytes.NewReader(b)})
	if err != nil {
		return 0
	}
	return d.SampleRate()
}

// install renames the staged upload to file (relative to the data
// directory), imports s, and writes the audit row. If the import fails, the
// file that was there before is put back.
// current exports the site to edit. A box that never had a site imported
// has version 0, which no site file may have: it starts a version 1 site.
func (l *Library) current(ctx context.Context) (*site.Site, error) {
	s, err := l.st.ExportSite(ctx)
	if err != nil {
		return nil, err
	}
	if s.Version == 0 {
		s.Version = 1
	}
	return s, nil
}

func (l *Library) install(ctx context.Context, u *upload, file string, s *site.Site, who string, audit store.AuditEntry) error {
	if errs := s.Validate(); len(errs) > 0 {
		return errorf(http.StatusConflict, "the configuration would not be valid; nothing was changed:\n%v", errs)
	}
	final := filepath.Join(l.dir, filepath.FromSlash(file))
	backup := filepath.Join(filepath.Dir(final), ".replaced-"+filepath.Base(final))
	hadOld := true
	if err := os.Rename(final, backup); errors.Is(err, os.ErrNotExist) {
		hadOld = false
	} else if err != nil {
		return fmt.Errorf("set aside %s: %w", final, err)
	}
	restore := func() {
		if hadOld {
			os.Rename(backup, final)
		} else {
			os.Remove(final)
		}
		syncDir(filepath.Dir(final))
	}
	if err := os.Rename(u.tmp, final); err != nil {
		restore()
		return fmt.Errorf("store %s: %w", final, err)
	}
	syncDir(filepath.Dir(final))
	if _, err := l.st.ImportSite(ctx, s, who); err != nil {
		restore()
		return fmt.Errorf("save configuration: %w", err)
	}
	if hadOld {
		os.Remove(backup)
	}
	l.audit(ctx, audit)
	return nil
}

// syncDir makes a rename in dir durable. Best effort: some file systems
// cannot sync a directory, and the rename itself already happened.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// audit writes an audit row beside the store's own config.import row, so
// the log says what was uploaded, not only that the site changed. The
// change is already made: a failure here is logged, not answered.
func (l *Library) audit(ctx context.Context, e store.AuditEntry) {
	if err := l.st.InsertAudit(ctx, e); err != nil {
		l.log.Error("audit", "action", e.Action, "object", e.Object, "err", err)
	}
}

func auditDetail(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// Uploaded is the answer to an upload.
type Uploaded struct {
	ID              string   `json:"id"`                    // the prompt id or hold-music class
	File            string   `json:"file"`                  // relative to the data directory
	DurationSeconds float64  `json:"duration_seconds"`      // of the stored audio
	SourceRate      int      `json:"source_rate,omitempty"` // sample rate of the uploaded file
	Files           []string `json:"files,omitempty"`       // hold music: the class's tracks now
}

func (l *Library) uploadPrompt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkID("prompt", id); err != nil {
		l.fail(w, r, err)
		return
	}
	u, err := l.receive(w, r, id, "prompts")
	if err != nil {
		l.fail(w, r, err)
		return
	}
	defer os.Remove(u.tmp) // gone already unless something failed
	file := "prompts/" + id + ".wav"
	who := actor(r)

	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	if i := slices.IndexFunc(s.Prompts, func(p site.Prompt) bool { return p.ID == id }); i >= 0 {
		s.Prompts[i].File = file
	} else {
		s.Prompts = append(s.Prompts, site.Prompt{ID: id, File: file})
	}
	out := Uploaded{ID: id, File: file, DurationSeconds: seconds(u.duration), SourceRate: u.sourceRate}
	audit := store.AuditEntry{Actor: who, Action: "prompt.upload", Object: id,
		Detail: auditDetail(map[string]any{"file": file, "bytes": u.bytes, "duration_seconds": out.DurationSeconds, "source_rate": u.sourceRate})}
	if err := l.install(r.Context(), u, file, s, who, audit); err != nil {
		l.fail(w, r, err)
		return
	}
	l.log.Info("prompt uploaded", "prompt", id, "file", file, "duration", u.duration, "actor", who)
	web.WriteJSON(w, http.StatusOK, out)
}

// PromptInfo is one prompt in the list.
type PromptInfo struct {
	ID   string `json:"id"`
	File string `json:"file,omitempty"` // uploaded: relative to the data directory
	// Builtin: the box ships a prompt with this id (an uploaded one of the
	// same id replaces it).
	Builtin         bool    `json:"builtin"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"` // 0: unknown
	Problem         string  `json:"problem,omitempty"`          // why the uploaded file cannot be played
}

func (l *Library) listPrompts(w http.ResponseWriter, r *http.Request) {
	s, err := l.st.ExportSite(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	out := []PromptInfo{}
	seen := map[string]bool{}
	for _, p := range s.Prompts {
		info := PromptInfo{ID: p.ID, File: p.File, Builtin: slices.Contains(site.BuiltinPrompts, p.ID)}
		d, err := l.fileDuration(p.File)
		if err != nil {
			info.Problem = err.Error()
		}
		info.DurationSeconds = seconds(d)
		out = append(out, info)
		seen[p.ID] = true
	}
	lang := s.System.Lang()
	for _, id := range site.BuiltinPrompts {
		if seen[id] {
			continue
		}
		info := PromptInfo{ID: id, Builtin: true}
		if pcm, ok := prompts.Get(lang, id, storedRate); ok {
			info.DurationSeconds = seconds(time.Duration(len(pcm)) * time.Second / storedRate)
		}
		out = append(out, info)
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// fileDuration reads the length of a stored file from its header. Files
// named by an imported site file may be MP3s or may be missing.
func (l *Library) fileDuration(file string) (time.Duration, error) {
	p := file
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, filepath.FromSlash(file))
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("file %s is missing", file)
		}
		return 0, fmt.Errorf("file %s cannot be read", file)
	}
	defer f.Close()
	wr, err := wav.NewReader(f)
	if err != nil || wr.Rate == 0 {
		return 0, nil // not a WAV: its length is unknown without decoding
	}
	return time.Duration(wr.Frames()) * time.Second / time.Duration(wr.Rate), nil
}

func (l *Library) deletePrompt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := checkID("prompt", id); err != nil {
		l.fail(w, r, err)
		return
	}
	who := actor(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(s.Prompts, func(p site.Prompt) bool { return p.ID == id })
	if i < 0 {
		l.fail(w, r, errorf(http.StatusNotFound, "no uploaded prompt %q", id))
		return
	}
	builtin := slices.Contains(site.BuiltinPrompts, id)
	if users := promptUsers(s, id); len(users) > 0 && !builtin {
		l.fail(w, r, errorf(http.StatusConflict, "prompt %q is used by %s: change them first", id, strings.Join(users, ", ")))
		return
	}
	file := s.Prompts[i].File
	s.Prompts = slices.Delete(s.Prompts, i, i+1)
	if errs := s.Validate(); len(errs) > 0 {
		l.fail(w, r, errorf(http.StatusConflict, "the configuration would not be valid; nothing was changed:\n%v", errs))
		return
	}
	if _, err := l.st.ImportSite(r.Context(), s, who); err != nil {
		l.fail(w, r, fmt.Errorf("save configuration: %w", err))
		return
	}
	l.removeOwned(file, "prompts")
	l.audit(r.Context(), store.AuditEntry{Actor: who, Action: "prompt.delete", Object: id, Detail: auditDetail(map[string]any{"file": file})})
	l.log.Info("prompt deleted", "prompt", id, "file", file, "actor", who)
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true, "builtin_remains": builtin})
}

// removeOwned deletes file if it lies in the library's own directory under
// the data directory; files a site file names elsewhere are the
// installer's, not ours to delete.
func (l *Library) removeOwned(file, under string) {
	clean := path.Clean(filepath.ToSlash(file))
	if filepath.IsAbs(file) || !strings.HasPrefix(clean, under+"/") {
		return
	}
	p := filepath.Join(l.dir, filepath.FromSlash(clean))
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn("remove audio file", "file", p, "err", err)
	}
}

// promptUsers names what in s plays prompt id.
func promptUsers(s *site.Site, id string) []string {
	var users []string
	for _, m := range s.IVRs {
		if m.Greeting == id {
			users = append(users, "ivr "+m.ID+" (greeting)")
		}
		if m.Invalid == id {
			users = append(users, "ivr "+m.ID+" (invalid)")
		}
	}
	for _, a := range s.Announcements {
		if a.Prompt == id {
			users = append(users, "announcement "+a.ID)
		}
	}
	for _, q := range s.Queues {
		if q.Comfort != nil && slices.Contains(q.Comfort.Prompts, id) {
			users = append(users, "queue "+q.ID+" (comfort)")
		}
	}
	for _, m := range s.Voicemail {
		if m.Greeting == id {
			users = append(users, "voicemail box "+m.Box+" (greeting)")
		}
	}
	return users
}

// musicUsers names what in s plays hold-music class id.
func musicUsers(s *site.Site, id string) []string {
	var users []string
	for _, q := range s.Queues {
		if q.HoldMusic == id {
			users = append(users, "queue "+q.ID)
		}
	}
	for _, g := range s.RingGroups {
		if g.Music == id {
			users = append(users, "ring group "+g.ID)
		}
	}
	return users
}

func (l *Library) uploadTrack(w http.ResponseWriter, r *http.Request) {
	class := r.PathValue("class")
	if err := checkID("hold-music class", class); err != nil {
		l.fail(w, r, err)
		return
	}
	dir := "moh/" + class
	u, err := l.receive(w, r, class, dir)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	defer os.Remove(u.tmp)
	who := actor(r)

	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(s.HoldMusic, func(h site.HoldMusic) bool { return h.ID == class })
	if i < 0 {
		s.HoldMusic = append(s.HoldMusic, site.HoldMusic{ID: class})
		i = len(s.HoldMusic) - 1
	}
	hm := &s.HoldMusic[i]
	if hm.Device != "" {
		l.fail(w, r, errorf(http.StatusConflict, "hold-music class %q plays the live input %q, not files: delete the class first", class, hm.Device))
		return
	}
	file := l.nextTrack(dir, hm.Files)
	hm.Files = append(hm.Files, file)
	out := Uploaded{ID: class, File: file, DurationSeconds: seconds(u.duration), SourceRate: u.sourceRate, Files: hm.Files}
	audit := store.AuditEntry{Actor: who, Action: "holdmusic.upload", Object: class,
		Detail: auditDetail(map[string]any{"file": file, "bytes": u.bytes, "duration_seconds": out.DurationSeconds, "source_rate": u.sourceRate})}
	if err := l.install(r.Context(), u, file, s, who, audit); err != nil {
		l.fail(w, r, err)
		return
	}
	l.log.Info("hold music track uploaded", "class", class, "file", file, "duration", u.duration, "actor", who)
	web.WriteJSON(w, http.StatusOK, out)
}

// nextTrack picks dir/N.wav with N one more than any track number in use,
// so an upload never overwrites a track, even one left by a failed change.
func (l *Library) nextTrack(dir string, files []string) string {
	n := 0
	for _, f := range files {
		if v, err := strconv.Atoi(strings.TrimSuffix(path.Base(f), ".wav")); err == nil && path.Dir(path.Clean(f)) == dir {
			n = max(n, v)
		}
	}
	for {
		n++
		file := fmt.Sprintf("%s/%d.wav", dir, n)
		if _, err := os.Lstat(filepath.Join(l.dir, filepath.FromSlash(file))); errors.Is(err, os.ErrNotExist) {
			return file
		}
	}
}

// TrackInfo is one hold-music track.
type TrackInfo struct {
	File            string  `json:"file"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	Problem         string  `json:"problem,omitempty"`
}

// ClassInfo is one hold-music class in the list.
type ClassInfo struct {
	ID      string      `json:"id"`
	Builtin bool        `json:"builtin"` // the box's own music: no tracks listed
	Device  string      `json:"device,omitempty"`
	Tracks  []TrackInfo `json:"tracks"`
}

func (l *Library) listHoldMusic(w http.ResponseWriter, r *http.Request) {
	s, err := l.st.ExportSite(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	out := []ClassInfo{}
	haveDefault := false
	for _, hm := range s.HoldMusic {
		c := ClassInfo{ID: hm.ID, Device: hm.Device, Tracks: []TrackInfo{}}
		for _, f := range hm.Files {
			t := TrackInfo{File: f}
			d, err := l.fileDuration(f)
			if err != nil {
				t.Problem = err.Error()
			}
			t.DurationSeconds = seconds(d)
			c.Tracks = append(c.Tracks, t)
		}
		out = append(out, c)
		haveDefault = haveDefault || hm.ID == site.DefaultHoldMusic
	}
	if !haveDefault {
		out = append(out, ClassInfo{ID: site.DefaultHoldMusic, Builtin: true, Tracks: []TrackInfo{}})
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (l *Library) deleteHoldMusic(w http.ResponseWriter, r *http.Request) {
	class := r.PathValue("class")
	if err := checkID("hold-music class", class); err != nil {
		l.fail(w, r, err)
		return
	}
	who := actor(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(s.HoldMusic, func(h site.HoldMusic) bool { return h.ID == class })
	if i < 0 {
		l.fail(w, r, errorf(http.StatusNotFound, "no hold-music class %q", class))
		return
	}
	builtin := class == site.DefaultHoldMusic
	if users := musicUsers(s, class); len(users) > 0 && !builtin {
		l.fail(w, r, errorf(http.StatusConflict, "hold-music class %q is used by %s: change them first", class, strings.Join(users, ", ")))
		return
	}
	files := s.HoldMusic[i].Files
	s.HoldMusic = slices.Delete(s.HoldMusic, i, i+1)
	if errs := s.Validate(); len(errs) > 0 {
		l.fail(w, r, errorf(http.StatusConflict, "the configuration would not be valid; nothing was changed:\n%v", errs))
		return
	}
	if _, err := l.st.ImportSite(r.Context(), s, who); err != nil {
		l.fail(w, r, fmt.Errorf("save configuration: %w", err))
		return
	}
	dir := "moh/" + class
	for _, f := range files {
		l.removeOwned(f, dir)
	}
	os.Remove(filepath.Join(l.dir, "moh", class)) // only if now empty
	l.audit(r.Context(), store.AuditEntry{Actor: who, Action: "holdmusic.delete", Object: class, Detail: auditDetail(map[string]any{"files": files})})
	l.log.Info("hold music class deleted", "class", class, "tracks", len(files), "actor", who)
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": class, "deleted": true, "builtin_remains": builtin})
}
