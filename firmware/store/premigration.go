package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The firmware's A/B slots share the data partition: a new firmware
// migrates the database forward, and a rollback to the old slot finds a
// database newer than its ringbox knows. So before migrating, Open keeps a
// copy of the database as it was, DIR/ringbox.db.schema-N (N the newest
// migration it had), and with [Options.UsePreMigrationCopy] an Open that
// finds a newer database moves it aside (DIR/ringbox.db.newer-<unix time>,
// kept for the next upgrade or a support case) and opens the newest copy
// this ringbox can read instead. What changed since the upgrade (new call
// records, settings) is in the moved-aside file, not in the copy.

// preMigrationPath names the copy of the database at schema n.
func preMigrationPath(path string, n int) string {
	return path + ".schema-" + strconv.Itoa(n)
}

// keepPreMigrationCopy writes a consistent copy of the database (VACUUM
// INTO, which reads the WAL too) before the migrations from schema n on.
func (s *Store) keepPreMigrationCopy(ctx context.Context, n int) error {
	dst := preMigrationPath(s.path, n)
	tmp := dst + ".tmp"
	os.Remove(tmp)
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return s.errf("copy before migrating", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("store: copy before migrating: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("store: copy before migrating: %w", err)
	}
	s.log.Info("database copied before migrating", "copy", dst, "schema", n)
	return nil
}

// useOlderCopy replaces the database at path, newer than this ringbox, by
// the newest pre-migration copy at a schema it knows. It reports whether
// there was one.
func useOlderCopy(path string, known int, log *slog.Logger) (bool, error) {
	copies, _ := filepath.Glob(path + ".schema-*")
	best, bestN := "", 0
	for _, c := range copies {
		n, err := strconv.Atoi(strings.TrimPrefix(c, path+".schema-"))
		if err != nil || n > known || n <= bestN {
			continue
		}
		if db, err := sql.Open("sqlite", "file:"+c+"?mode=ro"); err == nil {
			err = db.Ping()
			db.Close()
			if err != nil {
				continue
			}
		}
		best, bestN = c, n
	}
	if best == "" {
		return false, nil
	}
	aside := path + ".newer-" + strconv.FormatInt(time.Now().Unix(), 10)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, aside+suffix); err != nil && !os.IsNotExist(err) {
			return false, fmt.Errorf("store: move the newer database aside: %w", err)
		}
	}
	if err := os.Rename(best, path); err != nil {
		return false, fmt.Errorf("store: use the copy %s: %w", best, err)
	}
	log.Warn("database is newer than this ringbox (a firmware rollback?): using the copy kept before its migration; the newer one is kept aside",
		"copy", best, "schema", bestN, "newer", aside)
	return true, nil
}

// SchemaOf reads, without writing anything, the newest migration the
// database in dir records: the health check compares it with
// [SchemaVersion] to know the running ringbox has migrated it.
func SchemaOf(ctx context.Context, dir string) (int, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(2000)")
	if err != nil {
		return 0, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	var n sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: read the schema of %s: %w", path, err)
	}
	return int(n.Int64), nil
}
