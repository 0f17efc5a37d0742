// Package webtest provides an in-memory [auth.Authenticator] for tests of
// the web server and of the API handlers other packages register on it.
//
// It keeps plain passwords in memory: it is for tests only.
package webtest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"sync"

	"ringbox/firmware/auth"
)

// Auth is an in-memory Authenticator. The zero value is not usable; call
// [NewAuth].
type Auth struct {
	mu       sync.Mutex // protects following
	users    map[string]user
	sessions map[string]auth.Principal
	tokens   map[string]auth.Principal
	hadAdmin bool // an admin has existed (SetupDone)
}

type user struct {
	password string
	p        auth.Principal
}

var _ auth.Authenticator = (*Auth)(nil)

// NewAuth returns an authenticator with no users: a box on first boot.
func NewAuth() *Auth {
	return &Auth{
		users:    make(map[string]user),
		sessions: make(map[string]auth.Principal),
		tokens:   make(map[string]auth.Principal),
	}
}

// AddUser adds or replaces a user.
func (a *Auth) AddUser(login, password, role, agent string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[login] = user{password: password, p: auth.Principal{Login: login, Role: role, Agent: agent}}
	a.hadAdmin = a.hadAdmin || role == auth.Admin
}

// RemoveUser deletes a user, as an import of an older firmware could
// delete the admin.
func (a *Auth) RemoveUser(login string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, login)
}

// AddToken makes plain an API token for p.
func (a *Auth) AddToken(plain string, p auth.Principal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[plain] = p
}

// Sessions is how many sessions are open.
func (a *Auth) Sessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

// HasAdmin implements auth.Authenticator.
func (a *Auth) HasAdmin(ctx context.Context) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hasAdminLocked(), nil
}

func (a *Auth) hasAdminLocked() bool {
	for _, u := range a.users {
		if u.p.Role == auth.Admin {
			return true
		}
	}
	return false
}

// SetupDone implements auth.Authenticator.
func (a *Auth) SetupDone(ctx context.Context) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hadAdmin || a.hasAdminLocked(), nil
}

// CreateFirstAdmin implements auth.Authenticator.
func (a *Auth) CreateFirstAdmin(ctx context.Context, login, password string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hadAdmin || a.hasAdminLocked() {
		return auth.ErrAdminExists
	}
	a.users[login] = user{password: password, p: auth.Principal{Login: login, Role: auth.Admin}}
	a.hadAdmin = true
	return nil
}

// CheckPassword implements auth.Authenticator.
func (a *Auth) CheckPassword(ctx context.Context, login, password string) (auth.Principal, error) {
	a.mu.Lock()
	u, ok := a.users[login]
	a.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) != 1 {
		return auth.Principal{}, auth.ErrInvalid
	}
	return u.p, nil
}

// CreateSession implements auth.Authenticator.
func (a *Auth) CreateSession(ctx context.Context, p auth.Principal) (string, error) {
	tok := rand.Text()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[tok] = p
	return tok, nil
}

// Session implements auth.Authenticator.
func (a *Auth) Session(ctx context.Context, token string) (auth.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.sessions[token]
	if !ok {
		return auth.Principal{}, auth.ErrInvalid
	}
	return p, nil
}

// DeleteSession implements auth.Authenticator.
func (a *Auth) DeleteSession(ctx context.Context, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.sessions[token]; !ok {
		return auth.ErrInvalid
	}
	delete(a.sessions, token)
	return nil
}

// Token implements auth.Authenticator.
func (a *Auth) Token(ctx context.Context, plain string) (auth.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.tokens[plain]
	if !ok {
		return auth.Principal{}, auth.ErrInvalid
	}
	return p, nil
}
