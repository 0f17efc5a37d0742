package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// Directories of the data directory that a restore uses.
const (
	// StagingDir holds inspected uploads waiting for Apply.
	StagingDir = "restore-staging"
	// PendingDir is a complete archive, unpacked, that the next start
	// swaps in.
	PendingDir = "restore-pending"
	// PreviousDir is what the last restore replaced; one restore only.
	PreviousDir = "restore-previous"
	// FailedDir is a pending restore that could not be applied, kept for
	// whoever investigates; one only.
	FailedDir = "restore-failed"
	// partialDir is PreviousDir while a restore is under way: found at
	// start, it means the box stopped half way and must be rolled back.
	partialDir = "restore-previous.partial"
)

// rename is os.Rename; tests make it fail part way.
var rename = os.Rename

// ApplyPending swaps in DataDir/restore-pending, if there is one, and
// reports whether it did. ringbox serve calls it at start, before the
// store is opened: nothing has the database open.
//
// The box's ringbox.db (with its -wal and -shm), prompts/, moh/,
// voicemail/ and, when the backup has them, recordings/ are moved to
// restore-previous/ (replacing the one kept from an earlier restore),
// then the backup's are moved in. Every step is a rename inside the data
// directory, so nothing is copied. If a step fails, what was moved in is
// removed, the previous data is moved back, the backup is kept in
// restore-failed/ and the error returned: the box then starts on its
// previous data. A box that lost power half way finds
// restore-previous.partial at the next start and rolls back the same way.
//
// Staged uploads (restore-staging/) are removed: their IDs died with the
// process that took them.
func ApplyPending(dataDir string, log *slog.Logger) (bool, error) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("pkg", "backup")
	os.RemoveAll(filepath.Join(dataDir, StagingDir))
	pending := filepath.Join(dataDir, PendingDir)
	partial := filepath.Join(dataDir, partialDir)

	if _, err := os.Lstat(partial); err == nil {
		log.Error("restore: an earlier restore stopped half way; putting the previous data back")
		if err := rollback(dataDir, partial, log); err != nil {
			return false, fmt.Errorf("restore: roll back the interrupted restore: %w", err)
		}
		keepFailed(dataDir, log)
		return false, errors.New("restore: an earlier restore was interrupted; the previous data is back and the backup is in " + FailedDir)
	}
	if _, err := os.Lstat(pending); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}

	var m Manifest
	b, err := os.ReadFile(filepath.Join(pending, ManifestName))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err == nil {
		if _, err = os.Stat(filepath.Join(pending, dbName)); err != nil {
			err = fmt.Errorf("no %s: %w", dbName, err)
		}
	}
	if err != nil {
		keepFailed(dataDir, log)
		return false, fmt.Errorf("restore: %s is incomplete, nothing changed: %w", PendingDir, err)
	}
	log.Info("restore: applying backup", "site", m.Site, "firmware", m.Firmware, "schema", m.Schema, "created", m.Created, "recordings", m.Recordings)

	if err := os.RemoveAll(filepath.Join(dataDir, PreviousDir)); err != nil {
		keepFailed(dataDir, log)
		return false, fmt.Errorf("restore: remove the data kept from the restore before, nothing changed: %w", err)
	}
	if err := os.Mkdir(partial, 0o700); err != nil {
		keepFailed(dataDir, log)
		return false, fmt.Errorf("restore: nothing changed: %w", err)
	}
	names := []string{dbName, dbName + "-wal", dbName + "-shm", "prompts", "moh", "voicemail"}
	if m.Recordings {
		names = append(names, "recordings")
	}
	if err := swap(dataDir, pending, partial, names, log); err != nil {
		log.Error("restore failed; putting the previous data back", "err", err)
		if rerr := rollback(dataDir, partial, log); rerr != nil {
			return false, fmt.Errorf("restore: %w; and the roll back failed too: %w", err, rerr)
		}
		keepFailed(dataDir, log)
		return false, fmt.Errorf("restore: %w; the previous data is back, the backup is in %s", err, FailedDir)
	}
	os.Remove(filepath.Join(partial, asideDone))
	if err := rename(partial, filepath.Join(dataDir, PreviousDir)); err != nil {
		// The restore is done; only the name of the kept data is wrong,
		// and the next start would take it for an interrupted restore.
		return true, fmt.Errorf("restore: applied, but keep the previous data: %w", err)
	}
	os.RemoveAll(pending)
	log.Info("restore: done; the replaced data is in "+PreviousDir, "site", m.Site)
	return true, nil
}

// swap moves each of names present in dataDir to aside, then each present
// in pending to dataDir.
func swap(dataDir, pending, aside string, names []string, log *slog.Logger) error {
	for _, n := range names {
		src := filepath.Join(dataDir, n)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := rename(src, filepath.Join(aside, n)); err != nil {
			return fmt.Errorf("move %s aside: %w", n, err)
		}
		log.Info("restore: moved aside", "name", n)
	}
	if err := os.WriteFile(filepath.Join(aside, asideDone), nil, 0o600); err != nil {
		return fmt.Errorf("mark the previous data set aside: %w", err)
	}
	for _, n := range names {
		src := filepath.Join(pending, n)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := rename(src, filepath.Join(dataDir, n)); err != nil {
			return fmt.Errorf("move the backup's %s in: %w", n, err)
		}
		log.Info("restore: moved in", "name", n)
	}
	return nil
}

// asideDone, a file in the aside directory, marks that every name the box
// had was moved aside, so from then on a name in the data directory but not
// aside is the backup's.
const asideDone = ".aside-done"

// restoredNames are every name a restore may move.
var restoredNames = []string{dbName, dbName + "-wal", dbName + "-shm", "prompts", "moh", "voicemail", "recordings"}

// rollback puts the box's data in aside back into dataDir, removing what
// the restore moved in, then removes aside.
func rollback(dataDir, aside string, log *slog.Logger) error {
	ents, err := os.ReadDir(aside)
	if err != nil {
		return err
	}
	had := map[string]bool{}
	for _, e := range ents {
		had[e.Name()] = true
	}
	var errs []error
	if had[asideDone] {
		for _, n := range restoredNames {
			if !had[n] {
				if err := os.RemoveAll(filepath.Join(dataDir, n)); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for _, e := range ents {
		if e.Name() == asideDone {
			continue
		}
		dst := filepath.Join(dataDir, e.Name())
		if err := os.RemoveAll(dst); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Rename(filepath.Join(aside, e.Name()), dst); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("restore: put back", "name", e.Name())
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(aside)
}

// keepFailed moves restore-pending to restore-failed, replacing an older
// one, so the box does not try the same restore at every start.
func keepFailed(dataDir string, log *slog.Logger) {
	failed := filepath.Join(dataDir, FailedDir)
	os.RemoveAll(failed)
	if err := os.Rename(filepath.Join(dataDir, PendingDir), failed); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("restore: cannot set the failed backup aside; removing it", "err", err)
		os.RemoveAll(filepath.Join(dataDir, PendingDir))
	}
}
