package store

import (
	"database/sql"
	"errors"
	"testing"
)

// TestDurableTxSyncsOnlyItsCommit: a configuration change commits with
// synchronous=FULL (the WAL is fsynced: a power cut right after cannot
// undo it), and the writer goes back to NORMAL for the CDRs after it,
// whether the change committed or failed.
func TestDurableTxSyncsOnlyItsCommit(t *testing.T) {
	for _, full := range []bool{false, true} {
		s := openStore(t, t.TempDir(), Options{SyncFull: full})
		want := 1 // NORMAL
		if full {
			want = 2
		}
		level := func(q interface {
			QueryRow(string, ...any) *sql.Row
		}) int {
			t.Helper()
			var n int
			if err := q.QueryRow(`PRAGMA synchronous`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, fail := range []bool{false, true} {
			boom := errors.New("boom")
			err := s.inDurableTx(t.Context(), func(tx *sql.Tx) error {
				if n := level(tx); n != 2 {
					t.Errorf("SyncFull %v: synchronous %d inside the change, want 2 (FULL)", full, n)
				}
				if _, err := tx.Exec(`UPDATE config_version SET version = version + 1 WHERE id = 1`); err != nil {
					return err
				}
				if fail {
					return boom
				}
				return nil
			})
			if fail != errors.Is(err, boom) || (!fail && err != nil) {
				t.Fatalf("inDurableTx (fail %v) = %v", fail, err)
			}
			if n := level(s.w); n != want {
				t.Errorf("SyncFull %v, failed %v: the writer's synchronous is %d after the change, want %d", full, fail, n, want)
			}
		}
	}
}
