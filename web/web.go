// Package web is Ringbox's HTTP face: the JSON API under /api/v1/, the
// server-rendered UI, the live event stream and the metrics endpoint, all on
// one handler.
//
// The server owns authentication and roles. Other packages register their
// API routes with [Server.Handle] or [Server.HandleRoute], naming the least
// role a caller needs; the server checks the caller (bearer token or session
// cookie), the role and, for cookie-authenticated state changes, that the
// request came from Ringbox's own pages. Handlers find the caller with
// [PrincipalFrom].
//
// # Routes the server itself serves
//
//	GET    /api/v1/health        no auth: status, version, uptime
//	POST   /api/v1/session       log in (login, password): sets the rbx_session cookie
//	DELETE /api/v1/session       log out
//	GET    /api/v1/me            who am I
//	GET    /api/v1/setup         no auth: whether first-boot setup is still needed
//	POST   /api/v1/setup         no auth, first boot only: create the admin and log in
//	GET    /api/v1/events        Server-Sent Events from the event bus
//	GET    /api/v1/openapi.json  OpenAPI 3.1 document of every registered route
//	GET    /metrics              Prometheus text; loopback or a bearer token
//	GET    /, /login, /setup, /calls, /queues, ...  the UI
//
// Anonymous callers get 401 for every other /api/v1/ path, registered or
// not, so the API's shape is not revealed to them; authenticated callers get
// 404 or 405 for what does not exist.
//
// # First boot
//
// While the authenticator reports no admin, every UI page redirects to
// /setup, which creates the first admin. There is no default password.
//
// # Shutdown
//
// [http.Server.Shutdown] does not end streaming responses, so register
// [Server.Close] with [http.Server.RegisterOnShutdown]: it ends every open
// event stream.
package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/audit"
	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// Config is what a [Server] needs. Auth is required; the rest have defaults.
type Config struct {
	Auth    auth.Authenticator
	Bus     *events.Bus // nil: a private bus (login events then go nowhere)
	Version string
	Started time.Time    // zero: when New was called
	Logger  *slog.Logger // nil: slog.Default()
	// Metrics serves GET /metrics (typically VictoriaMetrics' WritePrometheus).
	// nil: no /metrics route.
	Metrics http.Handler
	// Now is the clock for login rate limiting; nil: time.Now.
	Now func() time.Time
	// TimeZone is the site's time zone (system.timezone, an IANA name),
	// read at each page: the pages show times in it, not in the browser's
	// zone, so an installer abroad sees the office's hours. nil or "": UTC.
	TimeZone func() string
	// Site is the configuration in use, read for each request's scope
	// (scope.go): who a manager's team is. nil: no site, so users other
	// than admins see only their own agent in the live event stream.
	Site func() *site.Site
	// MaxStreams is how many live streams one login may hold open at
	// once (streams.go); 0: DefaultMaxStreams.
	MaxStreams int
}

// Route is an API route registered with [Server.HandleRoute].
type Route struct {
	Method string // GET, POST, PUT, PATCH or DELETE
	Path   string // a ServeMux path, e.g. /api/v1/extensions/{id}
	// Role is the least role the caller needs: "" for any authenticated
	// principal, or auth.Agent, auth.Manager, auth.Admin (or higher, per
	// auth.Allows).
	Role    string
	Summary string // one line for the OpenAPI document
	// Section names the UI section (calls, queues, agents, extensions,
	// routing, settings) whose page shows this GET route's JSON. Empty: guessed
	// from the path.
	Section string
	// File marks a GET route that answers a file to download (an archive,
	// a spreadsheet), not JSON: its section page links to it rather than
	// fetching it, since a page fetches its lists again and again.
	File    bool
	Handler http.Handler

	public  bool // no authentication at all (server's own routes only)
	laxCSRF bool
}

func (r Route) pattern() string { return r.Method + " " + r.Path }

// Server is the web server. Create it with [New].
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	limiter *limiter
	cop     *http.CrossOriginProtection

	done      chan struct{} // closed by Close: ends event streams
	closeOnce sync.Once

	mu            sync.Mutex // protects following
	routes        []Route
	adminSet      bool      // first-boot setup is done (an admin has existed); it never comes back
	noAdminLogged time.Time // when a refused setup last logged that no admin exists
	// sectionPages are the sections with a page of their own.
	sectionPages map[string]http.HandlerFunc
	resetPending func() bool // a factory reset waits (factory.go); nil: never

	auditLog   *audit.Log // refused requests are written here (audit.go); nil: not
	auditStore AuditStore
	pages      []Page         // UI pages (ui.go)
	streams    streamSlots    // open live streams per login (streams.go)
	streamLog  *audit.Limiter // bounds the log lines of refused streams
}

// New returns a server with its own routes registered.
func New(cfg Config) *Server {
	if cfg.Auth == nil {
		panic("web: Config.Auth is required")
	}
	if cfg.Bus == nil {
		cfg.Bus = events.New()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Started.IsZero() {
		cfg.Started = cfg.Now()
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("pkg", "web"),
		mux:     http.NewServeMux(),
		limiter: newLimiter(cfg.Now, loginMaxFails, loginWindow, loginBlock),
		cop:     http.NewCrossOriginProtection(),
		done:    make(chan struct{}),

		streamLog: newStreamLog(),
	}
	s.handler = s.middleware(s.mux)
	s.routesOwn()
	return s
}

// Handler is the server's HTTP handler: everything, on one port.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends every open event stream. It does not stop the listener; that is
// the http.Server's job.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// Handle registers an API handler for pattern, which must name a method
// ("GET /api/v1/extensions"). Callers must be authenticated and hold role
// (see [Route.Role]). It panics on a bad pattern or role, like
// [http.ServeMux.Handle].
func (s *Server) Handle(pattern, role string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic(fmt.Sprintf("web: pattern %q must start with a method", pattern))
	}
	s.HandleRoute(Route{Method: method, Path: strings.TrimSpace(path), Role: role, Handler: h})
}

// HandleRoute registers an API route; see [Server.Handle].
func (s *Server) HandleRoute(r Route) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		panic(fmt.Sprintf("web: route %q: method must be GET, POST, PUT, PATCH or DELETE", r.pattern()))
	}
	switch r.Role {
	case "", auth.Agent, auth.Manager, auth.Admin:
	default:
		panic(fmt.Sprintf("web: route %q: unknown role %q", r.pattern(), r.Role))
	}
	if r.Handler == nil {
		panic(fmt.Sprintf("web: route %q: nil handler", r.pattern()))
	}
	if !strings.HasPrefix(r.Path, "/") {
		panic(fmt.Sprintf("web: route %q: path must start with /", r.pattern()))
	}
	s.mux.Handle(r.pattern(), s.guard(r))
	s.mu.Lock()
	s.routes = append(s.routes, r)
	s.mu.Unlock()
}

// Routes returns the registered API routes in registration order.
func (s *Server) Routes() []Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Route, len(s.routes))
	copy(out, s.routes)
	return out
}

// routesOwn registers the server's own routes.
func (s *Server) routesOwn() {
	api := []Route{
		{Method: "GET", Path: "/api/v1/health", Summary: "Health, firmware version and uptime (no authentication)",
			Handler: http.HandlerFunc(s.health), public: true},
		{Method: "POST", Path: "/api/v1/session", Summary: "Log in with login and password; sets the rbx_session cookie",
			Handler: http.HandlerFunc(s.login), public: true, laxCSRF: true},
		{Method: "DELETE", Path: "/api/v1/session", Summary: "Log out: ends the cookie's session",
			Handler: http.HandlerFunc(s.logout), public: true},
		{Method: "GET", Path: "/api/v1/me", Summary: "The authenticated principal",
			Handler: http.HandlerFunc(s.me)},
		{Method: "GET", Path: "/api/v1/setup", Summary: "Whether first-boot setup is still needed (no authentication)",
			Handler: http.HandlerFunc(s.setupStatus), public: true},
		{Method: "POST", Path: "/api/v1/setup", Summary: "First boot only: create the admin user and log in",
			Handler: http.HandlerFunc(s.setup), public: true, laxCSRF: true},
		{Method: "GET", Path: "/api/v1/events", Summary: "Live events as Server-Sent Events (agents see agent.*, queue.*, call.*)",
			Handler: http.HandlerFunc(s.events)},
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This document",
			Handler: http.HandlerFunc(s.openapi)},
	}
	for _, r := range api {
		s.HandleRoute(r)
	}
	// Anything else under /api/v1/: authenticate first, then 404 or 405.
	s.mux.Handle("/api/v1/", s.guard(Route{Path: "/api/v1/", Handler: http.HandlerFunc(s.apiNotFound)}))
	s.mux.Handle("/api/", http.HandlerFunc(s.apiNotFound))
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", http.HandlerFunc(s.metrics))
	}
	s.routesUI()
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]any{
		"status":         "ok",
		"version":        s.cfg.Version,
		"uptime_seconds": int64(s.cfg.Now().Sub(s.cfg.Started).Seconds()),
	})
}

// apiNotFound answers an authenticated caller for a path nothing serves:
// 405 with Allow when the path exists for other methods, else 404.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" && p != "/api/v1/" && p != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		WriteError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed for %s", r.Method, r.URL.Path))
		return
	}
	WriteError(w, http.StatusNotFound, "no such API route: "+r.URL.Path)
}

// scopeOf is p's scope in the site in use.
func (s *Server) scopeOf(p auth.Principal) Scope {
	var st *site.Site
	if s.cfg.Site != nil {
		st = s.cfg.Site()
	}
	return ScopeOf(p, st)
}
