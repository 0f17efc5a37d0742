// Package auth names who is using the web page or the API, and what their
// role lets them do. The store keeps users, sessions and API tokens; the web
// server asks it through [Authenticator].
package auth

import (
	"context"
	"errors"
)

// Roles, most powerful first.
const (
	Admin   = "admin"
	Manager = "manager"
	Agent   = "agent"
)

// Principal is an authenticated user or API token.
type Principal struct {
	Login string // user login, or "token:NAME" for API tokens
	Role  string
	Agent string // the agent id of an agent or manager user, if any
}

// Errors an Authenticator returns.
var (
	ErrInvalid     = errors.New("auth: invalid credentials")
	ErrAdminExists = errors.New("auth: an admin already exists")
)

// Authenticator checks credentials. All methods return ErrInvalid for an
// unknown user, a wrong password or an unknown/expired token alike.
type Authenticator interface {
	HasAdmin(ctx context.Context) (bool, error)
	// SetupDone reports whether first-boot setup is over: an admin exists
	// or has ever existed. Once true it stays true (until a factory reset
	// erases the box's data).
	SetupDone(ctx context.Context) (bool, error)
	// CreateFirstAdmin creates the admin user on first boot; it fails with
	// ErrAdminExists once setup is done (SetupDone), even when no admin
	// exists any more.
	CreateFirstAdmin(ctx context.Context, login, password string) error
	CheckPassword(ctx context.Context, login, password string) (Principal, error)
	CreateSession(ctx context.Context, p Principal) (token string, err error)
	Session(ctx context.Context, token string) (Principal, error)
	DeleteSession(ctx context.Context, token string) error
	Token(ctx context.Context, plain string) (Principal, error)
}

// Allows reports whether role may do what needs role need: admin may do
// everything, manager what managers and agents may, agent only agent things.
func Allows(role, need string) bool {
	return rank(role) >= rank(need) && rank(need) > 0
}

func rank(role string) int {
	switch role {
	case Admin:
		return 3
	case Manager:
		return 2
	case Agent:
		return 1
	}
	return 0
}
