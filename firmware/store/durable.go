package store

import (
	"context"
	"database/sql"
	"fmt"
)

// inDurableTx is inTx for a change somebody is told has been made (a site
// import, an apply from the console): its commit is on disk before it
// returns, even when the store runs synchronous=NORMAL.
//
// In WAL mode with synchronous=NORMAL a commit reaches the operating
// system but is not fsynced until the next checkpoint: a killed process
// loses nothing, a power cut may lose the last commits. That is the right
// trade for CDRs (many a second, on flash), not for a configuration an
// installer saw accepted. synchronous=FULL for this one commit syncs the
// WAL, and with it every commit before it; then the connection goes back
// to the level it had.
func (s *Store) inDurableTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var level int
	if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
		return fmt.Errorf("read synchronous: %w", err)
	}
	const full = 2
	if level < full {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			return fmt.Errorf("synchronous full: %w", err)
		}
		defer func() {
			// Even when ctx has ended: the writer must not stay on FULL.
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA synchronous = %d`, level)); err != nil {
				s.log.Error("restore synchronous", "err", s.errf("restore synchronous", err))
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
