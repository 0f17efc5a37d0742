package web

// The audit log's API, and the audit of web requests refused for role or
// scope (403). The rows are written through an audit.Log, which bounds
// them per user and per hour (firmware/audit), so a script hammering a
// forbidden route cannot fill the disk.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ringbox/firmware/audit"
	"ringbox/firmware/auth"
	"ringbox/firmware/store"
)

// ActionWebForbidden is the audit action of a web request refused 403.
const ActionWebForbidden = "web.forbidden"

// AuditStore is the store's audit log as the web server reads and writes it.
type AuditStore interface {
	audit.Inserter
	ListAuditFilter(ctx context.Context, f store.AuditFilter) ([]store.AuditRow, error)
}

// Audit is the audit log's wiring: where it is and how refusals are
// bounded.
type Audit struct {
	Store   AuditStore
	Limiter *audit.Limiter // nil: the defaults
	Logger  *slog.Logger   // nil: the server's
}

// Audit registers GET /api/v1/audit (admins) and writes every web
// request refused 403 (role, scope, cross-site) to the audit log.
func (s *Server) Audit(a *Audit) {
	if a.Limiter == nil {
		a.Limiter = &audit.Limiter{}
	}
	log := s.log
	if a.Logger != nil {
		log = a.Logger.With("pkg", "web")
	}
	s.mu.Lock()
	s.auditLog = &audit.Log{Store: a.Store, Limiter: a.Limiter, Logger: log, Now: s.cfg.Now}
	s.auditStore = a.Store
	s.mu.Unlock()
	s.HandleRoute(Route{Method: "GET", Path: "/api/v1/audit", Role: auth.Admin, Section: "settings",
		Summary: "The audit log, newest first: changes, refused web requests (web.forbidden), refused calls (call.forbidden, tollfraud.*, disa.*), bans (?kind, from, to RFC 3339, limit, offset)",
		Handler: http.HandlerFunc(s.apiAudit)})
}

// auditEntryJSON is one row of GET /api/v1/audit. Kind is the row's
// action: open-ended, named by whoever writes the log.
type auditEntryJSON struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Object string    `json:"object"`
	Detail string    `json:"detail"`
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f store.AuditFilter
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				WriteError(w, http.StatusBadRequest, p.name+": want an RFC 3339 time like 2026-05-04T13:30:00Z")
				return
			}
			*p.to = t
		}
	}
	f.Kind = strings.TrimSpace(q.Get("kind"))
	for _, p := range []struct {
		name string
		to   *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				WriteError(w, http.StatusBadRequest, p.name+": want a whole number, 0 or more")
				return
			}
			*p.to = n
		}
	}
	if f.Limit > store.MaxAuditLimit {
		WriteError(w, http.StatusBadRequest, "limit: at most "+strconv.Itoa(store.MaxAuditLimit))
		return
	}
	rows, err := s.auditStore.ListAuditFilter(r.Context(), f)
	if err != nil {
		WriteInternalError(w, r, s.log, err)
		return
	}
	out := make([]auditEntryJSON, 0, len(rows))
	for _, e := range rows {
		out = append(out, auditEntryJSON{ID: e.ID, Time: e.Time, Kind: e.Action, Actor: e.Actor, Object: e.Object, Detail: e.Detail})
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}

// auditForbidden writes a request the server answered 403 to the audit
// log: who, what, and the answer's reason. Called by the middleware once
// the answer is out.
func (s *Server) auditForbidden(r *http.Request, login, pageReason string, body []byte) {
	s.mu.Lock()
	a := s.auditLog
	s.mu.Unlock()
	if a == nil {
		return
	}
	reason := "forbidden"
	var v struct{ Error string }
	switch {
	case json.Unmarshal(body, &v) == nil && v.Error != "":
		reason = v.Error
	case pageReason != "":
		reason = pageReason
	}
	actor := login
	if actor == "" {
		actor = "anonymous"
	}
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	a.Refused(ctx, actor, store.AuditEntry{Actor: actor, Action: ActionWebForbidden, Object: r.Method + " " + r.URL.Path,
		Detail: reason + " (from " + ip + ")"})
}
