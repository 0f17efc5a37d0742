// Package library keeps the audio a box plays that is not built in:
// prompts and music on hold, uploaded one file at a time or named by a site
// file, so a box can greet callers in its owner's voice.
//
// Every file is decoded once, by [sound.Import] (WAV or MP3, any common
// rate, downmixed, resampled and normalised), and stored as a 16 kHz mono
// 16-bit WAV under the data directory, in prompts/ and moh/CLASS/. The
// stored site names the stored file, through the store's one-transaction
// import, so the running appliance picks it up like any other
// configuration change, and the data directory alone holds everything a
// call plays.
//
// [Library.ImportSite] imports a site file with the audio it names (see
// siteaudio.go); the upload methods change one prompt or track, and
// [Library.RecordPrompt] stores a prompt recorded from a phone the same
// way. The lists give each file's duration and level ([Level], measured
// once per file: levels.go); [Library.PromptAudio] and
// [Library.TrackAudio] hand the stored audio to a player. [Cache] is the
// decoded audio calls play. The HTTP routes are in package web; the limits
// are in docs/audio.md.
//
// # Failure
//
// A file that does not decode changes nothing: it is refused before any
// file is written or the configuration is read. A stored file is first
// written under a temporary name and renamed into place, so a crash never
// leaves half a file under a name the site uses; if the import then fails,
// the previous file is put back.
package library

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

	"ringbox/audio/sound"
	"ringbox/audio/wav"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// MaxUploadBytes is the largest audio file the library takes, uploaded or
// named by a site file.
const MaxUploadBytes = 20 << 20

// The longest audio the library stores (docs/audio.md). A prompt is spoken
// words; a hold-music track may be a whole album side, and 30 minutes of
// stored 16 kHz audio (58 MB) is still decoded once and held in memory, so
// the limit is about the box's RAM, not taste.
const (
	MaxPromptDuration = 10 * time.Minute
	MaxTrackDuration  = 30 * time.Minute
)

// storedRate is the rate of every stored file: the G.722 rate, from which
// the 8 kHz G.711 audio is derived without loss of what phones can play.
const storedRate = 16000

// Kinds of failure, for errors.Is; the errors are *[Error]s whose words
// are meant for the person who sent the file.
var (
	ErrInvalid     = errors.New("invalid request")
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflicts with the configuration")
	ErrTooBig      = errors.New("file too big")
	ErrUnsupported = errors.New("unsupported file")
	ErrTooLong     = errors.New("audio too long") // a 400: the file is fine, its length is not
)

// Error is a refused change: Kind is one of the Err values above, Msg says
// what is wrong and what to do.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Store is the part of the store the library needs.
type Store interface {
	ExportSite(ctx context.Context) (*site.Site, error)
	ImportSite(ctx context.Context, st *site.Site, actor string) (store.Change, error)
	ImportSiteWith(ctx context.Context, st *site.Site, actor string, o store.ImportOptions) (store.Change, error)
	InsertAudit(ctx context.Context, e store.AuditEntry) error
}

// Config is what a [Library] needs. DataDir and Store are required.
type Config struct {
	DataDir string // the appliance's data directory; stored paths are relative to it
	Store   Store
	Logger  *slog.Logger // nil: slog.Default()
}

// Library stores audio and names it in the site.
type Library struct {
	dir string
	st  Store
	log *slog.Logger

	// mu serialises changes: each one exports the site, edits it and imports
	// it, and two interleaved would lose one of the edits.
	mu sync.Mutex

	metaMu sync.Mutex          // protects following
	meta   map[string]fileMeta // measured files by absolute path (levels.go)
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

var idPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

func checkID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return errorf(ErrInvalid, "%s id %q is not valid: use 1 to 64 lowercase letters, digits, - and _", kind, id)
	}
	return nil
}

// upload is a decoded upload, already written to a temporary file beside
// where it will live.
type upload struct {
	tmp        string  // absolute path of the temporary file
	pcm        []int16 // the stored 16 kHz samples, to measure
	duration   time.Duration
	sourceRate int // 0: unknown
	bytes      int
}

// readAll reads a file of at most MaxUploadBytes.
func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxUploadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > MaxUploadBytes {
		return nil, tooBig()
	}
	return b, nil
}

// receive reads, decodes and stages an uploaded file, to be renamed into
// dir (relative to the data directory). name labels messages; its
// extension hints the format; what names the kind of audio for the
// too-long message ("prompt", "hold-music track"), whose limit is maxDur.
// Nothing is written unless the file decodes.
func (l *Library) receive(r io.Reader, name, dir, what string, maxDur time.Duration) (*upload, error) {
	body, err := readAll(r)
	var ae *Error
	if errors.As(err, &ae) {
		return nil, err
	} else if err != nil {
		return nil, errorf(ErrInvalid, "could not read the upload: %v", err)
	}
	if len(body) == 0 {
		return nil, errorf(ErrInvalid, "empty body: send the WAV or MP3 file itself as the request body")
	}
	clip, err := sound.Limits{MaxBytes: MaxUploadBytes, MaxDuration: maxDur}.Import(bytes.NewReader(body), name)
	if errors.Is(err, sound.ErrTooLong) {
		return nil, errorf(ErrTooLong, "%v (a %s may be at most %s); nothing was changed", err, what, minutes(maxDur))
	}
	if err != nil {
		return nil, importError(err, "; nothing was changed")
	}
	u := &upload{pcm: clip.PCM16k, duration: clip.Duration, sourceRate: sourceRate(body), bytes: len(body)}
	u.tmp, _, err = l.writeTemp(dir, clip)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// writeTemp writes clip as the stored WAV under a temporary name in dir
// (relative to the data directory), returning its absolute path and the
// hex SHA-256 of its bytes.
func (l *Library) writeTemp(dir string, clip *sound.Clip) (tmp, sum string, err error) {
	abs := filepath.Join(l.dir, filepath.FromSlash(dir))
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", "", fmt.Errorf("create %s: %w", abs, err)
	}
	f, err := os.CreateTemp(abs, ".upload-*.wav")
	if err != nil {
		return "", "", fmt.Errorf("stage audio: %w", err)
	}
	h := newHash()
	err = wav.Write(io.MultiWriter(f, h), storedRate, 1, clip.PCM16k)
	if err == nil {
		err = f.Sync() // the rename must not overtake the data on a power cut
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", "", fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return f.Name(), h.sum(), nil
}

// minutes says d for a person: "10 minutes".
func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

func tooBig() error {
	return errorf(ErrTooBig, "file is too big: the limit is %d MiB", MaxUploadBytes>>20)
}

// importError turns a sound.Import failure into an *Error; the sound
// package's words are written for the person sending the file.
func importError(err error, suffix string) error {
	kind := ErrInvalid
	switch {
	case errors.Is(err, sound.ErrTooBig):
		kind = ErrTooBig
	case errors.Is(err, sound.ErrUnknownFormat), errors.Is(err, sound.ErrUnsupported), errors.Is(err, wav.ErrUnsupported):
		kind = ErrUnsupported
	}
	return errorf(kind, "%v%s", err, suffix)
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

// install renames the staged upload to file (relative to the data
// directory), imports s, and writes the audit row. If the import fails, the
// file that was there before is put back.
func (l *Library) install(ctx context.Context, u *upload, file string, s *site.Site, who string, audit store.AuditEntry) error {
	if errs := s.Validate(); len(errs) > 0 {
		return errorf(ErrConflict, "the configuration would not be valid; nothing was changed:\n%v", errs)
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
// change is already made: a failure here is logged, not returned.
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

// Uploaded is what an upload stored.
type Uploaded struct {
	ID              string   `json:"id"`                    // the prompt id or hold-music class
	File            string   `json:"file"`                  // relative to the data directory
	DurationSeconds float64  `json:"duration_seconds"`      // of the stored audio
	SourceRate      int      `json:"source_rate,omitempty"` // sample rate of the uploaded file
	Files           []string `json:"files,omitempty"`       // hold music: the class's tracks now
	// Level of the stored audio (after normalisation), see [Level].
	PeakDBFS float64 `json:"peak_dbfs"`
	RMSDBFS  float64 `json:"rms_dbfs"`
}

// UploadPrompt stores the WAV or MP3 file read from r as prompt id,
// replacing an uploaded or built-in prompt of that id. name labels
// messages and its extension hints the format ("" is fine). actor is who
// does it, for the audit log.
func (l *Library) UploadPrompt(ctx context.Context, id string, r io.Reader, name, actor string) (Uploaded, error) {
	return l.storePrompt(ctx, id, r, name, actor, "prompt.upload")
}

// RecordPrompt stores pcm, recorded on a call at rate (8000 or 16000), as
// prompt id, exactly as if it had been uploaded as a WAV file: the same
// checks, level normalisation and install, with audit action
// prompt.record. actor is "ext:NUMBER" for a recording made from a phone.
func (l *Library) RecordPrompt(ctx context.Context, id string, pcm []int16, rate int, actor string) error {
	var b bytes.Buffer
	if err := wav.Write(&b, rate, 1, pcm); err != nil {
		return fmt.Errorf("encode recorded prompt %s: %w", id, err)
	}
	_, err := l.storePrompt(ctx, id, &b, "recording.wav", actor, "prompt.record")
	return err
}

func (l *Library) storePrompt(ctx context.Context, id string, r io.Reader, name, actor, action string) (Uploaded, error) {
	if err := checkID("prompt", id); err != nil {
		return Uploaded{}, err
	}
	u, err := l.receive(r, id+path.Ext(name), "prompts", "prompt", MaxPromptDuration)
	if err != nil {
		return Uploaded{}, err
	}
	defer os.Remove(u.tmp) // gone already unless something failed
	file := "prompts/" + id + ".wav"

	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(ctx)
	if err != nil {
		return Uploaded{}, err
	}
	if i := slices.IndexFunc(s.Prompts, func(p site.Prompt) bool { return p.ID == id }); i >= 0 {
		s.Prompts[i].File = file
	} else {
		s.Prompts = append(s.Prompts, site.Prompt{ID: id, File: file})
	}
	out := Uploaded{ID: id, File: file, DurationSeconds: seconds(u.duration), SourceRate: u.sourceRate}
	out.PeakDBFS, out.RMSDBFS = Level(u.pcm)
	audit := store.AuditEntry{Actor: actor, Action: action, Object: id,
		Detail: auditDetail(map[string]any{"file": file, "bytes": u.bytes, "duration_seconds": out.DurationSeconds, "source_rate": u.sourceRate,
			"peak_dbfs": out.PeakDBFS, "rms_dbfs": out.RMSDBFS})}
	if err := l.install(ctx, u, file, s, actor, audit); err != nil {
		return Uploaded{}, err
	}
	l.rememberStored(file, u.pcm)
	l.log.Info("prompt stored", "prompt", id, "file", file, "duration", u.duration, "peak_dbfs", out.PeakDBFS, "rms_dbfs", out.RMSDBFS, "actor", actor, "action", action)
	return out, nil
}

// PromptInfo is one prompt in the list.
type PromptInfo struct {
	ID   string `json:"id"`
	File string `json:"file,omitempty"` // uploaded: relative to the data directory
	// Builtin: the box ships a prompt with this id (an uploaded one of the
	// same id replaces it).
	Builtin         bool    `json:"builtin"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"` // 0: unknown
	// Level of the audio as stored, see [Level]; absent with a Problem.
	PeakDBFS *float64 `json:"peak_dbfs,omitempty"`
	RMSDBFS  *float64 `json:"rms_dbfs,omitempty"`
	Problem  string   `json:"problem,omitempty"` // why the uploaded file cannot be played
}

// Prompts lists the site's prompts, then the built-in ones it does not
// replace.
func (l *Library) Prompts(ctx context.Context) ([]PromptInfo, error) {
	s, err := l.st.ExportSite(ctx)
	if err != nil {
		return nil, err
	}
	out := []PromptInfo{}
	seen := map[string]bool{}
	for _, p := range s.Prompts {
		info := PromptInfo{ID: p.ID, File: p.File, Builtin: slices.Contains(site.BuiltinPrompts, p.ID)}
		if a, err := l.fileInfo(p.File); err != nil {
			info.Problem = err.Error()
		} else {
			info.DurationSeconds, info.PeakDBFS, info.RMSDBFS = levels(a)
		}
		out = append(out, info)
		seen[p.ID] = true
	}
	lang := s.System.Lang()
	for _, id := range site.BuiltinPrompts {
		if seen[id] {
			continue
		}
		info := PromptInfo{ID: id, Builtin: true}
		if a, ok := l.builtinInfo(lang, id); ok {
			info.DurationSeconds, info.PeakDBFS, info.RMSDBFS = levels(a)
		}
		out = append(out, info)
	}
	return out, nil
}

// abs is the path of a file the stored site names: relative to the data
// directory unless absolute.
func (l *Library) abs(file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(l.dir, filepath.FromSlash(file))
}

// levels gives a measured file's duration and levels as the lists show them.
func levels(a audioInfo) (dur float64, peak, rms *float64) {
	return seconds(a.duration), &a.peak, &a.rms
}

// DeletePrompt removes uploaded prompt id unless the configuration plays
// it; builtinRemains says a built-in prompt of that id takes over.
func (l *Library) DeletePrompt(ctx context.Context, id, actor string) (builtinRemains bool, err error) {
	if err := checkID("prompt", id); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(ctx)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(s.Prompts, func(p site.Prompt) bool { return p.ID == id })
	if i < 0 {
		return false, errorf(ErrNotFound, "no uploaded prompt %q", id)
	}
	builtin := slices.Contains(site.BuiltinPrompts, id)
	if users := promptUsers(s, id); len(users) > 0 && !builtin {
		return false, errorf(ErrConflict, "prompt %q is used by %s: change them first", id, strings.Join(users, ", "))
	}
	file := s.Prompts[i].File
	s.Prompts = slices.Delete(s.Prompts, i, i+1)
	if errs := s.Validate(); len(errs) > 0 {
		return false, errorf(ErrConflict, "the configuration would not be valid; nothing was changed:\n%v", errs)
	}
	if _, err := l.st.ImportSite(ctx, s, actor); err != nil {
		return false, fmt.Errorf("save configuration: %w", err)
	}
	if !named(s, file) {
		l.removeOwned(file)
	}
	l.audit(ctx, store.AuditEntry{Actor: actor, Action: "prompt.delete", Object: id, Detail: auditDetail(map[string]any{"file": file})})
	l.log.Info("prompt deleted", "prompt", id, "file", file, "actor", actor)
	return builtin, nil
}

// owned reports whether file lies in the library's own directories under
// the data directory (prompts/, moh/); files a site named elsewhere are
// not the library's to delete.
func owned(file string) bool {
	clean := path.Clean(filepath.ToSlash(file))
	return !filepath.IsAbs(file) && (strings.HasPrefix(clean, "prompts/") || strings.HasPrefix(clean, "moh/"))
}

// removeOwned deletes file if the library owns it, and its hold-music
// class directory if that is now empty.
func (l *Library) removeOwned(file string) {
	if !owned(file) {
		return
	}
	p := l.abs(path.Clean(filepath.ToSlash(file)))
	l.metaMu.Lock()
	delete(l.meta, p)
	l.metaMu.Unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn("remove audio file", "file", p, "err", err)
	}
	if d := filepath.Dir(p); filepath.Dir(d) == filepath.Join(l.dir, "moh") {
		os.Remove(d) // only if now empty
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

// AddTrack stores the WAV or MP3 file read from r as a new last track of
// hold-music class, creating the class if needed. name and actor are as
// for [Library.UploadPrompt].
func (l *Library) AddTrack(ctx context.Context, class string, r io.Reader, name, actor string) (Uploaded, error) {
	if err := checkID("hold-music class", class); err != nil {
		return Uploaded{}, err
	}
	dir := "moh/" + class
	u, err := l.receive(r, class+path.Ext(name), dir, "hold-music track", MaxTrackDuration)
	if err != nil {
		return Uploaded{}, err
	}
	defer os.Remove(u.tmp)

	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(ctx)
	if err != nil {
		return Uploaded{}, err
	}
	i := slices.IndexFunc(s.HoldMusic, func(h site.HoldMusic) bool { return h.ID == class })
	if i < 0 {
		s.HoldMusic = append(s.HoldMusic, site.HoldMusic{ID: class})
		i = len(s.HoldMusic) - 1
	}
	hm := &s.HoldMusic[i]
	if hm.Device != "" {
		return Uploaded{}, errorf(ErrConflict, "hold-music class %q plays the live input %q, not files: delete the class first", class, hm.Device)
	}
	file := l.nextTrack(dir, hm.Files)
	hm.Files = append(hm.Files, file)
	out := Uploaded{ID: class, File: file, DurationSeconds: seconds(u.duration), SourceRate: u.sourceRate, Files: hm.Files}
	out.PeakDBFS, out.RMSDBFS = Level(u.pcm)
	audit := store.AuditEntry{Actor: actor, Action: "holdmusic.upload", Object: class,
		Detail: auditDetail(map[string]any{"file": file, "bytes": u.bytes, "duration_seconds": out.DurationSeconds, "source_rate": u.sourceRate,
			"peak_dbfs": out.PeakDBFS, "rms_dbfs": out.RMSDBFS})}
	if err := l.install(ctx, u, file, s, actor, audit); err != nil {
		return Uploaded{}, err
	}
	l.rememberStored(file, u.pcm)
	l.log.Info("hold music track uploaded", "class", class, "file", file, "duration", u.duration, "actor", actor)
	return out, nil
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
	File            string   `json:"file"`
	DurationSeconds float64  `json:"duration_seconds,omitempty"`
	PeakDBFS        *float64 `json:"peak_dbfs,omitempty"` // see [Level]; absent with a Problem
	RMSDBFS         *float64 `json:"rms_dbfs,omitempty"`
	Problem         string   `json:"problem,omitempty"`
}

// ClassInfo is one hold-music class in the list.
type ClassInfo struct {
	ID      string      `json:"id"`
	Builtin bool        `json:"builtin"` // the box's own music: no tracks listed
	Device  string      `json:"device,omitempty"`
	Tracks  []TrackInfo `json:"tracks"`
}

// HoldMusic lists the site's hold-music classes, and the built-in default
// class unless the site replaces it.
func (l *Library) HoldMusic(ctx context.Context) ([]ClassInfo, error) {
	s, err := l.st.ExportSite(ctx)
	if err != nil {
		return nil, err
	}
	out := []ClassInfo{}
	haveDefault := false
	for _, hm := range s.HoldMusic {
		c := ClassInfo{ID: hm.ID, Device: hm.Device, Tracks: []TrackInfo{}}
		for _, f := range hm.Files {
			t := TrackInfo{File: f}
			if a, err := l.fileInfo(f); err != nil {
				t.Problem = err.Error()
			} else {
				t.DurationSeconds, t.PeakDBFS, t.RMSDBFS = levels(a)
			}
			c.Tracks = append(c.Tracks, t)
		}
		out = append(out, c)
		haveDefault = haveDefault || hm.ID == site.DefaultHoldMusic
	}
	if !haveDefault {
		out = append(out, ClassInfo{ID: site.DefaultHoldMusic, Builtin: true, Tracks: []TrackInfo{}})
	}
	return out, nil
}

// DeleteHoldMusic removes hold-music class and its stored tracks unless
// the configuration plays it; builtinRemains says the built-in music takes
// over (the class was "default").
func (l *Library) DeleteHoldMusic(ctx context.Context, class, actor string) (builtinRemains bool, err error) {
	if err := checkID("hold-music class", class); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.current(ctx)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(s.HoldMusic, func(h site.HoldMusic) bool { return h.ID == class })
	if i < 0 {
		return false, errorf(ErrNotFound, "no hold-music class %q", class)
	}
	builtin := class == site.DefaultHoldMusic
	if users := musicUsers(s, class); len(users) > 0 && !builtin {
		return false, errorf(ErrConflict, "hold-music class %q is used by %s: change them first", class, strings.Join(users, ", "))
	}
	files := s.HoldMusic[i].Files
	s.HoldMusic = slices.Delete(s.HoldMusic, i, i+1)
	if errs := s.Validate(); len(errs) > 0 {
		return false, errorf(ErrConflict, "the configuration would not be valid; nothing was changed:\n%v", errs)
	}
	if _, err := l.st.ImportSite(ctx, s, actor); err != nil {
		return false, fmt.Errorf("save configuration: %w", err)
	}
	for _, f := range files {
		if named(s, f) { // another class plays the same file
			continue
		}
		l.removeOwned(f)
	}
	l.audit(ctx, store.AuditEntry{Actor: actor, Action: "holdmusic.delete", Object: class, Detail: auditDetail(map[string]any{"files": files})})
	l.log.Info("hold music class deleted", "class", class, "tracks", len(files), "actor", actor)
	return builtin, nil
}

// named reports whether s names file as a prompt or a track.
func named(s *site.Site, file string) bool {
	for _, p := range s.Prompts {
		if p.File == file {
			return true
		}
	}
	for _, h := range s.HoldMusic {
		if slices.Contains(h.Files, file) {
			return true
		}
	}
	return false
}
