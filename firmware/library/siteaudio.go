package library

// The audio a site file names.
//
// A site file names audio files (prompts[].file, hold_music[].files)
// relative to itself: installers keep them next to it. Import decodes each
// one and stores it in the library, and the stored site names the stored
// copy, so the data directory alone holds everything a call plays and the
// site file's directory may be deleted afterwards.
//
// Stored copies are named after their content: prompts/ID-HASH.wav and
// moh/CLASS/NAME-HASH.wav, HASH the first 12 hex digits of the SHA-256 of
// the stored WAV. So importing a changed recording changes the stored site
// (the change summary names the prompt, and a running box reloads it),
// importing the same recording again changes nothing, a new file never
// overwrites one a call may be playing, and a failed import has only new
// files to remove. A file that is byte for byte one the library already
// stores (a site exported by the box, with its audio) is kept as it is, not
// decoded again.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ringbox/audio/sound"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Opener opens a file a site file names, by the name the site file gives.
// Its error is shown to the installer as it is, after the field.
type Opener func(name string) (io.ReadCloser, error)

// DirOpener opens the files a site file names relative to dir, the site
// file's directory; absolute names are used as they are.
func DirOpener(dir string) Opener {
	return func(name string) (io.ReadCloser, error) {
		p := filepath.FromSlash(name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		f, err := os.Open(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%s is missing (no file %s)", name, p)
		case err != nil:
			return nil, fmt.Errorf("%s cannot be read: %w", name, err)
		}
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			f.Close()
			return nil, fmt.Errorf("%s is a directory, not an audio file", name)
		}
		return f, nil
	}
}

// audioRef is one audio file a site names.
type audioRef struct {
	field string // prompts[0].file, hold_music[1].files[2]
	name  string // as the site file writes it
	dir   string // where the library keeps it: prompts, moh/CLASS
	base  string // the stored name before its hash
	set   func(s *site.Site, stored string)
}

func audioRefs(s *site.Site) []audioRef {
	var refs []audioRef
	for i, p := range s.Prompts {
		refs = append(refs, audioRef{
			field: fmt.Sprintf("prompts[%d].file", i), name: p.File, dir: "prompts", base: safeName(p.ID),
			set: func(s *site.Site, stored string) { s.Prompts[i].File = stored },
		})
	}
	for i, h := range s.HoldMusic {
		for j, f := range h.Files {
			refs = append(refs, audioRef{
				field: fmt.Sprintf("hold_music[%d].files[%d]", i, j), name: f, dir: "moh/" + safeName(h.ID),
				base: safeName(strings.TrimSuffix(path.Base(filepath.ToSlash(f)), path.Ext(f))),
				set:  func(s *site.Site, stored string) { s.HoldMusic[i].Files[j] = stored },
			})
		}
	}
	return refs
}

// safeName makes a file name of an id or a file's name: lowercase letters,
// digits, - and _, at most 40 of them.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if n := strings.Trim(b.String(), "-"); n != "" {
		return n
	}
	return "audio"
}

// hashLen is how many hex digits of the SHA-256 name a stored file.
const hashLen = 12

// storedName is the stored file's name for base and the SHA-256 of its
// bytes. A base that already ends in this hash (a stored file exported and
// named again) is not given it twice.
func storedName(dir, base, sum string) string {
	h := sum[:hashLen]
	return dir + "/" + strings.TrimSuffix(base, "-"+h) + "-" + h + ".wav"
}

type hasher struct{ hash.Hash }

func newHash() hasher        { return hasher{sha256.New()} }
func (h hasher) sum() string { return hex.EncodeToString(h.Sum(nil)) }

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sameFile reports whether the file at p holds exactly the bytes whose
// SHA-256 is sum.
func sameFile(p, sum string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	h := newHash()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return h.sum() == sum
}

// readSource reads a file a site names, within the library's limits.
func readSource(open Opener, name string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("no file given")
	}
	rc, err := open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readAll(rc)
	switch {
	case errors.Is(err, ErrTooBig):
		return nil, fmt.Errorf("%s is too big: the limit is %d MiB", name, MaxUploadBytes>>20)
	case err != nil:
		return nil, fmt.Errorf("%s cannot be read: %w", name, err)
	case len(b) == 0:
		return nil, fmt.Errorf("%s is empty", name)
	}
	return b, nil
}

// decode imports a file a site names, within the limits an upload of the
// same kind has.
func decode(b []byte, r audioRef) (*sound.Clip, error) {
	lim := sound.Limits{MaxBytes: MaxUploadBytes, MaxDuration: MaxPromptDuration}
	if r.dir != "prompts" {
		lim.MaxDuration = MaxTrackDuration
	}
	return lim.Import(bytes.NewReader(b), r.name)
}

// CheckAudio reads and decodes every audio file s names, as an import
// would, without storing anything, and returns a problem for each one that
// is missing, too big, too long or not audio a call can play. The problems
// name their field; [site.File.Locate] gives them their lines.
func CheckAudio(s *site.Site, open Opener) site.Errors {
	var probs site.Errors
	for _, r := range audioRefs(s) {
		b, err := readSource(open, r.name)
		if err == nil {
			_, err = decode(b, r)
		}
		if err != nil {
			probs = append(probs, &site.Problem{Field: r.field, Msg: err.Error()})
		}
	}
	return probs
}

// ImportSite replaces the configuration with s, a site read from a site
// file, and stores the audio it names, read with open, in the library. All
// or nothing: if a file is missing or does not decode, the error is a
// site.Errors with a problem for every such file (by field: locate them
// with [site.File.Locate]) and nothing changes, in the database or under
// the data directory; if the store's import fails, the files it stored
// are removed again. Stored files that the new site no longer names are
// deleted afterwards. actor is who imports, for the audit log.
//
// Stored users the site does not list are kept; ImportSiteWith with
// ReplaceUsers removes them.
func (l *Library) ImportSite(ctx context.Context, s *site.Site, open Opener, actor string) (store.Change, error) {
	return l.ImportSiteWith(ctx, s, open, actor, store.ImportOptions{})
}

// ImportSiteWith is [Library.ImportSite] with the store's import options
// (see [store.ImportOptions]: ReplaceUsers, the audit action).
func (l *Library) ImportSiteWith(ctx context.Context, s *site.Site, open Opener, actor string, o store.ImportOptions) (store.Change, error) {
	if s == nil {
		return store.Change{}, errors.New("library: import: no site")
	}
	if errs := s.Validate(); len(errs) > 0 {
		return store.Change{}, errs
	}
	next := *s
	next.Prompts = slices.Clone(s.Prompts)
	next.HoldMusic = slices.Clone(s.HoldMusic)
	for i := range next.HoldMusic {
		next.HoldMusic[i].Files = slices.Clone(s.HoldMusic[i].Files)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	// staged maps a stored name to the temporary file that becomes it.
	staged := map[string]string{}
	defer func() {
		for _, tmp := range staged {
			os.Remove(tmp) // a no-op for those renamed into place
		}
	}()
	var probs site.Errors
	kept := 0
	for _, r := range audioRefs(s) {
		stored, wasKept, err := l.stage(r, open, staged, len(probs) > 0)
		var p *site.Problem
		switch {
		case errors.As(err, &p):
			probs = append(probs, p)
			continue
		case err != nil:
			return store.Change{}, err
		}
		if len(probs) == 0 {
			r.set(&next, stored)
		}
		if wasKept {
			kept++
		}
	}
	if len(probs) > 0 {
		return store.Change{}, probs
	}

	old, err := l.st.ExportSite(ctx)
	if err != nil {
		return store.Change{}, err
	}
	var placed []string
	undo := func() {
		for _, f := range placed {
			os.Remove(l.abs(f))
		}
	}
	dirs := map[string]bool{}
	for stored, tmp := range staged {
		if err := os.Rename(tmp, l.abs(stored)); err != nil {
			undo()
			return store.Change{}, fmt.Errorf("store %s: %w", stored, err)
		}
		placed = append(placed, stored)
		dirs[filepath.Dir(l.abs(stored))] = true
	}
	for d := range dirs {
		syncDir(d)
	}
	ch, err := l.st.ImportSiteWith(ctx, &next, actor, o)
	if err != nil {
		undo()
		return store.Change{}, fmt.Errorf("save configuration: %w", err)
	}
	removed := 0
	for _, r := range audioRefs(old) {
		if owned(r.name) && !named(&next, r.name) {
			l.removeOwned(r.name)
			removed++
		}
	}
	slices.Sort(placed)
	l.audit(ctx, store.AuditEntry{Actor: actor, Action: "site.audio", Object: "site",
		Detail: auditDetail(map[string]any{"stored": placed, "unchanged": kept, "removed": removed})})
	l.log.Info("site audio imported", "stored", len(placed), "unchanged", kept, "removed", removed, "actor", actor)
	return ch, nil
}

// stage reads and decodes the file r names and writes it, under a
// temporary name, beside the name it will be stored under (recorded in
// staged). It returns that name, and whether the library already had the
// file. A problem with the file is a *site.Problem; other errors (the data
// directory cannot be written) are returned as they are. checkOnly decodes
// without writing, once the import is known to fail.
func (l *Library) stage(r audioRef, open Opener, staged map[string]string, checkOnly bool) (stored string, kept bool, err error) {
	problem := func(err error) (string, bool, error) {
		return "", false, &site.Problem{Field: r.field, Msg: err.Error()}
	}
	b, err := readSource(open, r.name)
	if err != nil {
		return problem(err)
	}
	// A file the library stores, byte for byte: a site the box exported.
	if sum := hashBytes(b); !checkOnly && sameFile(l.abs(storedName(r.dir, r.base, sum)), sum) {
		return storedName(r.dir, r.base, sum), true, nil
	}
	clip, err := decode(b, r)
	if err != nil {
		return problem(err)
	}
	if checkOnly {
		return "", false, nil
	}
	tmp, sum, err := l.writeTemp(r.dir, clip)
	if err != nil {
		return "", false, err
	}
	stored = storedName(r.dir, r.base, sum)
	if _, dup := staged[stored]; dup || sameFile(l.abs(stored), sum) {
		os.Remove(tmp) // the same audio twice, or already stored
		return stored, !dup, nil
	}
	staged[stored] = tmp
	return stored, false, nil
}

// ExportAudio copies the audio files s names from the data directory
// dataDir into dir, under the same relative names, so that a site file
// written in dir names them: the copy is self-contained and imports on
// another box. A file already there with the same bytes is left alone.
// Files the data directory lacks, and files named by an absolute path
// (which are not copied), come back as problems by field; an error is a
// file that could not be written.
func ExportAudio(dataDir string, s *site.Site, dir string) (site.Errors, error) {
	var probs site.Errors
	done := map[string]bool{}
	for _, r := range audioRefs(s) {
		rel := path.Clean(filepath.ToSlash(r.name))
		if filepath.IsAbs(r.name) || rel == ".." || strings.HasPrefix(rel, "../") {
			probs = append(probs, &site.Problem{Field: r.field, Msg: fmt.Sprintf("%s is outside the data directory: not copied", r.name)})
			continue
		}
		if done[rel] {
			continue
		}
		done[rel] = true
		b, err := os.ReadFile(filepath.Join(dataDir, filepath.FromSlash(rel)))
		if err != nil {
			probs = append(probs, &site.Problem{Field: r.field, Msg: fmt.Sprintf("%s cannot be copied from the data directory: %v", r.name, err)})
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if sameFile(dst, hashBytes(b)) {
			continue
		}
		if err := writeFileAtomic(dst, b); err != nil {
			return probs, err
		}
	}
	return probs, nil
}

// writeFileAtomic writes b to p through a temporary file and a rename, so
// p never holds half a file.
func writeFileAtomic(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".export-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// Limits of a [Bundle].
const (
	MaxBundleFiles = 256       // audio files sent with one site
	MaxBundleBytes = 256 << 20 // all of them together
)

// Bundle holds the audio files sent with a site file through the API,
// under their names in the site file, in a temporary directory under the
// data directory until the import is done. Its Open is the [Opener] of
// the import. Close removes it.
type Bundle struct {
	dir   string
	files map[string]string // clean name -> temporary file
	total int64
}

// NewBundle starts an empty bundle.
func (l *Library) NewBundle() (*Bundle, error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	// An import cut short by a crash or power cut leaves its bundle; one
	// an hour old is no import in progress.
	if old, err := filepath.Glob(filepath.Join(l.dir, ".import-*")); err == nil {
		for _, d := range old {
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(d)
			}
		}
	}
	dir, err := os.MkdirTemp(l.dir, ".import-")
	if err != nil {
		return nil, fmt.Errorf("library: bundle: %w", err)
	}
	return &Bundle{dir: dir, files: map[string]string{}}, nil
}

// bundleName is how a bundle keys a name: the site file's "./a.mp3" and
// "a.mp3" are the same file.
func bundleName(name string) string { return path.Clean(filepath.ToSlash(name)) }

// Add keeps the file read from r under name, the name the site file gives
// it. It refuses a name given twice, a file over [MaxUploadBytes], and
// more than [MaxBundleFiles] files or [MaxBundleBytes] in all.
func (b *Bundle) Add(name string, r io.Reader) error {
	key := bundleName(name)
	switch {
	case name == "":
		return errorf(ErrInvalid, "a file was sent without a name: name each part as the site file names the file")
	case b.files[key] != "":
		return errorf(ErrInvalid, "file %s was sent twice", name)
	case len(b.files) >= MaxBundleFiles:
		return errorf(ErrTooBig, "too many files: the limit is %d", MaxBundleFiles)
	}
	f, err := os.CreateTemp(b.dir, "part-*")
	if err != nil {
		return fmt.Errorf("library: bundle: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, MaxUploadBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("receive %s: %w", name, err)
	}
	if n > MaxUploadBytes {
		os.Remove(f.Name())
		return errorf(ErrTooBig, "file %s is too big: the limit is %d MiB", name, MaxUploadBytes>>20)
	}
	if b.total += n; b.total > MaxBundleBytes {
		os.Remove(f.Name())
		return errorf(ErrTooBig, "the files sent with the site are too big together: the limit is %d MiB", MaxBundleBytes>>20)
	}
	b.files[key] = f.Name()
	return nil
}

// Open opens a file of the bundle by the name the site file gives it.
func (b *Bundle) Open(name string) (io.ReadCloser, error) {
	p, ok := b.files[bundleName(name)]
	if !ok {
		return nil, fmt.Errorf("%s was not sent with the site file: send it as a part named %q", name, name)
	}
	return os.Open(p)
}

// Close removes the bundle's files.
func (b *Bundle) Close() error { return os.RemoveAll(b.dir) }
