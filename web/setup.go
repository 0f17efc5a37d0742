package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"ringbox/firmware/auth"
)

// MinPasswordLen is the shortest admin password first-boot setup accepts.
const MinPasswordLen = 10

// weakPasswords are refused whatever their length, also with digits or
// punctuation around them ("Password123!").
var weakPasswords = map[string]bool{
	"password": true, "passw0rd": true, "admin": true, "administrator": true,
	"changeme": true, "ringbox": true, "letmein": true, "welcome": true,
	"qwerty": true, "qwertyuiop": true, "azerty": true, "azertyuiop": true,
	"secret": true, "default": true, "root": true, "iloveyou": true,
	"1234567890": true, "0123456789": true, "abcdefghij": true,
}

// CheckAdminPassword says why password is not good enough for the admin
// login, or returns nil.
func CheckAdminPassword(login, password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return errors.New("the password must have at least 10 characters")
	}
	lower := strings.ToLower(password)
	core := strings.TrimFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if weakPasswords[lower] || weakPasswords[core] {
		return errors.New("that password is one of the first an attacker tries: choose another")
	}
	if l := strings.ToLower(login); lower == l || core == l || strings.Contains(lower, l) && len(l) >= len(lower)/2 {
		return errors.New("the password must not be the login name")
	}
	if first, _ := utf8.DecodeRuneInString(password); strings.Count(password, string(first)) == utf8.RuneCountInString(password) {
		return errors.New("the password must not repeat a single character")
	}
	return nil
}

// CheckLoginName says why name is not a usable login, or returns nil.
func CheckLoginName(name string) error {
	if name == "" || len(name) > 64 {
		return errors.New("the login must have 1 to 64 characters")
	}
	for _, r := range name {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune("._-@", r)) {
			return errors.New("the login may hold only letters a-z, digits and . _ - @")
		}
	}
	return nil
}

// setupDoneMsg is what first-boot setup answers once it is over.
const setupDoneMsg = "setup is done: sign in"

// recoverAdminHint tells the operator of a box left without an admin how to
// get one back (docs/operator.md, "Recovering a lost admin").
const recoverAdminHint = "run `ringbox admin reset --login NAME` on the box's console (local shell) to set an admin's password"

// isSetupDone asks the authenticator whether first-boot setup is over
// (an admin exists or has existed), remembering a yes: it never goes back,
// and every page load asks.
func (s *Server) isSetupDone(ctx context.Context) (bool, error) {
	s.mu.Lock()
	known := s.adminSet
	s.mu.Unlock()
	if known {
		return true, nil
	}
	ok, err := s.cfg.Auth.SetupDone(ctx)
	if err != nil {
		return false, err
	}
	if ok {
		s.mu.Lock()
		s.adminSet = true
		s.mu.Unlock()
	}
	return ok, nil
}

// warnNoAdmin logs, when setup is done but no admin exists, that nobody can
// manage the box and how to recover: the first-boot page does not come back.
// At most once an hour: the setup endpoint needs no login, and a request
// must not be able to write a log line each.
func (s *Server) warnNoAdmin(ctx context.Context) {
	now := s.cfg.Now()
	s.mu.Lock()
	due := s.noAdminLogged.IsZero() || now.Sub(s.noAdminLogged) >= time.Hour
	if due {
		s.noAdminLogged = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if ok, err := s.cfg.Auth.HasAdmin(ctx); err == nil && !ok {
		s.log.Error("no admin exists, and first-boot setup stays closed because one existed: " + recoverAdminHint)
	}
}

func (s *Server) setupStatus(w http.ResponseWriter, r *http.Request) {
	done, err := s.isSetupDone(r.Context())
	if err != nil {
		s.log.Error("read whether setup is done", "err", err)
		WriteError(w, http.StatusInternalServerError, "authentication is unavailable")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]bool{"needed": !done})
}

type setupRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	// Confirm, when sent, must equal Password (the form asks twice).
	Confirm string `json:"confirm,omitempty"`
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Ask the authenticator, not the cache: this decides who owns the box.
	// Setup is over once an admin has existed, even if none is left: the
	// box is not anybody's on the network to claim.
	done, err := s.cfg.Auth.SetupDone(ctx)
	if err != nil {
		s.log.Error("read whether setup is done", "err", err)
		WriteError(w, http.StatusInternalServerError, "authentication is unavailable")
		return
	}
	if done {
		s.warnNoAdmin(ctx)
		WriteError(w, http.StatusConflict, setupDoneMsg)
		return
	}
	var req setupRequest
	if err := DecodeJSON(r, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	if err := CheckLoginName(req.Login); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Confirm != "" && req.Confirm != req.Password {
		WriteError(w, http.StatusBadRequest, "the two passwords differ")
		return
	}
	if err := CheckAdminPassword(req.Login, req.Password); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.cfg.Auth.CreateFirstAdmin(ctx, req.Login, req.Password); err != nil {
		if errors.Is(err, auth.ErrAdminExists) {
			WriteError(w, http.StatusConflict, setupDoneMsg)
			return
		}
		s.log.Error("create first admin", "login", req.Login, "err", err)
		WriteError(w, http.StatusInternalServerError, "could not create the admin")
		return
	}
	s.log.Info("first admin created", "login", req.Login, "ip", clientIP(r))
	s.mu.Lock()
	s.adminSet = true
	s.mu.Unlock()
	// The store, not this handler, says what the new user is.
	p, err := s.cfg.Auth.CheckPassword(ctx, req.Login, req.Password)
	if err != nil {
		s.log.Error("log in new admin", "login", req.Login, "err", err)
		WriteError(w, http.StatusInternalServerError, "admin created, but logging in failed: use the login page")
		return
	}
	s.startSession(w, r, p, http.StatusCreated)
}
