package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var quiet = slog.New(slog.DiscardHandler)

// clock is an injectable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openStore opens a Store on dir with the cheapest bcrypt cost, so that the
// race-enabled tests stay fast, and closes it at the end of the test.
func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	s.bcryptCost = bcrypt.MinCost
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestOpenCreatesAndMigrates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	ctx := t.Context()
	s, err := Open(ctx, dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.r.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("read pool foreign_keys = %d, %v; want 1", fk, err)
	}
	if _, err := s.r.ExecContext(ctx, "INSERT INTO prompts (id, pos, file) VALUES ('x', 0, 'x')"); err == nil {
		t.Error("the read pool accepted a write")
	}
	applied := func(s *Store) map[int]int64 {
		m := map[int]int64{}
		rows, err := s.r.QueryContext(ctx, "SELECT version, applied_ms FROM schema_migrations")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				t.Fatal(err)
			}
			m[v] = at
		}
		return m
	}
	first := applied(s)
	if len(first) != SchemaVersion() || SchemaVersion() < 1 {
		t.Fatalf("applied migrations %v, want 1..%d", first, SchemaVersion())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir, Options{Now: func() time.Time { return time.Unix(1e9, 0) }})
	if again := applied(s2); !reflect.DeepEqual(again, first) {
		t.Errorf("reopening re-applied migrations: %v, was %v", again, first)
	}
}

func TestOpenRefusesNewerDatabase(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, 'future.sql', 0)",
		SchemaVersion()+7); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, FileName)
	before := readFile(t, path)
	_, err = Open(t.Context(), dir, Options{Logger: quiet})
	if !errors.Is(err, ErrNewerDatabase) {
		t.Fatalf("Open of a newer database = %v, want ErrNewerDatabase", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("refused database file was modified")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenRefusesCorruptFile(t *testing.T) {
	random := make([]byte, 8192)
	rand.Read(random)
	damaged := append([]byte("SQLite format 3\x00"), random...)
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("this is my shopping list\neggs\nmilk\n")},
		{"random", random},
		{"damaged sqlite", damaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(t.Context(), dir, Options{Logger: quiet})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a corrupt file")
			}
			if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v; want ErrNotDatabase naming %s", err, path)
			}
			if !bytes.Equal(readFile(t, path), tt.data) {
				t.Error("corrupt file was modified")
			}
		})
	}
}

func TestConcurrentStores(t *testing.T) {
	dir := t.TempDir()
	server := openStore(t, dir, Options{})
	cli := openStore(t, dir, Options{})
	ctx := t.Context()
	base := fullSite()
	if _, err := cli.ImportSite(ctx, base, "cli"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	const imports = 15
	wg.Go(func() { // ringbox import, run again and again from a shell
		for i := range imports {
			st := fullSite()
			st.System.Name = "Acme " + string(rune('A'+i))
			if _, err := cli.ImportSite(ctx, st, "cli"); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() { // ringbox serve writing CDRs and reading config
		for i := range 60 {
			if err := server.InsertCDR(ctx, sampleCDR(i)); err != nil {
				errs <- err
			}
			if _, err := server.ExportSite(ctx); err != nil {
				errs <- err
			}
			if _, err := server.ConfigVersion(ctx); err != nil {
				errs <- err
			}
			if _, err := server.HuntNext(ctx, "support", 3); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() { // ringbox token create
		for i := range 10 {
			if _, err := cli.CreateToken(ctx, "t"+string(rune('a'+i)), "agent"); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use: %v", err)
	}
	v, err := server.ConfigVersion(ctx)
	if err != nil || v != imports+1 {
		t.Errorf("server sees config version %d, %v; want %d", v, err, imports+1)
	}
	got, err := server.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.System.Name != "Acme "+string(rune('A'+imports-1)) {
		t.Errorf("server sees system name %q after the last import", got.System.Name)
	}
	recs, err := cli.ListCDR(ctx, CDRFilter{Limit: 1000})
	if err != nil || len(recs) != 60 {
		t.Errorf("cli sees %d CDRs, %v; want 60", len(recs), err)
	}
}

// Two processes starting on the same new data directory (ringbox serve and
// a ringbox import from a shell): the migrations run once, in one of them,
// and both open the database.
func TestOpenConcurrentFreshMigratesOnce(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), dir, Options{Logger: quiet})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	s := openStore(t, dir, Options{})
	var n, distinct int
	if err := s.r.QueryRowContext(t.Context(), "SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() || distinct != n {
		t.Errorf("schema_migrations holds %d rows (%d versions), want %d", n, distinct, SchemaVersion())
	}
}
