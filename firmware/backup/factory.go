package backup

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// EraseMarker, in the data directory, asks the next start to erase the
// box: a factory reset confirmed by an admin. Like a restore, the erase
// waits for a restart, when nothing has the database open, and a box that
// loses power before it restarts still erases at the next start.
const EraseMarker = "factory-reset-pending"

// RequestErase marks dataDir for erasing at the next start.
func RequestErase(dataDir string) error {
	p := filepath.Join(dataDir, EraseMarker)
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("mark the data for erasing: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("mark the data for erasing: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mark the data for erasing: %w", err)
	}
	return nil
}

// ErasePending erases dataDir if it is marked for erasing and reports
// whether it did. ringbox serve calls it at start, before ApplyPending
// and before the store is opened.
func ErasePending(dataDir string, log *slog.Logger) (bool, error) {
	if log == nil {
		log = slog.Default()
	}
	if _, err := os.Lstat(filepath.Join(dataDir, EraseMarker)); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	log.With("pkg", "backup").Warn("factory reset: erasing the box's data", "dir", dataDir)
	if err := Erase(dataDir); err != nil {
		return false, err
	}
	return true, nil
}

// Erase removes everything in dataDir, which is kept: the database with
// its -wal and -shm, the audio library, voicemail, recordings, staged and
// previous restores, the installer's board profiles, the erase marker
// (last, so an erase cut short by a power loss runs again). The box then
// starts as new, with first-boot setup.
func Erase(dataDir string) error {
	if dataDir == "" || filepath.Clean(dataDir) == "/" {
		return fmt.Errorf("factory reset: refusing to erase %q", dataDir)
	}
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("factory reset: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if e.Name() == EraseMarker {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("factory reset: %w", err)
	}
	if err := os.Remove(filepath.Join(dataDir, EraseMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("factory reset: %w", err)
	}
	return nil
}
