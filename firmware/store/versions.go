package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"ringbox/firmware/site"
)

// KeepVersions is how many configuration versions the site_versions table
// keeps: each import deletes the rows older than the newest KeepVersions.
// A version row of a large site is tens of kilobytes, so this bounds the
// table to a few megabytes of the flash.
const KeepVersions = 200

// ErrStale is wrapped by the error of an import whose
// [ImportOptions.Base] is no longer the current configuration version. The
// error is a *[StaleError] saying who applied the current version, and when.
var ErrStale = errors.New("configuration changed since you started editing")

// StaleError refuses an apply over a base that is no longer current.
// Actor and Applied describe the current version, from its site_versions
// row; they are empty when that version was not made by an import (a
// password change through [Store.SetPassword], say), and then Applied is
// the time of the last configuration change if known.
type StaleError struct {
	Base    int64 // the version the editor started from
	Current int64 // the configuration version now
	Actor   string
	Applied time.Time
}

func (e *StaleError) Error() string {
	msg := fmt.Sprintf("%v: version %d", ErrStale, e.Current)
	if e.Actor != "" {
		msg += " applied by " + e.Actor
	}
	if !e.Applied.IsZero() {
		msg += " at " + e.Applied.UTC().Format(time.RFC3339)
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrStale) hold.
func (e *StaleError) Unwrap() error { return ErrStale }

// SiteVersion describes one stored configuration version; [Store.VersionSite]
// gives its site.
type SiteVersion struct {
	Version      int64 // config_version after the change
	Actor        string
	Applied      time.Time
	Change       Change
	RestoredFrom int64 // the version this one restored; 0 for an ordinary apply
}

// ListVersions returns up to limit stored versions, newest first (all of
// them, at most [KeepVersions], when limit <= 0). The result is never nil.
func (s *Store) ListVersions(ctx context.Context, limit int) ([]SiteVersion, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	out := []SiteVersion{}
	err := rowsEach(ctx, s.r, `SELECT version, actor, applied_ms, change, restored_from FROM site_versions
		ORDER BY version DESC LIMIT ?`, func(r *sql.Rows) error {
		var v SiteVersion
		var applied, restored sql.NullInt64
		var change string
		if err := r.Scan(&v.Version, &v.Actor, &applied, &change, &restored); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(change), &v.Change); err != nil {
			return fmt.Errorf("version %d: change: %w", v.Version, err)
		}
		v.Applied = fromMS(applied)
		v.RestoredFrom = restored.Int64
		out = append(out, v)
		return nil
	}, limit)
	if err != nil {
		return nil, s.errf("list versions", err)
	}
	return out, nil
}

// VersionSite returns the whole site of a stored version, secrets included
// and each user's PasswordHash set as it was then, ready to be applied again
// with [Store.ImportSiteWith] (set RestoredFrom). An unknown or no longer
// kept version is an error wrapping ErrNotFound.
func (s *Store) VersionSite(ctx context.Context, version int64) (*site.Site, error) {
	var yml, hashes string
	err := s.r.QueryRowContext(ctx, `SELECT site_yaml, user_hashes FROM site_versions WHERE version = ?`, version).
		Scan(&yml, &hashes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: configuration version %d: %w", version, ErrNotFound)
	}
	if err != nil {
		return nil, s.errf(fmt.Sprintf("read version %d", version), err)
	}
	st, err := decodeStored([]byte(yml), hashes, "stored site")
	if err != nil {
		return nil, fmt.Errorf("store: configuration version %d: %w", version, err)
	}
	return st, nil
}

// encodeStored gives the stored form of a site (see sitecodec.go), with
// secrets, and the users' password hashes as JSON beside it. Plain
// passwords are never stored.
func encodeStored(st *site.Site) (yml, hashes string, err error) {
	c := *st
	c.Users = slices.Clone(st.Users)
	for i := range c.Users {
		c.Users[i].Password = ""
	}
	b, err := encodeSite(&c)
	if err != nil {
		return "", "", err
	}
	h, err := json.Marshal(userHashes(st))
	if err != nil {
		return "", "", err
	}
	return string(b), string(h), nil
}

// decodeStored reverses encodeStored. It does not insist that the site
// validates: a draft may name an object someone else's apply deleted since,
// and a newer firmware may check more than the one that stored a version.
// Such a site is still complete when encoding it again gives the stored
// bytes, which proves its problems are validation ones and nothing was lost
// in decoding.
func decodeStored(yml []byte, hashes, name string) (*site.Site, error) {
	f, err := site.ParseFile(yml, name)
	if err != nil {
		if f == nil || f.Site == nil {
			return nil, err
		}
		again, eerr := encodeSite(f.Site)
		if eerr != nil || !bytes.Equal(again, yml) {
			return nil, err
		}
	}
	st := f.Site
	var m map[string]string
	if err := json.Unmarshal([]byte(hashes), &m); err != nil {
		return nil, fmt.Errorf("user hashes: %w", err)
	}
	for i := range st.Users {
		st.Users[i].PasswordHash = m[st.Users[i].Login]
	}
	return st, nil
}

// insertVersion records the configuration st (as stored: secrets merged,
// passwords hashed) as version ch.Version and drops the versions beyond
// KeepVersions, inside the import's transaction.
func (s *Store) insertVersion(ctx context.Context, tx *sql.Tx, st *site.Site, actor string, applied time.Time, ch Change, restoredFrom int64) error {
	yml, hashes, err := encodeStored(st)
	if err != nil {
		return fmt.Errorf("record version %d: %w", ch.Version, err)
	}
	change, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("record version %d: %w", ch.Version, err)
	}
	restored := sql.NullInt64{Int64: restoredFrom, Valid: restoredFrom != 0}
	if _, err := tx.ExecContext(ctx, `INSERT INTO site_versions (version, site_yaml, user_hashes, actor, applied_ms, change, restored_from)
		VALUES (?,?,?,?,?,?,?) ON CONFLICT (version) DO UPDATE SET site_yaml = excluded.site_yaml, user_hashes = excluded.user_hashes,
		actor = excluded.actor, applied_ms = excluded.applied_ms, change = excluded.change, restored_from = excluded.restored_from`,
		ch.Version, yml, hashes, actor, applied.UnixMilli(), string(change), restored); err != nil {
		return fmt.Errorf("record version %d: %w", ch.Version, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM site_versions WHERE version NOT IN
		(SELECT version FROM site_versions ORDER BY version DESC LIMIT ?)`, KeepVersions); err != nil {
		return fmt.Errorf("prune versions: %w", err)
	}
	return nil
}

// staleError describes the current version for an apply over base.
func staleError(ctx context.Context, q querier, base, current int64) error {
	e := &StaleError{Base: base, Current: current}
	var applied sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT actor, applied_ms FROM site_versions WHERE version = ?`, current).Scan(&e.Actor, &applied)
	if errors.Is(err, sql.ErrNoRows) {
		// Not an import (a password change, a new user): say when at least.
		err = q.QueryRowContext(ctx, `SELECT changed_ms FROM config_version WHERE id = 1`).Scan(&applied)
	}
	if err != nil {
		return fmt.Errorf("check base version %d: %w", base, err)
	}
	e.Applied = fromMS(applied)
	return e
}

// seedVersion records the current configuration of a database that has one
// but no site_versions row for it (a box upgraded from a ringbox without
// versions, or whose last change was not an import), as made by "system".
// It does nothing when the row exists, so every Open may call it.
func (s *Store) seedVersion(ctx context.Context) error {
	missing := func(q querier) (int64, bool, error) {
		var v int64
		var has bool
		err := q.QueryRowContext(ctx, `SELECT version, EXISTS (SELECT 1 FROM site_versions WHERE site_versions.version = config_version.version)
			FROM config_version WHERE id = 1`).Scan(&v, &has)
		return v, v > 0 && !has, err
	}
	// A read first, so that the usual Open takes no write lock.
	if _, need, err := missing(s.w); err != nil || !need {
		if err != nil {
			return s.errf("check versions", err)
		}
		return nil
	}
	var seeded int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		v, need, err := missing(tx)
		if err != nil || !need {
			return err // another process seeded it first
		}
		st, err := exportSite(ctx, tx)
		if err != nil {
			return err
		}
		var changed sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT changed_ms FROM config_version WHERE id = 1`).Scan(&changed); err != nil {
			return err
		}
		applied := fromMS(changed)
		if applied.IsZero() {
			applied = s.now()
		}
		seeded = v
		return s.insertVersion(ctx, tx, st, "system", applied, Change{Version: v}, 0)
	})
	if err != nil {
		return s.errf("seed configuration version", err)
	}
	if seeded != 0 {
		s.log.Info("configuration version recorded", "version", seeded, "actor", "system")
	}
	return nil
}

// SaveDraft keeps st as login's unfinished edit, started from configuration
// version base, replacing the login's previous draft. A draft is not part
// of the configuration: saving bumps no version and writes no audit row.
// Secrets and users' password hashes are kept; plain passwords of users in
// st are not (they are only ever stored hashed), so a draft's new user needs
// its password entered again before the apply.
func (s *Store) SaveDraft(ctx context.Context, login string, base int64, st *site.Site) error {
	if login == "" {
		return errors.New("store: save draft: empty login")
	}
	if st == nil {
		return fmt.Errorf("store: save draft of %s: no site", login)
	}
	yml, hashes, err := encodeStored(st)
	if err != nil {
		return fmt.Errorf("store: save draft of %s: %w", login, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO drafts (login, base, site_yaml, user_hashes, updated_ms) VALUES (?,?,?,?,?)
			ON CONFLICT (login) DO UPDATE SET base = excluded.base, site_yaml = excluded.site_yaml,
			user_hashes = excluded.user_hashes, updated_ms = excluded.updated_ms`,
			login, base, yml, hashes, s.now().UnixMilli())
		return err
	})
	if err != nil {
		return s.errf("save draft of "+login, err)
	}
	return nil
}

// Draft returns login's draft: the version it started from, the site (which
// may no longer validate, if it names an object deleted since), and when it
// was last saved. ok is false, with no error, when the login has no draft.
func (s *Store) Draft(ctx context.Context, login string) (base int64, st *site.Site, updated time.Time, ok bool, err error) {
	var yml, hashes string
	var upd sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT base, site_yaml, user_hashes, updated_ms FROM drafts WHERE login = ?`, login).
		Scan(&base, &yml, &hashes, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, time.Time{}, false, nil
	}
	if err != nil {
		return 0, nil, time.Time{}, false, s.errf("read draft of "+login, err)
	}
	st, err = decodeStored([]byte(yml), hashes, "stored site")
	if err != nil {
		return 0, nil, time.Time{}, false, fmt.Errorf("store: draft of %s: %w", login, err)
	}
	return base, st, fromMS(upd), true, nil
}

// DeleteDraft removes login's draft; deleting a draft that does not exist
// is not an error, so the console may call it after every apply.
func (s *Store) DeleteDraft(ctx context.Context, login string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM drafts WHERE login = ?`, login)
		return err
	})
	if err != nil {
		return s.errf("delete draft of "+login, err)
	}
	return nil
}
