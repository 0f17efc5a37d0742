// Package backup writes and restores the whole box: one .tar.gz archive
// holding the database, the audio library, the voicemail messages and,
// when asked, the call recordings.
//
// [Write] streams an archive of the running box. [Staging] takes an
// uploaded archive apart into the data directory and says what restoring
// it would replace ([Plan]); [Staging.Apply] hands it to the next start,
// and [ApplyPending], which ringbox serve calls before it opens the store,
// swaps it in. A live SQLite database cannot be replaced under the process
// that has it open, so a restore always goes through a restart.
//
// # Archive
//
//	manifest.json         firmware, schema, time, site, counts ([Manifest]); always first
//	ringbox.db            a consistent snapshot of the database
//	prompts/…, moh/…      the audio library
//	voicemail/BOX/…       voicemail messages
//	recordings/DATE/…     call recordings, only with Options.Recordings
//
// # Memory
//
// Files are streamed from disk to the gzip writer and from the upload to
// disk, never held whole: a backup costs the same few hundred kilobytes of
// buffers whatever the size of the box.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ringbox/firmware/store"
)

// Format is the archive layout version written in the manifest.
const Format = 1

// Names of the archive's entries and of the data directory's parts.
const (
	ManifestName = "manifest.json"
	dbName       = store.FileName
)

// trees are the data directory's folders an archive carries, in archive
// order. recordings is last and optional.
var trees = []string{"prompts", "moh", "voicemail", "recordings"}

// Manifest describes an archive; it is its first entry, manifest.json.
type Manifest struct {
	Format     int       `json:"format"`
	Firmware   string    `json:"firmware"` // the version string of the firmware that wrote it
	Schema     int       `json:"schema"`   // store.SchemaVersion() of that firmware
	Created    time.Time `json:"created"`  // UTC
	Site       string    `json:"site"`
	Recordings bool      `json:"recordings"` // recordings/ is included
	Files      int       `json:"files"`      // entries after the manifest, the database included
	Bytes      int64     `json:"bytes"`      // their total size
}

// Options say what to back up. DataDir is required.
type Options struct {
	DataDir    string       // the box's data directory (--data)
	Firmware   string       // version string for the manifest
	Recordings bool         // include DataDir/recordings
	Logger     *slog.Logger // nil: slog.Default()
	Now        func() time.Time
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

type fileEntry struct {
	name string // slash path in the archive
	path string // on disk
	size int64
}

// Write streams a backup of the box in opts.DataDir to w as a .tar.gz and
// returns its manifest. The box may be running: the database is copied
// with VACUUM INTO, which reads it inside one read transaction (so the copy
// is the database as of one commit, whatever is inserted meanwhile, and
// the writer is never blocked in WAL mode) and writes a compact file with
// no WAL beside it. SQLite's backup API would give the same snapshot but
// needs the driver's raw connection and copies free pages too. The copy is
// a temporary file in the data directory, removed before Write returns.
//
// A file of the library, voicemail or recordings that disappears between
// listing and copying (a message deleted during the download) fails the
// backup: the manifest, written first, already counts it.
func Write(ctx context.Context, w io.Writer, opts Options) (Manifest, error) {
	opts.defaults()
	log := opts.Logger.With("pkg", "backup")
	if opts.DataDir == "" {
		return Manifest{}, errors.New("backup: Options.DataDir is required")
	}
	snap, err := snapshot(ctx, opts.DataDir)
	if err != nil {
		return Manifest{}, err
	}
	defer os.Remove(snap)

	siteName, err := snapshotSiteName(ctx, snap)
	if err != nil {
		return Manifest{}, err
	}
	st, err := os.Stat(snap)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: stat database snapshot: %w", err)
	}
	files := []fileEntry{{name: dbName, path: snap, size: st.Size()}}
	for _, t := range trees {
		if t == "recordings" && !opts.Recordings {
			continue
		}
		fe, err := listTree(opts.DataDir, t, log)
		if err != nil {
			return Manifest{}, err
		}
		files = append(files, fe...)
	}
	m := Manifest{
		Format:     Format,
		Firmware:   opts.Firmware,
		Schema:     store.SchemaVersion(),
		Created:    opts.Now().UTC().Truncate(time.Second),
		Site:       siteName,
		Recordings: opts.Recordings,
		Files:      len(files),
	}
	for _, f := range files {
		m.Bytes += f.size
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: encode manifest: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return Manifest{}, fmt.Errorf("backup: write manifest: %w", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return Manifest{}, fmt.Errorf("backup: write manifest: %w", err)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		if err := copyFile(tw, f); err != nil {
			return Manifest{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: finish archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: finish archive: %w", err)
	}
	log.Info("backup written", "site", m.Site, "files", m.Files, "bytes", m.Bytes, "recordings", m.Recordings)
	return m, nil
}

// copyFile writes one file as an entry. A file that grew since it was
// listed (a recording in progress) is cut at its listed size, which the
// manifest counted; one that shrank or vanished fails.
func copyFile(tw *tar.Writer, f fileEntry) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("backup: %s changed during the backup, try again: %w", f.name, err)
	}
	defer fh.Close()
	hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: f.size, ModTime: time.Now().UTC().Truncate(time.Second), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if st, err := fh.Stat(); err == nil {
		hdr.ModTime = st.ModTime().UTC().Truncate(time.Second)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: write %s: %w", f.name, err)
	}
	n, err := io.CopyN(tw, fh, f.size)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("backup: %s shrank during the backup (%d of %d bytes), try again", f.name, n, f.size)
	}
	if err != nil {
		return fmt.Errorf("backup: write %s: %w", f.name, err)
	}
	return nil
}

// listTree lists the regular files under dataDir/tree, sorted. Anything
// else (a symlink, a socket) is skipped with a warning: the archive holds
// only what restore can put back as plain files.
func listTree(dataDir, tree string, log *slog.Logger) ([]fileEntry, error) {
	root := filepath.Join(dataDir, tree)
	var out []fileEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir // nothing stored of this kind yet
			}
			return err
		}
		if d.IsDir() {
			// The library's half-written imports and replaced files are
			// not the box's state.
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !d.Type().IsRegular() {
			log.Warn("backup skips a file that is not a regular file", "path", p)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		out = append(out, fileEntry{name: filepath.ToSlash(rel), path: p, size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", tree, err)
	}
	slices.SortFunc(out, func(a, b fileEntry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// snapshot copies the live database to a temporary file in dataDir with
// VACUUM INTO and returns its path. The data directory, not /tmp, because
// /tmp is a RAM disk on the box and the database may be large.
func snapshot(ctx context.Context, dataDir string) (string, error) {
	src := filepath.Join(dataDir, dbName)
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("backup: database: %w", err)
	}
	f, err := os.CreateTemp(dataDir, ".backup-*.db")
	if err != nil {
		return "", fmt.Errorf("backup: create snapshot file: %w", err)
	}
	tmp := f.Name()
	f.Close()
	// VACUUM INTO refuses an existing file, even an empty one; the name
	// stays reserved by its creation mode until then.
	os.Remove(tmp)
	db, err := openRaw(src, false)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("backup: snapshot database: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("backup: snapshot database: %w", err)
	}
	return tmp, nil
}

// openRaw opens a SQLite file without the store's migrations: for the
// snapshot and for counting rows. readOnly opens it mode=ro.
func openRaw(p string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if readOnly {
		q.Set("mode", "ro")
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: p, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("backup: open %s: %w", filepath.Base(p), err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// snapshotSiteName reads the site name from a database copy.
func snapshotSiteName(ctx context.Context, p string) (string, error) {
	db, err := openRaw(p, true)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var name sql.NullString
	err = db.QueryRowContext(ctx, "SELECT name FROM system LIMIT 1").Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("backup: read site name: %w", err)
	}
	return name.String, nil
}

// FileName is the download name of a backup of site made at t:
// ringbox-backup-SITE-YYYYMMDD-HHMMSS.tar.gz, the site name reduced to
// letters, digits and dashes so any browser and file system keeps it.
func FileName(site string, t time.Time) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(site) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 40 {
		s = strings.TrimSuffix(s[:40], "-")
	}
	if s == "" {
		s = "box"
	}
	return "ringbox-backup-" + s + "-" + t.UTC().Format("20060102-150405") + ".tar.gz"
}

// topLevel reports whether name (a clean slash path) may be in an archive.
func topLevel(name string) (string, bool) {
	first, _, _ := strings.Cut(name, "/")
	switch {
	case name == ManifestName || name == dbName:
		return first, true
	case slices.Contains(trees, first) && name != first:
		return first, true
	}
	return first, false
}
