package store

import (
	_ "embed"
	"fmt"
	"strings"
)

// freshSQL is the schema (and the few rows) that running every migration
// on an empty database makes, as SQLite itself records it in sqlite_schema,
// generated from the migrations by
//
//	go test ./firmware/store/ -run TestFreshSchema -args -update
//
// TestFreshSchema fails when it is stale or when a database made from it
// differs from one migrated step by step in any table, index, trigger, view
// or row.
//
// Why: a new database (every first boot) would otherwise run the migrations,
// and their ALTER TABLEs each make SQLite re-read the whole schema; on a
// slow CPU that was most of ringbox's first start-up (docs/benchmarks.md).
// Databases that have some migrations already still run the missing ones.
//
//go:embed freshschema.sql
var freshSQL string

// freshSchemaHeader is freshSQL's first line, naming how many migrations
// it holds.
const freshSchemaHeader = "-- ringbox fresh schema: migrations 1-%d\n"

// freshSchema returns freshSQL when it holds exactly the first n
// migrations; a stale file (a migration added without -update) is not
// used, and the migrations run instead.
func freshSchema(n int) (string, bool) {
	head := fmt.Sprintf(freshSchemaHeader, n)
	if !strings.HasPrefix(freshSQL, head) {
		return "", false
	}
	return freshSQL, true
}
