package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Limits of an uploaded archive. The box keeps the staged copy on its
// data partition, so the limits are about disk, not memory.
const (
	// MaxUnpackedBytes bounds the total size of the files an archive
	// holds; a bigger archive is refused part way, and what was staged is
	// removed.
	MaxUnpackedBytes = 4 << 30
	// MaxEntries bounds the number of files in an archive.
	MaxEntries = 200_000
	// maxManifestBytes bounds manifest.json.
	maxManifestBytes = 64 << 10
	// StagingTTL is how long an inspected upload waits for Apply.
	StagingTTL = 30 * time.Minute
)

// Kinds of refusal, for errors.Is; the errors are *[Error]s whose words
// are meant for the installer who uploaded the file.
var (
	ErrNotBackup      = errors.New("not a ringbox backup")
	ErrTooBig         = errors.New("backup too big")
	ErrNewerFirmware  = errors.New("backup made by newer firmware")
	ErrUnknownStaging = errors.New("no such staged backup")
	ErrPending        = errors.New("a restore is already pending")
)

// Error is a refused archive or request: Kind is one of the Err values
// above, Msg says what is wrong.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Contents counts what a box, or a backup of one, holds.
type Contents struct {
	Site              string `json:"site"`
	Extensions        int    `json:"extensions"`
	Queues            int    `json:"queues"`
	RingGroups        int    `json:"ring_groups"`
	HuntGroups        int    `json:"hunt_groups"`
	IVRs              int    `json:"ivrs"`
	Trunks            int    `json:"trunks"`
	Mailboxes         int    `json:"mailboxes"`
	Users             int    `json:"users"`
	AudioFiles        int    `json:"audio_files"` // prompts and hold music
	VoicemailMessages int    `json:"voicemail_messages"`
	Recordings        int    `json:"recordings"`
	CDRs              int64  `json:"cdrs"`
}

// Plan is what restoring an inspected archive would do: the box's
// Current contents are replaced by the Backup's. Recordings are replaced
// only when the backup has them (KeepsRecordings false).
type Plan struct {
	ID              string    `json:"id"`
	Expires         time.Time `json:"expires"`
	Manifest        Manifest  `json:"manifest"`
	Backup          Contents  `json:"backup"`
	Current         Contents  `json:"current"`
	KeepsRecordings bool      `json:"keeps_recordings"`
}

// InspectOptions say where the box's current data is, for the Current
// side of a Plan.
type InspectOptions struct {
	DataDir  string       // the box's data directory
	Firmware string       // this firmware's version, for the refusal of newer backups
	Store    *store.Store // the running box's store; nil: read from DataDir
	Logger   *slog.Logger // nil: slog.Default()
}

// Inspect unpacks the .tar.gz read from r into stageDir, which must not
// exist, checks it is a complete Ringbox backup this firmware can restore,
// and returns what restoring it would replace (Plan without ID and
// Expires). On any error stageDir is removed. Refusals are *[Error]s:
//
//   - not gzip, not tar, no manifest.json first, a manifest that is not
//     one, no ringbox.db, files missing against the manifest: ErrNotBackup;
//   - an absolute name, "..", a symlink, a device or any entry outside
//     manifest.json, ringbox.db, prompts/, moh/, voicemail/, recordings/:
//     ErrNotBackup, naming the entry;
//   - more than [MaxUnpackedBytes] or [MaxEntries]: ErrTooBig;
//   - a schema newer than this firmware's: ErrNewerFirmware.
func Inspect(ctx context.Context, r io.Reader, stageDir string, opts InspectOptions) (Plan, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.Mkdir(stageDir, 0o700); err != nil {
		return Plan{}, fmt.Errorf("backup: create staging directory: %w", err)
	}
	p, err := inspect(ctx, r, stageDir, opts)
	if err != nil {
		os.RemoveAll(stageDir)
		return Plan{}, err
	}
	return p, nil
}

func inspect(ctx context.Context, r io.Reader, dir string, opts InspectOptions) (Plan, error) {
	m, err := unpack(ctx, r, dir, opts.Firmware)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Manifest: m, KeepsRecordings: !m.Recordings}
	st, err := store.Open(ctx, dir, store.Options{Logger: opts.Logger})
	switch {
	case errors.Is(err, store.ErrNewerDatabase):
		return Plan{}, newerError(m.Firmware, store.SchemaVersion()+1, opts.Firmware)
	case errors.Is(err, store.ErrNotDatabase):
		return Plan{}, refuse(ErrNotBackup, "not a Ringbox backup: its ringbox.db is not a Ringbox database")
	case err != nil:
		return Plan{}, fmt.Errorf("backup: open the backup's database: %w", err)
	}
	s, err := st.ExportSite(ctx)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Plan{}, refuse(ErrNotBackup, "not a Ringbox backup: its database cannot be read (%v)", err)
	}
	if p.Backup, err = contents(ctx, s, dir); err != nil {
		return Plan{}, err
	}
	cur := opts.Store
	if cur == nil {
		if cur, err = store.Open(ctx, opts.DataDir, store.Options{Logger: opts.Logger}); err != nil {
			return Plan{}, fmt.Errorf("backup: open the box's database: %w", err)
		}
		defer cur.Close()
	}
	s, err = cur.ExportSite(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("backup: read the box's configuration: %w", err)
	}
	if p.Current, err = contents(ctx, s, opts.DataDir); err != nil {
		return Plan{}, err
	}
	return p, nil
}

func newerError(fw string, schema int, ours string) *Error {
	if fw == "" {
		fw = "unknown"
	}
	return refuse(ErrNewerFirmware, "this backup was made by firmware %s (schema %d); this box runs %s (schema %d): update the firmware first",
		fw, schema, ours, store.SchemaVersion())
}

// unpack streams the archive into dir, checking each entry before a byte
// of it is written.
func unpack(ctx context.Context, r io.Reader, dir, firmware string) (Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return Manifest{}, refuse(ErrNotBackup, "not a Ringbox backup: the file is not gzip-compressed (a backup is a .tar.gz downloaded from a Ringbox)")
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	var (
		m     Manifest
		files int
		total int64
		seen  = map[string]bool{}
	)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return Manifest{}, refuse(ErrNotBackup, "not a Ringbox backup: the archive is empty")
			}
			break
		}
		if err != nil {
			if i == 0 {
				return Manifest{}, refuse(ErrNotBackup, "not a Ringbox backup: the file is not a tar archive (%v)", err)
			}
			return Manifest{}, refuse(ErrNotBackup, "the backup is damaged or truncated after %d files: %v", files, err)
		}
		if i == 0 {
			if hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg {
				return Manifest{}, refuse(ErrNotBackup, "not a Ringbox backup: it starts with %q, not manifest.json", hdr.Name)
			}
			if m, err = readManifest(tr, hdr.Size, firmware); err != nil {
				return Manifest{}, err
			}
			// Kept beside the files: the restart reads what it applies.
			b, _ := json.Marshal(m)
			if err := os.WriteFile(filepath.Join(dir, ManifestName), b, 0o600); err != nil {
				return Manifest{}, fmt.Errorf("backup: stage manifest: %w", err)
			}
			continue
		}
		name, err := entryName(hdr)
		if err != nil {
			return Manifest{}, err
		}
		if hdr.Typeflag == tar.TypeDir {
			continue // directories are made as their files need them
		}
		if seen[name] || name == ManifestName {
			return Manifest{}, refuse(ErrNotBackup, "not a valid Ringbox backup: %q is in it twice", name)
		}
		seen[name] = true
		files++
		total += hdr.Size
		if files > MaxEntries {
			return Manifest{}, refuse(ErrTooBig, "the backup holds more than %d files", MaxEntries)
		}
		if total > MaxUnpackedBytes {
			return Manifest{}, refuse(ErrTooBig, "the backup holds more than %d GiB of files", MaxUnpackedBytes>>30)
		}
		if err := writeEntry(tr, dir, name, hdr.Size); err != nil {
			return Manifest{}, err
		}
	}
	if !seen[dbName] {
		return Manifest{}, refuse(ErrNotBackup, "not a valid Ringbox backup: it has no ringbox.db")
	}
	if files != m.Files || total != m.Bytes {
		return Manifest{}, refuse(ErrNotBackup, "the backup is incomplete or altered: its manifest lists %d files (%d bytes), it holds %d (%d bytes)",
			m.Files, m.Bytes, files, total)
	}
	return m, nil
}

func readManifest(r io.Reader, size int64, firmware string) (Manifest, error) {
	if size > maxManifestBytes {
		return Manifest{}, refuse(ErrNotBackup, "not a Ringbox backup: manifest.json is %d bytes, more than a manifest can be", size)
	}
	b, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return Manifest{}, refuse(ErrNotBackup, "the backup is damaged: %v", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Format == 0 || m.Schema <= 0 {
		return Manifest{}, refuse(ErrNotBackup, "not a Ringbox backup: manifest.json does not describe one")
	}
	// Refused here, before the rest is unpacked: the installer learns at
	// once, and the box does not store gigabytes it cannot use.
	if m.Schema > store.SchemaVersion() || m.Format > Format {
		return Manifest{}, newerError(m.Firmware, m.Schema, firmware)
	}
	return m, nil
}

// entryName checks a tar entry's name and type and returns its clean
// slash path.
func entryName(hdr *tar.Header) (string, error) {
	raw := hdr.Name
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink, tar.TypeLink:
		return "", refuse(ErrNotBackup, "not a valid Ringbox backup: %q is a link; a backup holds plain files only", raw)
	default:
		return "", refuse(ErrNotBackup, "not a valid Ringbox backup: %q is not a plain file", raw)
	}
	name := strings.TrimSuffix(raw, "/")
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || path.Clean(name) != name || !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", refuse(ErrNotBackup, "not a valid Ringbox backup: the file name %q is absolute or leaves the archive", raw)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." || part == "." || strings.HasPrefix(part, ".") {
			return "", refuse(ErrNotBackup, "not a valid Ringbox backup: the file name %q is not one a backup has", raw)
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		first, _, _ := strings.Cut(name, "/")
		if _, ok := topLevel(first + "/x"); !ok {
			return "", refuse(ErrNotBackup, "not a valid Ringbox backup: unknown entry %q", raw)
		}
		return name, nil
	}
	if first, ok := topLevel(name); !ok {
		return "", refuse(ErrNotBackup, "not a valid Ringbox backup: unknown entry %q (a backup holds only manifest.json, ringbox.db, prompts/, moh/, voicemail/ and recordings/)", first)
	}
	return name, nil
}

// writeEntry copies size bytes of r to dir/name, a new file.
func writeEntry(r io.Reader, dir, name string, size int64) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
			return refuse(ErrNotBackup, "not a valid Ringbox backup: %q clashes with another entry", name)
		}
		return fmt.Errorf("backup: stage %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.EISDIR) {
		// A directory and a file of one name ("prompts/a/b" then
		// "prompts/a") is an archive no box wrote.
		return refuse(ErrNotBackup, "not a valid Ringbox backup: %q clashes with another entry", name)
	}
	if err != nil {
		return fmt.Errorf("backup: stage %s: %w", name, err)
	}
	_, err = io.CopyN(f, r, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			return refuse(ErrNotBackup, "the backup is damaged or truncated in %s", name)
		}
		return fmt.Errorf("backup: stage %s: %w", name, err)
	}
	return nil
}

// contents counts the configuration of s and the files and call records
// under dir.
func contents(ctx context.Context, s *site.Site, dir string) (Contents, error) {
	c := Contents{
		Site:       s.System.Name,
		Extensions: len(s.Extensions),
		Queues:     len(s.Queues),
		RingGroups: len(s.RingGroups),
		HuntGroups: len(s.HuntGroups),
		IVRs:       len(s.IVRs),
		Trunks:     len(s.Trunks),
		Mailboxes:  len(s.Voicemail),
		Users:      len(s.Users),
	}
	for _, t := range []struct {
		tree string
		n    *int
	}{{"prompts", &c.AudioFiles}, {"moh", &c.AudioFiles}, {"voicemail", &c.VoicemailMessages}, {"recordings", &c.Recordings}} {
		var skip map[string]bool
		if t.tree == "voicemail" {
			skip = greetingFiles
		}
		n, err := countFiles(filepath.Join(dir, t.tree), skip)
		if err != nil {
			return Contents{}, err
		}
		*t.n += n
	}
	db, err := openRaw(filepath.Join(dir, dbName), true)
	if err != nil {
		return Contents{}, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM cdr").Scan(&c.CDRs); err != nil {
		return Contents{}, fmt.Errorf("backup: count call records: %w", err)
	}
	return c, nil
}

// greetingFiles are the greetings recorded by phone, kept in a box's
// directory with its messages (package voicemail) but not messages.
var greetingFiles = map[string]bool{"greeting.wav": true, "greeting-busy.wav": true, "name.wav": true}

func countFiles(root string, skip map[string]bool) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") && !skip[d.Name()] {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("backup: count files in %s: %w", filepath.Base(root), err)
	}
	return n, nil
}

// Staging keeps at most one inspected upload, in DataDir/restore-staging,
// until [Staging.Apply] or its expiry ([StagingTTL] after the inspect, or
// the next inspect, whichever is first).
type Staging struct {
	Options InspectOptions
	TTL     time.Duration // 0: StagingTTL

	mu    sync.Mutex // protects following
	plan  Plan       // the staged plan; ID "" when none
	timer *time.Timer
}

func (s *Staging) root() string { return filepath.Join(s.Options.DataDir, StagingDir) }

// Inspect drops any earlier upload, then stages the archive read from r
// (see [Inspect]) under a new ID, which the returned Plan carries.
func (s *Staging) Inspect(ctx context.Context, r io.Reader) (Plan, error) {
	s.mu.Lock()
	s.dropLocked()
	s.mu.Unlock()
	// Whatever else is there was staged by an earlier process.
	if err := os.RemoveAll(s.root()); err != nil {
		return Plan{}, fmt.Errorf("backup: clear staging: %w", err)
	}
	if err := os.MkdirAll(s.root(), 0o700); err != nil {
		return Plan{}, fmt.Errorf("backup: create staging: %w", err)
	}
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	p, err := Inspect(ctx, r, filepath.Join(s.root(), id), s.Options)
	if err != nil {
		return Plan{}, err
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = StagingTTL
	}
	p.ID = id
	p.Expires = time.Now().Add(ttl).UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked() // a concurrent inspect finished first: last one wins
	s.plan = p
	s.timer = time.AfterFunc(ttl, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.plan.ID == id {
			s.dropLocked()
		}
	})
	return p, nil
}

// dropLocked removes the staged upload, if any.
func (s *Staging) dropLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.plan.ID != "" {
		os.RemoveAll(filepath.Join(s.root(), s.plan.ID))
		s.plan = Plan{}
	}
}

// Apply hands the upload staged under id to the next start of the box:
// it is renamed, whole, to DataDir/restore-pending, which [ApplyPending]
// swaps in. The caller then restarts the box.
func (s *Staging) Apply(id string) (Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" || s.plan.ID != id {
		return Plan{}, refuse(ErrUnknownStaging, "no staged backup %q: it expired (uploads are kept %v) or another was uploaded since; upload it again", id, StagingTTL)
	}
	pending := filepath.Join(s.Options.DataDir, PendingDir)
	if _, err := os.Lstat(pending); err == nil {
		return Plan{}, refuse(ErrPending, "a restore is already pending; it happens when the box restarts")
	}
	if err := os.Rename(filepath.Join(s.root(), id), pending); err != nil {
		return Plan{}, fmt.Errorf("backup: hand the staged backup to the restart: %w", err)
	}
	p := s.plan
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.plan = Plan{}
	log := s.Options.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Info("restore pending", "pkg", "backup", "site", p.Backup.Site, "firmware", p.Manifest.Firmware, "created", p.Manifest.Created)
	return p, nil
}
