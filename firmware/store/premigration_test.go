package store

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openOlder makes DIR/ringbox.db as a ringbox one migration behind made
// it, holding one web user.
func openOlder(t *testing.T, dir string) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL) STRICT`)
	for _, m := range ms[:len(ms)-1] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name)
	}
	if _, err := db.Exec(`INSERT INTO users (login, pos, role, password_hash) VALUES ('old-admin', 0, 'admin', 'x')`); err != nil {
		t.Fatal(err)
	}
}

func TestPreMigrationCopyUsedAfterRollback(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	old := SchemaVersion() - 1
	openOlder(t, dir)
	// The new firmware's ringbox opens it: the copy is made, then the
	// database migrated; a user is added on the new firmware.
	s, err := Open(ctx, dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.w.ExecContext(ctx, `INSERT INTO users (login, pos, role, password_hash) VALUES ('new-admin', 1, 'admin', 'x')`)
	s.Close()
	copyPath := preMigrationPath(path, old)
	if _, err := os.Stat(copyPath); err != nil {
		t.Fatalf("no copy before the migration from schema %d: %v", old, err)
	}

	// Make the database newer than this ringbox (a migration it does not
	// know): this ringbox now plays the old firmware after a rollback.
	s, err = Open(ctx, dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.w.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (?, 'future.sql', 0)", SchemaVersion()+1)
	s.Close()
	if _, err := Open(ctx, dir, Options{Logger: quiet}); !errors.Is(err, ErrNewerDatabase) {
		t.Fatalf("without UsePreMigrationCopy: %v, want ErrNewerDatabase", err)
	}
	s, err = Open(ctx, dir, Options{Logger: quiet, UsePreMigrationCopy: true})
	if err != nil {
		t.Fatalf("the older ringbox did not use the copy: %v", err)
	}
	defer s.Close()
	var users []string
	rows, _ := s.r.QueryContext(ctx, "SELECT login FROM users ORDER BY login")
	for rows.Next() {
		var l string
		rows.Scan(&l)
		users = append(users, l)
	}
	rows.Close()
	if strings.Join(users, ",") != "old-admin" {
		t.Errorf("users after the rollback %v, want the copy's [old-admin]", users)
	}
	aside, _ := filepath.Glob(path + ".newer-*")
	if len(aside) == 0 {
		t.Fatal("the newer database was not kept aside")
	}
	var n int
	s.r.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	if n != SchemaVersion() {
		t.Errorf("the copy is at %d migrations, want migrated to %d", n, SchemaVersion())
	}
	for _, a := range aside {
		if strings.HasSuffix(a, "-wal") || strings.HasSuffix(a, "-shm") {
			continue
		}
		db, _ := sql.Open("sqlite", "file:"+a+"?mode=ro")
		var v int
		db.QueryRow("SELECT max(version) FROM schema_migrations").Scan(&v)
		db.Close()
		if v != SchemaVersion()+1 {
			t.Errorf("the file kept aside has schema %d, want the newer %d", v, SchemaVersion()+1)
		}
	}
}
