// Package store keeps the appliance's state in one SQLite database,
// DIR/ringbox.db: the configuration (the objects of the site file), web
// users, sessions and API tokens, runtime state that must survive a restart
// (agent status, hunt-group round-robin positions, calls in progress for
// their CDRs after a crash), and the append-only
// history (CDRs, queue log, agent activity, audit).
//
// The database is the one source of truth; the site file is only its import
// and export format ([Store.ImportSite], [Store.ExportSite]).
//
// # Connections and processes
//
// A [Store] holds one writer connection (database/sql pool of size one, so
// writes in this process queue in Go rather than in SQLite) and a small pool
// of query_only connections for reads. The database runs in WAL mode, so
// readers never block the writer or each other. Several processes may open the
// same directory at once (`ringbox import` and `ringbox token create` run from
// a shell while `ringbox serve` runs): every write transaction begins
// IMMEDIATE, so a second writer waits on busy_timeout (5 s) for the write
// lock instead of failing with SQLITE_BUSY half way. A process notices another
// process's configuration change through [Store.ConfigVersion].
//
// # Durability
//
// The default is synchronous=NORMAL: in WAL mode the database is never
// corrupted by a crash or power cut, and a killed process loses no commit,
// but the last transactions before a power cut may roll back. On a PBX that
// means the last seconds of CDRs; in exchange a commit is not an fsync,
// which spares the flash. Configuration changes (imports) commit with
// synchronous=FULL all the same (inDurableTx): an installer who was told a
// change was made keeps it. [Options.SyncFull] switches every commit to
// synchronous=FULL.
//
// # Secrets
//
// The database file is the secret store: it holds extension SIP secrets (in
// plain, because `ringbox export --with-secrets` must give them back, plus
// their digest HA1 values), trunk passwords, agent and mailbox PINs and the
// SMTP password. Open creates the directory mode 0700 and the file mode 0600,
// readable only by the service's user. Web passwords are kept as bcrypt
// hashes, API tokens and session tokens as SHA-256 hashes only.
//
// # Time
//
// Times are stored as UTC unix milliseconds (INTEGER columns named *_ms,
// NULL for a zero time.Time) and come back as UTC time.Time values truncated
// to the millisecond. Durations of the configuration are stored in
// nanoseconds (*_ns) so that a site round-trips exactly.
//
// # Versions and drafts
//
// Every import records the configuration it made, secrets and users'
// password hashes included, as a version ([Store.ListVersions],
// [Store.VersionSite]); the newest [KeepVersions] are kept. An apply may
// name the version it was edited from ([ImportOptions.Base]) and is refused
// with a [StaleError] if another change came first. Each web login may keep
// one unfinished edit ([Store.SaveDraft]), which is not configuration.
//
// # Append-only history
//
// The cdr, cdr_legs, queue_log, agent_activity and audit tables have only
// Insert and List methods here, and SQLite triggers abort any UPDATE or
// DELETE on them, whoever issues it.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the database file's name inside the data directory.
const FileName = "ringbox.db"

// Errors Open and the methods return; test them with errors.Is.
var (
	// ErrNotDatabase means DIR/ringbox.db exists but is not a SQLite
	// database, or is damaged. The file has not been modified.
	ErrNotDatabase = errors.New("not a ringbox database or damaged")
	// ErrNewerDatabase means the database was written by a newer ringbox:
	// it records a schema migration this binary does not know.
	ErrNewerDatabase = errors.New("database is newer than this ringbox")
	// ErrNotFound is returned for an unknown user, token or similar.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when creating something whose name is taken.
	ErrExists = errors.New("already exists")
)

// Options configure a Store. The zero value works.
type Options struct {
	// Realm is the SIP digest realm the extensions' HA1 values are computed
	// for; "" means "ringbox".
	Realm string
	// Now is the clock; nil means time.Now. Tests inject one to expire
	// sessions.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// SyncFull sets synchronous=FULL instead of NORMAL (see the package doc).
	SyncFull bool
	// ReadConns is the size of the read-only pool; 0 means 4.
	ReadConns int
	// Alive, when set, is called by the CDR writer after each batch and
	// at least every AliveEvery (0: DefaultAliveEvery) while idle: the
	// watchdog's proof that the writer is not stuck. The writer then
	// starts with Open rather than with the first record.
	Alive      func()
	AliveEvery time.Duration
	// UsePreMigrationCopy: a database newer than this ringbox is moved
	// aside and the copy kept before its migration used instead (a
	// firmware rollback; premigration.go). Without it Open refuses it.
	UsePreMigrationCopy bool
}

// SessionTTL is how long a web session lives without being used; each use
// pushes its expiry out again.
const SessionTTL = 12 * time.Hour

// Store is the open database. Its methods are safe for concurrent use.
type Store struct {
	path  string
	w     *sql.DB // the one writer connection
	r     *sql.DB // query_only pool
	realm string
	now   func() time.Time
	log   *slog.Logger

	bcryptCost int // 10; tests lower it to keep -race runs fast

	dummyOnce sync.Once
	dummyHash []byte // for CheckPassword of unknown logins

	cdrs       cdrBatch // InsertCDR's group commit
	aliveFn    func()   // Options.Alive
	aliveEvery time.Duration

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) DIR/ringbox.db and brings its schema up to
// date. It refuses a file that is not a SQLite database (ErrNotDatabase) and
// a database written by a newer ringbox (ErrNewerDatabase), leaving the file
// untouched in both cases.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	path := filepath.Join(dir, FileName)
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory %s: %w", dir, err)
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	s := &Store{
		path:       path,
		realm:      opts.Realm,
		now:        opts.Now,
		log:        opts.Logger,
		bcryptCost: bcrypt.DefaultCost,
		aliveFn:    opts.Alive,
		aliveEvery: opts.AliveEvery,
	}
	if s.aliveEvery <= 0 {
		s.aliveEvery = DefaultAliveEvery
	}
	if s.realm == "" {
		s.realm = "ringbox"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("pkg", "store")
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = 4
	}

	syncMode := "NORMAL"
	if opts.SyncFull {
		syncMode = "FULL"
	}
	var w *sql.DB
	var err error
	// Two processes opening one new database at once (serve and an
	// import from a shell): SQLite answers SQLITE_BUSY without waiting on
	// busy_timeout where waiting could deadlock (one connection turning
	// the file to WAL while the other holds the write lock to migrate).
	// Opening again after a pause gets through; bounded, so a database
	// held by a stuck process is still reported.
	for attempt := 0; ; attempt++ {
		w, err = sql.Open("sqlite", dsn(path, false, syncMode))
		if err != nil {
			return nil, s.errf("open", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
		s.w = w
		err = s.migrate(ctx)
		if err == nil || !isBusy(err) || attempt == openBusyRetries {
			break
		}
		w.Close()
		s.log.Debug("database busy at open; trying again", "file", path, "attempt", attempt+1)
		select {
		case <-time.After(time.Duration(20+rand.IntN(80)) * time.Millisecond):
		case <-ctx.Done():
			return nil, s.errf("open", ctx.Err())
		}
	}
	if err != nil {
		w.Close()
		if errors.Is(err, ErrNewerDatabase) && opts.UsePreMigrationCopy {
			if ok, cerr := useOlderCopy(path, SchemaVersion(), s.log); cerr != nil {
				return nil, errors.Join(err, cerr)
			} else if ok {
				opts.UsePreMigrationCopy = false // the copy is older: no loop
				return Open(ctx, dir, opts)
			}
		}
		return nil, err
	}
	if err := s.seedVersion(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true, syncMode))
	if err != nil {
		w.Close()
		return nil, s.errf("open", err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, s.errf("open read pool", err)
	}
	if s.aliveFn != nil {
		// The watchdog watches the writer from the start, idle or not.
		s.cdrs.mu.Lock()
		s.startWriterLocked()
		s.cdrs.mu.Unlock()
	}
	return s, nil
}

// dsn builds the connection string. The writer sets the persistent journal
// mode and begins every transaction IMMEDIATE; readers are query_only and
// begin DEFERRED so they never take the write lock.
func dsn(path string, readOnly bool, syncMode string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "journal_size_limit(4194304)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}
	return u.String()
}

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// prepareFile creates the database file with mode 0600 if it is missing (so
// SQLite, which gives the -wal and -shm files the database's mode, never
// creates a world-readable secret store), and otherwise checks its header
// before SQLite gets to write anything to it.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	f, err = os.Open(path)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("store: %s: %w: not a regular file", path, ErrNotDatabase)
	}
	if st.Size() == 0 {
		return nil // SQLite treats an empty file as a new database
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) {
		return fmt.Errorf("store: %s: %w: the file does not start with the SQLite header; move it away or restore a backup", path, ErrNotDatabase)
	}
	return nil
}

// errf wraps err with what failed and the database file, turning SQLite's
// "not a database"/"malformed" codes into ErrNotDatabase.
func (s *Store) errf(what string, err error) error {
	if isCorrupt(err) {
		return fmt.Errorf("store: %s %s: %w: %w", what, s.path, ErrNotDatabase, err)
	}
	return fmt.Errorf("store: %s %s: %w", what, s.path, err)
}

// openBusyRetries bounds Open's attempts when SQLite reports the database
// busy without waiting (about 2 s in all).
const openBusyRetries = 40

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return true
	}
	return false
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close commits the call records handed in, checkpoints the WAL into the
// database file and closes every connection. The checkpoint is PASSIVE, so Close never waits for readers
// in other processes; the last connection to close folds the rest in.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopCDRs()
		var errs []error
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				errs = append(errs, s.errf("checkpoint", err))
			}
			cancel()
			errs = append(errs, s.w.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order. Their file names are
// NNNN_name.sql; numbers start at 1 and have no gaps.
var migrations = sync.OnceValues(func() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
})

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// migrate applies the missing migrations, all in one transaction, after
// refusing a database that records a migration this binary does not know.
// One transaction rather than one per migration: a fresh database's
// migrations then cost one commit and one schema load instead of nine, most
// of a first boot's start-up on a slow CPU (docs/benchmarks.md), and a
// failing migration leaves the database as it was, not half migrated.
// Another process may be migrating at the same time: what is applied is
// re-read inside the IMMEDIATE transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("store: embedded migrations: %w", err)
	}
	// A first read before anything is written: a garbage file that passed
	// the header check, or a newer schema, is reported without touching it.
	applied, err := s.appliedMigrations(ctx, s.w)
	if err != nil {
		return err
	}
	if err := s.checkKnown(applied, len(ms)); err != nil {
		return err
	}
	if len(applied) == len(ms) {
		return nil // the usual start: up to date, no write lock taken
	}
	if n := len(applied); n > 0 {
		if err := s.keepPreMigrationCopy(ctx, n); err != nil {
			return err
		}
	}
	var done []migration
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		done = done[:0]
		if _, err := tx.ExecContext(ctx, schemaMigrationsTable); err != nil {
			return err
		}
		now, err := s.appliedMigrations(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.checkKnown(now, len(ms)); err != nil {
			return err
		}
		// A new database gets the migrations' outcome in one go
		// (freshschema.go); they are recorded as applied all the same.
		fresh, useFresh := freshSchema(len(ms))
		useFresh = useFresh && len(now) == 0
		if useFresh {
			if _, err := tx.ExecContext(ctx, fresh); err != nil {
				return fmt.Errorf("fresh schema: %w", err)
			}
		}
		for _, m := range ms {
			if now[m.version] {
				continue // applied before, or by another process first
			}
			if !useFresh {
				if _, err := tx.ExecContext(ctx, m.sql); err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)`,
				m.version, m.name, s.now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			done = append(done, m)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNewerDatabase) || errors.Is(err, ErrNotDatabase) {
			return err
		}
		return s.errf("migrate", err)
	}
	for _, m := range done {
		s.log.Info("schema migrated", "file", s.path, "migration", m.name)
	}
	return nil
}

// schemaMigrationsTable records the applied migrations. Its text, white
// space included, is what SQLite keeps in sqlite_schema for every database
// made so far, so it stays exactly as it is.
const schemaMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_ms INTEGER NOT NULL
			) STRICT`

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) appliedMigrations(ctx context.Context, q querier) (map[int]bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil {
		return nil, s.errf("read schema", err)
	}
	applied := map[int]bool{}
	if n == 0 {
		return applied, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, s.errf("read schema_migrations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, s.errf("read schema_migrations", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("read schema_migrations", err)
	}
	return applied, nil
}

func (s *Store) checkKnown(applied map[int]bool, known int) error {
	newest := 0
	for v := range applied {
		newest = max(newest, v)
	}
	if newest > known {
		return fmt.Errorf("store: %s: %w: it has schema migration %d, this ringbox knows up to %d; run a newer ringbox or restore a backup",
			s.path, ErrNewerDatabase, newest, known)
	}
	return nil
}

// inTx runs f in one write transaction (BEGIN IMMEDIATE) on the writer.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// bumpConfig increments config_version inside a configuration change.
func (s *Store) bumpConfig(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE config_version SET version = version + 1, changed_ms = ? WHERE id = 1 RETURNING version`,
		s.now().UnixMilli()).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("bump config version: %w", err)
	}
	return v, nil
}

// ConfigVersion returns the configuration counter, bumped by every
// configuration change in any process. It is one primary-key read on the
// read pool, cheap enough to poll every second. (PRAGMA data_version would
// also see other processes' commits, but it is per connection and changes
// for CDR inserts too, so it cannot replace the counter through a pool.)
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, s.errf("read config version", err)
	}
	return v, nil
}

// ms converts t to stored UTC unix milliseconds; a zero time is NULL.
func ms(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMS converts stored milliseconds back to a UTC time.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nullStr stores "" as NULL, for optional foreign keys.
func nullStr(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
