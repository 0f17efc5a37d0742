package store

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var updateFresh = flag.Bool("update", false, "rewrite freshschema.sql from the migrations")

// migrateStepwise makes a database at path the way databases were always
// made: each migration in its own transaction, in order.
func migrateStepwise(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, false, "NORMAL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schemaMigrationsTable); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(m.sql); err != nil {
			t.Fatalf("migration %s: %v", m.name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// dumpFresh writes what freshschema.sql holds for db: its objects in the
// order SQLite created them (sqlite_schema's rowid) and its rows as INSERTs,
// leaving out schema_migrations and SQLite's own objects.
func dumpFresh(t *testing.T, db *sql.DB, n int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, freshSchemaHeader, n)
	b.WriteString("-- Generated from migrations/ by go test -run TestFreshSchema -args -update; do not edit (freshschema.go).\n")
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_schema
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name != 'schema_migrations' ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		b.WriteString(text + ";\n")
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		for _, ins := range tableRows(t, db, tbl) {
			b.WriteString(ins + ";\n")
		}
	}
	return b.String()
}

// tableRows returns table's rows as INSERT statements, in rowid order
// (SQLite's quote() writes each value as a literal of its type).
func tableRows(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	cols, err := db.Query(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		t.Fatal(err)
	}
	var quoted []string
	for cols.Next() {
		var c string
		if err := cols.Scan(&c); err != nil {
			t.Fatal(err)
		}
		quoted = append(quoted, fmt.Sprintf("quote(%q)", c))
	}
	cols.Close()
	q := fmt.Sprintf(`SELECT 'INSERT INTO %q VALUES (' || %s || ')' FROM %q`, table, strings.Join(quoted, " || ', ' || "), table)
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// snapshot is everything a database holds that a migration could have
// made: every object's SQL as SQLite keeps it and every table's rows.
func snapshot(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema`)
	if err != nil {
		t.Fatal(err)
	}
	snap := map[string][]string{}
	var tables []string
	for rows.Next() {
		var typ, name, tbl, text string
		if err := rows.Scan(&typ, &name, &tbl, &text); err != nil {
			t.Fatal(err)
		}
		snap[typ+" "+name] = []string{tbl, text}
		if typ == "table" && name != "schema_migrations" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, tbl := range tables {
		r := tableRows(t, db, tbl)
		slices.Sort(r)
		snap["rows "+tbl] = r
	}
	for _, p := range []string{"user_version", "application_id"} {
		var v int
		if err := db.QueryRow("PRAGMA " + p).Scan(&v); err != nil {
			t.Fatal(err)
		}
		snap["pragma "+p] = []string{fmt.Sprint(v)}
	}
	return snap
}

// A new database made by Open from freshschema.sql is the one running every
// migration makes, object for object and row for row; and the file is up to
// date with the migrations.
func TestFreshSchema(t *testing.T) {
	ref := migrateStepwise(t, filepath.Join(t.TempDir(), "stepwise.db"))
	want := dumpFresh(t, ref, SchemaVersion())
	if *updateFresh {
		if err := os.WriteFile("freshschema.sql", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("freshschema.sql rewritten: run the tests again")
	}
	if freshSQL != want {
		t.Fatalf("freshschema.sql is stale: a migration changed; run go test ./firmware/store/ -run TestFreshSchema -args -update")
	}
	if _, ok := freshSchema(SchemaVersion()); !ok {
		t.Fatal("freshschema.sql not used by Open")
	}
	s := openStore(t, t.TempDir(), Options{})
	got, wantSnap := snapshot(t, s.r), snapshot(t, ref)
	for k, w := range wantSnap {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: fresh database has %q, migrated step by step %q", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := wantSnap[k]; !ok {
			t.Errorf("%s: only in the fresh database: %q", k, g)
		}
	}
	var versions int
	if err := s.r.QueryRowContext(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != SchemaVersion() {
		t.Errorf("schema_migrations holds %d rows (%v), want %d", versions, err, SchemaVersion())
	}
}
