package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ringbox/firmware/auth"
	"ringbox/firmware/site"
)

var _ auth.Authenticator = (*Store)(nil)

// TokenPrefix starts every API token, so a leaked one is easy to grep for.
const TokenPrefix = "rbx_"

func validRole(role string) bool {
	return role == auth.Admin || role == auth.Manager || role == auth.Agent
}

func tokenHash(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashPassword returns the bcrypt hash the store keeps for a web user's
// password, so that a draft (the console's) can hold a new password without
// ever storing it in plain.
func (s *Store) HashPassword(password string) (string, error) { return s.hash(password) }

func (s *Store) hash(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// HasAdmin reports whether any admin user exists (first-boot setup shows
// until one does).
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	ok, err := hasAdmin(ctx, s.r)
	if err != nil {
		return false, s.errf("read users", err)
	}
	return ok, nil
}

func hasAdmin(ctx context.Context, q querier) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')`).Scan(&ok)
	return ok, err
}

// ResetAdmin makes login an admin with password, from the box's console
// (`ringbox admin reset`): an existing user of that login becomes an admin
// and gets the new password (its agent and sessions are kept); otherwise a
// new admin is created. It is how a box left without a usable admin is
// recovered, since first-boot setup never comes back ([Store.SetupDone]).
// It reports whether the user was created. actor is for the audit row.
func (s *Store) ResetAdmin(ctx context.Context, login, password, actor string) (created bool, err error) {
	if login == "" {
		return false, errors.New("store: reset admin: empty login")
	}
	h, err := s.hash(password)
	if err != nil {
		return false, fmt.Errorf("store: reset admin %s: %w", login, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		created = false
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = 'admin', password_hash = ? WHERE login = ?`, h, login)
		if err != nil {
			return err
		}
		kc := KindChange{Kind: "users", Changed: []string{login}}
		if n, _ := res.RowsAffected(); n == 0 {
			created = true
			if err := s.insertUser(ctx, tx, login, auth.Admin, "", h); err != nil {
				return err
			}
			kc = KindChange{Kind: "users", Added: []string{login}}
		}
		if err := s.bumpRecorded(ctx, tx, actor, kc); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, AuditEntry{Actor: actor, Action: "user.reset_admin", Object: "user:" + login,
			Detail: fmt.Sprintf(`{"created":%t}`, created)})
	})
	if err != nil {
		return false, fmt.Errorf("store: reset admin %s in %s: %w", login, s.path, err)
	}
	return created, nil
}

// CreateFirstAdmin creates the first admin user; once any admin exists, or
// one has ever existed ([Store.SetupDone]), it returns auth.ErrAdminExists:
// a box whose admin went missing is not anybody's to claim. The check and
// the insert share one write transaction, so two browsers racing through
// first-boot setup cannot both win.
func (s *Store) CreateFirstAdmin(ctx context.Context, login, password string) error {
	if login == "" {
		return errors.New("store: create admin: empty login")
	}
	h, err := s.hash(password)
	if err != nil {
		return fmt.Errorf("store: create admin %s: %w", login, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		done, err := setupDone(ctx, tx)
		if err != nil {
			return err
		}
		if done {
			return auth.ErrAdminExists
		}
		if err := s.insertUser(ctx, tx, login, auth.Admin, "", h); err != nil {
			return err
		}
		if err := s.bumpRecorded(ctx, tx, login, KindChange{Kind: "users", Added: []string{login}}); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, AuditEntry{Actor: login, Action: "user.create_first_admin", Object: "user:" + login})
	})
	if errors.Is(err, auth.ErrAdminExists) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: create admin %s in %s: %w", login, s.path, err)
	}
	return nil
}

func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, login, role, agent, hash string) error {
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE login = ?)`, login).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("user %s: %w", login, ErrExists)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO users (login, pos, role, agent_id, password_hash)
		VALUES (?, (SELECT coalesce(max(pos), -1) + 1 FROM users), ?, ?, ?)`, login, role, nullStr(agent), hash)
	return err
}

// CreateUser adds a web user. agent may be "" or an existing agent id. It
// bumps the config version (users are part of the site); the caller writes
// the audit row, since it knows who acted.
func (s *Store) CreateUser(ctx context.Context, login, role, agent, password string) error {
	if login == "" {
		return errors.New("store: create user: empty login")
	}
	if !validRole(role) {
		return fmt.Errorf("store: create user %s: unknown role %q (admin, manager or agent)", login, role)
	}
	h, err := s.hash(password)
	if err != nil {
		return fmt.Errorf("store: create user %s: %w", login, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		had, err := hasAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.insertUser(ctx, tx, login, role, agent, h); err != nil {
			return err
		}
		if role == auth.Admin {
			if err := s.markAdminStored(ctx, tx, had, "system", login, "user created"); err != nil {
				return err
			}
		}
		return s.bumpRecorded(ctx, tx, "system", KindChange{Kind: "users", Added: []string{login}})
	})
	if err != nil {
		return fmt.Errorf("store: create user %s in %s: %w", login, s.path, err)
	}
	return nil
}

// SetPassword replaces a user's password. It returns ErrNotFound for an
// unknown login.
func (s *Store) SetPassword(ctx context.Context, login, password string) error {
	h, err := s.hash(password)
	if err != nil {
		return fmt.Errorf("store: set password of %s: %w", login, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE login = ?`, h, login)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %s: %w", login, ErrNotFound)
		}
		return s.bumpRecorded(ctx, tx, "system", KindChange{Kind: "users", Changed: []string{login}})
	})
	if err != nil {
		return fmt.Errorf("store: set password of %s in %s: %w", login, s.path, err)
	}
	return nil
}

// ListUsers returns the web users in site order, without password hashes.
func (s *Store) ListUsers(ctx context.Context) ([]site.User, error) {
	var out []site.User
	err := rowsEach(ctx, s.r, `SELECT login, role, coalesce(agent_id, '') FROM users ORDER BY pos, login`, func(r *sql.Rows) error {
		var u site.User
		if err := r.Scan(&u.Login, &u.Role, &u.Agent); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	if err != nil {
		return nil, s.errf("list users", err)
	}
	return out, nil
}

// CheckPassword returns the user's principal, or auth.ErrInvalid for an
// unknown login and a wrong password alike. An unknown login still costs a
// bcrypt comparison, so the answer's timing does not reveal which logins
// exist.
func (s *Store) CheckPassword(ctx context.Context, login, password string) (auth.Principal, error) {
	var p auth.Principal
	var h string
	err := s.r.QueryRowContext(ctx, `SELECT login, role, coalesce(agent_id, ''), password_hash FROM users WHERE login = ?`, login).
		Scan(&p.Login, &p.Role, &p.Agent, &h)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return auth.Principal{}, auth.ErrInvalid
	}
	if err != nil {
		return auth.Principal{}, s.errf("check password", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) != nil {
		return auth.Principal{}, auth.ErrInvalid
	}
	return p, nil
}

// dummy is a bcrypt hash of nothing anyone types, at the same cost as real
// ones.
func (s *Store) dummy() []byte {
	s.dummyOnce.Do(func() {
		pw, _ := randomToken()
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(pw), s.bcryptCost)
	})
	return s.dummyHash
}

// CreateSession starts a web session for a user and returns its token (32
// random bytes, base64url) for the cookie. Only the token's SHA-256 is
// stored. The session expires SessionTTL after its last use.
func (s *Store) CreateSession(ctx context.Context, p auth.Principal) (string, error) {
	tok, err := randomToken()
	if err != nil {
		return "", fmt.Errorf("store: create session: %w", err)
	}
	now := s.now()
	_, err = s.w.ExecContext(ctx, `INSERT INTO sessions (hash, login, created_ms, expires_ms) VALUES (?,?,?,?)`,
		tokenHash(tok), p.Login, now.UnixMilli(), now.Add(SessionTTL).UnixMilli())
	if err != nil {
		return "", fmt.Errorf("store: create session for %s in %s: %w", p.Login, s.path, err)
	}
	// Sweep expired sessions now and then; they are refused anyway.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_ms < ?`, now.UnixMilli()); err != nil {
		s.log.Warn("sweep sessions", "err", err)
	}
	return tok, nil
}

// sessionSlack limits how often a used session's expiry is written: at most
// once a minute per session, not on every request.
const sessionSlack = time.Minute

// Session returns the principal of a live session, with the user's current
// role and agent, and pushes its expiry out. Unknown and expired tokens give
// auth.ErrInvalid.
func (s *Store) Session(ctx context.Context, token string) (auth.Principal, error) {
	if token == "" {
		return auth.Principal{}, auth.ErrInvalid
	}
	h := tokenHash(token)
	var p auth.Principal
	var expires int64
	err := s.r.QueryRowContext(ctx, `SELECT u.login, u.role, coalesce(u.agent_id, ''), s.expires_ms
		FROM sessions s JOIN users u ON u.login = s.login WHERE s.hash = ?`, h).Scan(&p.Login, &p.Role, &p.Agent, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Principal{}, auth.ErrInvalid
	}
	if err != nil {
		return auth.Principal{}, s.errf("read session", err)
	}
	now := s.now()
	if now.UnixMilli() >= expires {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, h); err != nil {
			s.log.Warn("delete expired session", "err", err)
		}
		return auth.Principal{}, auth.ErrInvalid
	}
	if next := now.Add(SessionTTL).UnixMilli(); next-expires >= sessionSlack.Milliseconds() {
		if _, err := s.w.ExecContext(ctx, `UPDATE sessions SET expires_ms = ? WHERE hash = ?`, next, h); err != nil {
			return auth.Principal{}, fmt.Errorf("store: extend session in %s: %w", s.path, err)
		}
	}
	return p, nil
}

// DeleteSession ends a session (logout). Deleting an unknown or expired
// session is not an error: the user is logged out either way.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, tokenHash(token)); err != nil {
		return fmt.Errorf("store: delete session in %s: %w", s.path, err)
	}
	return nil
}

// TokenInfo describes an API token; the token itself is never stored.
type TokenInfo struct {
	Name     string
	Role     string
	Created  time.Time
	LastUsed time.Time // zero: never used
}

// CreateToken creates an API token and returns it. It is shown this once:
// only its SHA-256 is stored. The token is "rbx_" followed by 32 random
// bytes in base64url. A taken name gives ErrExists.
func (s *Store) CreateToken(ctx context.Context, name, role string) (string, error) {
	if name == "" {
		return "", errors.New("store: create token: empty name")
	}
	if !validRole(role) {
		return "", fmt.Errorf("store: create token %s: unknown role %q (admin, manager or agent)", name, role)
	}
	tok, err := randomToken()
	if err != nil {
		return "", fmt.Errorf("store: create token %s: %w", name, err)
	}
	plain := TokenPrefix + tok
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM api_tokens WHERE name = ?)`, name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("token %s: %w", name, ErrExists)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (name, role, hash, created_ms) VALUES (?,?,?,?)`,
			name, role, tokenHash(plain), s.now().UnixMilli())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create token %s in %s: %w", name, s.path, err)
	}
	return plain, nil
}

// Token returns the principal of an API token: Login "token:NAME" and the
// token's role. Unknown and revoked tokens give auth.ErrInvalid.
func (s *Store) Token(ctx context.Context, plain string) (auth.Principal, error) {
	if !strings.HasPrefix(plain, TokenPrefix) {
		return auth.Principal{}, auth.ErrInvalid
	}
	h := tokenHash(plain)
	var name, role string
	var last sql.NullInt64
	// The lookup is by hash: timing tells an attacker about hashes of their
	// guesses, not about the token.
	err := s.r.QueryRowContext(ctx, `SELECT name, role, last_used_ms FROM api_tokens WHERE hash = ?`, h).
		Scan(&name, &role, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Principal{}, auth.ErrInvalid
	}
	if err != nil {
		return auth.Principal{}, s.errf("read token", err)
	}
	now := s.now()
	if !last.Valid || now.UnixMilli()-last.Int64 >= sessionSlack.Milliseconds() {
		if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_ms = ? WHERE name = ?`, now.UnixMilli(), name); err != nil {
			s.log.Warn("record token use", "token", name, "err", err)
		}
	}
	return auth.Principal{Login: "token:" + name, Role: role}, nil
}

// ListTokens returns the API tokens by name.
func (s *Store) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	var out []TokenInfo
	err := rowsEach(ctx, s.r, `SELECT name, role, created_ms, last_used_ms FROM api_tokens ORDER BY name`, func(r *sql.Rows) error {
		var t TokenInfo
		var created int64
		var last sql.NullInt64
		if err := r.Scan(&t.Name, &t.Role, &created, &last); err != nil {
			return err
		}
		t.Created, t.LastUsed = time.UnixMilli(created).UTC(), fromMS(last)
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, s.errf("list tokens", err)
	}
	return out, nil
}

// RevokeToken deletes an API token; ErrNotFound if there is none by name.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("store: revoke token %s in %s: %w", name, s.path, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: revoke token %s: %w", name, ErrNotFound)
	}
	return nil
}

// bumpRecorded bumps the configuration version for a change made outside
// an import (a user created, a password set) and records the new version
// like an import does, so that every version a console draft can start
// from is in the history.
func (s *Store) bumpRecorded(ctx context.Context, tx *sql.Tx, actor string, kc KindChange) error {
	v, err := s.bumpConfig(ctx, tx)
	if err != nil {
		return err
	}
	st, err := exportSite(ctx, tx)
	if err != nil {
		return err
	}
	return s.insertVersion(ctx, tx, st, actor, s.now(), Change{Version: v, Kinds: []KindChange{kc}}, 0)
}
