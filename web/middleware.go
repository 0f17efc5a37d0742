package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// securityHeaders go on every response. The CSP allows no inline script or
// style: all of it is in embedded files under /static/.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"X-Frame-Options":        "DENY",
	// No Strict-Transport-Security: the box's certificate is self-signed, and
	// HSTS would forbid the click-through if it ever changes.
}

type infoKey struct{}

// reqInfo carries what inner handlers learn (the principal) out to the
// request log.
type reqInfo struct {
	login  string
	reason string // why a page (not JSON) was refused 403, for the audit log
	logged bool   // a 5xx answer was already logged with its cause
}

func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// middleware wraps the mux: security headers, panic recovery, metrics and
// the request log.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		for k, v := range securityHeaders {
			h.Set(k, v)
		}
		info := &reqInfo{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "method", r.Method, "route", r.Pattern, "panic", fmt.Sprint(v))
				if sw.status == 0 {
					WriteError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			route := routeLabel(r.Pattern)
			if status >= 500 && !info.logged {
				// Every 5xx the box answers is logged with its reason (the
				// answer's error text), rate-limited like WriteInternalError.
				if n, ok := internalLogs.allow(time.Now()); ok {
					s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status,
						"reason", strings.TrimSpace(string(sw.body)), "suppressed", n)
				}
			}
			if status == http.StatusForbidden {
				// Refused for role, scope or origin: an attempt the
				// audit log keeps (rate-limited, audit.go).
				s.auditForbidden(r, info.login, info.reason, sw.body)
			}
			metrics.GetOrCreateCounter(fmt.Sprintf(`ringbox_http_requests_total{route=%q,code="%dxx"}`, route, status/100)).Inc()
			metrics.GetOrCreateHistogram(fmt.Sprintf(`ringbox_http_request_duration_seconds{route=%q}`, route)).Update(d.Seconds())
			// Never the headers: they hold tokens and cookies.
			s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "route", route,
				"status", status, "duration", d, "login", info.login)
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeLabel bounds the metrics' route label to registered patterns.
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}

// statusWriter remembers the status code and, for a 5xx or a 403, the
// start of the body (the reason, for the log and the audit log). Unwrap lets http.ResponseController
// reach Flush and write deadlines underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if (w.status >= 500 || w.status == http.StatusForbidden) && len(w.body) < 256 {
		w.body = append(w.body, b[:min(len(b), 256-len(w.body))]...)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metrics serves cfg.Metrics to loopback callers, and to others that show
// an API token of any role. On the box the web port faces the LAN only.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r) {
		hdr := r.Header.Get("Authorization")
		scheme, tok, _ := strings.Cut(hdr, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ringbox"`)
			WriteError(w, http.StatusUnauthorized, "metrics need Authorization: Bearer <token> from outside the box")
			return
		}
		p, err := s.cfg.Auth.Token(r.Context(), tok)
		if err != nil {
			aerr := s.credError(err, "invalid or expired API token")
			WriteError(w, aerr.status, aerr.msg)
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.login = p.Login
		}
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
