package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/events"
)

// CookieName is the session cookie.
const CookieName = "rbx_session"

// Login rate limiting: after loginMaxFails failures from one address within
// loginWindow, that address gets 429 for loginBlock.
const (
	loginMaxFails = 5
	loginWindow   = 5 * time.Minute
	loginBlock    = 5 * time.Minute
)

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of an API handler
// registered with [Server.Handle].
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// principalJSON is how the API shows a principal.
type principalJSON struct {
	Login string `json:"login"`
	Role  string `json:"role"`
	Agent string `json:"agent"`
}

func toJSON(p auth.Principal) principalJSON {
	return principalJSON{Login: p.Login, Role: p.Role, Agent: p.Agent}
}

type credential int

const (
	viaBearer credential = iota + 1
	viaCookie
)

// authError is why a request is not authenticated.
type authError struct {
	status int
	msg    string
}

// authenticate finds the caller: a bearer token if an Authorization header
// is present (a bad token is not rescued by a cookie), else the session
// cookie.
func (s *Server) authenticate(r *http.Request) (auth.Principal, credential, *authError) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return auth.Principal{}, 0, &authError{http.StatusUnauthorized, "Authorization header must be \"Bearer <token>\""}
		}
		p, err := s.cfg.Auth.Token(ctx, tok)
		if err != nil {
			return auth.Principal{}, 0, s.credError(err, "invalid or expired API token")
		}
		return p, viaBearer, nil
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		p, err := s.cfg.Auth.Session(ctx, c.Value)
		if err != nil {
			return auth.Principal{}, 0, s.credError(err, "session expired or invalid: log in again")
		}
		return p, viaCookie, nil
	}
	return auth.Principal{}, 0, &authError{http.StatusUnauthorized, "authentication required: log in or send Authorization: Bearer <token>"}
}

func (s *Server) credError(err error, msg string) *authError {
	if errors.Is(err, auth.ErrInvalid) {
		return &authError{http.StatusUnauthorized, msg}
	}
	s.log.Error("authenticator failed", "err", err)
	return &authError{http.StatusInternalServerError, "authentication is unavailable"}
}

// guard wraps a route's handler with authentication, the role check and
// CSRF protection.
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.public {
			if rt.laxCSRF {
				if err := s.cop.Check(r); err != nil {
					WriteError(w, http.StatusForbidden, "cross-origin request refused")
					return
				}
			}
			rt.Handler.ServeHTTP(w, r)
			return
		}
		p, how, aerr := s.authenticate(r)
		if aerr != nil {
			if aerr.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ringbox"`)
			}
			WriteError(w, aerr.status, aerr.msg)
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.login = p.Login
		}
		if how == viaCookie && !s.sameOrigin(r) {
			WriteError(w, http.StatusForbidden, "cross-site request refused: send the header X-Requested-With: ringbox")
			return
		}
		if rt.Role != "" && !auth.Allows(p.Role, rt.Role) {
			WriteError(w, http.StatusForbidden, fmt.Sprintf("this needs the %s role; you are %s", rt.Role, p.Role))
			return
		}
		rt.Handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// sameOrigin reports whether a cookie-authenticated request may change
// state. Safe methods may; others need proof they come from Ringbox's own
// pages: the X-Requested-With header (which a cross-site form cannot send
// and cross-site scripts cannot send without a CORS preflight Ringbox never
// grants), or the browser's own Sec-Fetch-Site/Origin saying same-origin.
// A request with none of these is refused, unlike http.CrossOriginProtection,
// which lets header-less clients through.
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if r.Header.Get("X-Requested-With") == "ringbox" {
		return true
	}
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		return false
	}
	return s.cop.Check(r) == nil
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   r.TLS != nil,
	}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	if wait, blocked := s.limiter.blocked(ip); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		WriteError(w, http.StatusTooManyRequests, "too many failed logins from your address: try again later")
		return
	}
	var req loginRequest
	if err := DecodeJSON(r, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	if req.Login == "" || req.Password == "" {
		WriteError(w, http.StatusBadRequest, "login and password are required")
		return
	}
	p, err := s.cfg.Auth.CheckPassword(r.Context(), req.Login, req.Password)
	if err != nil {
		if !errors.Is(err, auth.ErrInvalid) {
			s.log.Error("check password", "login", logName(req.Login), "err", err)
			WriteError(w, http.StatusInternalServerError, "authentication is unavailable")
			return
		}
		nowBlocked := s.limiter.fail(ip)
		s.log.Warn("login failed", "login", logName(req.Login), "ip", ip, "blocked", nowBlocked)
		WriteError(w, http.StatusUnauthorized, "wrong login or password")
		return
	}
	s.startSession(w, r, p, http.StatusOK)
}

// startSession creates a session for p, sets its cookie and announces it.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, p auth.Principal, status int) {
	// A login replaces the browser's previous session rather than leaving
	// it valid behind the new cookie.
	if old, err := r.Cookie(CookieName); err == nil && old.Value != "" {
		_ = s.cfg.Auth.DeleteSession(r.Context(), old.Value)
	}
	tok, err := s.cfg.Auth.CreateSession(r.Context(), p)
	if err != nil {
		s.log.Error("create session", "login", p.Login, "err", err)
		WriteError(w, http.StatusInternalServerError, "could not create a session")
		return
	}
	s.setCookie(w, r, tok)
	if info := infoFrom(r.Context()); info != nil {
		info.login = p.Login
	}
	ip := clientIP(r)
	s.log.Info("login", "login", p.Login, "role", p.Role, "ip", ip)
	s.cfg.Bus.Publish(events.UserLogin{Login: p.Login, Role: p.Role, IP: ip})
	WriteJSON(w, status, toJSON(p))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !s.sameOrigin(r) {
		WriteError(w, http.StatusForbidden, "cross-site request refused: send the header X-Requested-With: ringbox")
		return
	}
	if err := s.cfg.Auth.DeleteSession(r.Context(), c.Value); err != nil && !errors.Is(err, auth.ErrInvalid) {
		s.log.Error("delete session", "err", err)
		WriteError(w, http.StatusInternalServerError, "could not end the session")
		return
	}
	s.setCookie(w, r, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	WriteJSON(w, http.StatusOK, toJSON(p))
}

func writeDecodeError(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		WriteError(w, re.Status, re.Msg)
		return
	}
	WriteError(w, http.StatusBadRequest, err.Error())
}

// clientIP is the peer's address. Forwarding headers are not trusted: the
// box serves its LAN directly.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logName bounds a client-supplied login name before it is logged.
func logName(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// limiter counts failed logins per address.
type limiter struct {
	now    func() time.Time
	max    int
	window time.Duration
	block  time.Duration

	mu sync.Mutex // protects following
	m  map[string]*attempts
}

type attempts struct {
	fails []time.Time // within window, oldest first
	until time.Time   // blocked until
}

// limiterSweepAt is the table size at which stale entries are dropped, so
// a scan from many addresses cannot grow it without bound.
const limiterSweepAt = 4096

func newLimiter(now func() time.Time, max int, window, block time.Duration) *limiter {
	return &limiter{now: now, max: max, window: window, block: block, m: make(map[string]*attempts)}
}

// blocked reports whether ip is blocked, and for how much longer.
func (l *limiter) blocked(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.m[ip]
	if a == nil {
		return 0, false
	}
	if d := a.until.Sub(l.now()); d > 0 {
		return d, true
	}
	return 0, false
}

// fail records a failed login from ip and reports whether ip is now blocked.
func (l *limiter) fail(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= limiterSweepAt {
		l.sweepLocked(now)
	}
	a := l.m[ip]
	if a == nil {
		a = &attempts{}
		l.m[ip] = a
	}
	a.fails = append(pruneLocked(a.fails, now.Add(-l.window)), now)
	if len(a.fails) >= l.max {
		a.until = now.Add(l.block)
		a.fails = a.fails[:0]
		return true
	}
	return false
}

func pruneLocked(fails []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(fails) && !fails[i].After(since) {
		i++
	}
	return append(fails[:0], fails[i:]...)
}

func (l *limiter) sweepLocked(now time.Time) {
	for ip, a := range l.m {
		a.fails = pruneLocked(a.fails, now.Add(-l.window))
		if len(a.fails) == 0 && !a.until.After(now) {
			delete(l.m, ip)
		}
	}
}
