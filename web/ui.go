package web

import (
	"bytes"
	"io"

	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"reflect"
	"ringbox/web/picture"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/auth"
)

//go:embed assets
var assets embed.FS

var staticFS = mustSub(assets, "assets/static")

// templates parses the page templates on first use rather than at package
// init: parsing them is a tenth of a second of a slow box's start-up, on the
// path to SIP answering, which needs no page (docs/firmware.md, "Boot
// time"). ParseTemplates warms it once the box answers.
var templates = sync.OnceValues(func() (*template.Template, error) {
	t, err := template.New("").Funcs(templateFuncs).ParseFS(assets, "assets/templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse page templates: %w", err)
	}
	return t, nil
})

// ParseTemplates parses the page templates now, so the first page drawn
// does not wait for it; ringbox serve calls it after start-up.
func ParseTemplates() error {
	_, err := templates()
	return err
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// section is one entry of the UI's navigation. Pages other than the
// dashboard show the JSON of the GET API routes that belong to them: those
// registered with Route.Section, or under one of prefixes.
type section struct {
	ID, Title, Path string
	prefixes        []string
}

var sections = []section{
	{"dashboard", "Dashboard", "/", nil},
	{"live", "Live", "/live", nil}, // managers' live dashboard (dashboard.go)
	{"console", "Configure", "/console", nil},
	{"agent", "My desk", "/agent", nil},
	{"reports", "Reports", "/reports", nil},
	{"calls", "Calls", "/calls", []string{"/api/v1/calls", "/api/v1/cdr", "/api/v1/cdrs", "/api/v1/recordings", "/api/v1/voicemail"}},
	{"queues", "Queues", "/queues", []string{"/api/v1/queues", "/api/v1/queue-log", "/api/v1/queuelog"}},
	{"agents", "Agents", "/agents", []string{"/api/v1/agents"}},
	{"extensions", "Extensions", "/extensions", []string{"/api/v1/extensions", "/api/v1/lines", "/api/v1/ports", "/api/v1/registrations"}},
	{"routing", "Routing", "/routing", []string{"/api/v1/ivrs", "/api/v1/ringgroups", "/api/v1/ring-groups",
		"/api/v1/huntgroups", "/api/v1/hunt-groups", "/api/v1/schedules", "/api/v1/routes", "/api/v1/inbound",
		"/api/v1/outbound", "/api/v1/trunks", "/api/v1/announcements", "/api/v1/destinations"}},
	{"settings", "Settings", "/settings", []string{"/api/v1/settings", "/api/v1/system", "/api/v1/users",
		"/api/v1/tokens", "/api/v1/site", "/api/v1/board"}},
	{"board", "Board", "/board", nil},    // admins: the box's panel and analog lines (board.go)
	{"system", "System", "/system", nil}, // admins: firmware, network, time, power, log (systempage.go)
}

// source is an API route a section page fetches and shows.
type source struct {
	Path, Summary string
	Title         string // the card's heading: the summary without API details
	File          bool   // a download: linked, not fetched
}

// cardTitle is the part of a route's summary a person reads as a heading:
// up to a parenthesis or a colon, which start the API's details (query
// parameters, formats, field lists). Without a summary, the path.
func cardTitle(summary, path string) string {
	t := summary
	if i := strings.Index(t, " ("); i > 0 {
		t = t[:i]
	}
	if i := strings.Index(t, ": "); i > 0 {
		t = t[:i]
	}
	if t = strings.TrimSpace(t); t == "" {
		return path
	}
	return t
}

// sources lists the GET routes, without wildcards, that section id shows to
// role, and whether any exist at all (for any role).
func (s *Server) sources(id, role string) (visible []source, exist bool) {
	var sec section
	for _, x := range sections {
		if x.ID == id {
			sec = x
		}
	}
	for _, rt := range s.Routes() {
		if rt.Method != http.MethodGet || strings.Contains(rt.Path, "{") {
			continue
		}
		in := rt.Section == id
		if rt.Section == "" {
			in = slices.ContainsFunc(sec.prefixes, func(p string) bool {
				return rt.Path == p || strings.HasPrefix(rt.Path, p+"/")
			})
		}
		if !in {
			continue
		}
		exist = true
		if rt.Role == "" || auth.Allows(role, rt.Role) {
			visible = append(visible, source{Path: rt.Path, Summary: rt.Summary, Title: cardTitle(rt.Summary, rt.Path), File: rt.File})
		}
	}
	return visible, exist
}

// routesUI registers the pages and their assets.
func (s *Server) routesUI() {
	for _, sec := range sections {
		if sec.ID == "console" || sec.ID == "live" || sec.ID == "agent" || sec.ID == "board" || sec.ID == "system" {
			continue // their own pages (console.go, dashboard.go, agentdesk.go, board.go, systempage.go)
		}
		pat := "GET " + sec.Path
		if sec.Path == "/" {
			pat = "GET /{$}"
		}
		shell := s.shell(sec)
		s.notePage(pat, "")
		s.mux.HandleFunc(pat, func(w http.ResponseWriter, r *http.Request) {
			// A section with a page of its own (HandleSection) shows it;
			// else the generic list of its API routes.
			s.mu.Lock()
			own := s.sectionPages[sec.ID]
			s.mu.Unlock()
			if own != nil {
				own(w, r)
				return
			}
			shell(w, r)
		})
	}
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("GET /setup", s.setupPage)
	s.notePage("GET /login", PagePublic)
	s.notePage("GET /setup", PagePublic)
	s.notePage("GET /static/pictures.css", PagePublic)
	s.notePage("GET /static/", PagePublic)
	s.mux.HandleFunc("GET /static/pictures.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, picture.CSS)
	})
	files := http.StripPrefix("/static/", http.FileServerFS(staticFS))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Embedded files carry no modification time; revalidate each load
		// (the page adds ?v=VERSION so an update is never stale).
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
}

type pageData struct {
	Title    string
	Page     string // body data-page: shell, login, setup
	Version  string
	Sections []section
	Active   string
	User     principalJSON
	Sources  []source
	Exist    bool
	TimeZone string // the site's IANA zone, for the pages' times
	// ResetPending: a factory reset waits for an admin (factory.go);
	// the top bar shows admins a banner.
	ResetPending bool
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
	s.execute(w, status, name, s.filled(d))
}

// filled is d with what every page shows: version, navigation, zone.
func (s *Server) filled(d pageData) pageData {
	d.Version = s.cfg.Version
	d.Sections = sections
	d.TimeZone = s.timeZone()
	s.mu.Lock()
	pending := s.resetPending
	s.mu.Unlock()
	d.ResetPending = pending != nil && pending()
	return d
}

// execute draws template name with data (a page whose pageData is
// filled) into the answer; a template that fails is logged and answered
// with 500, never half a page.
func (s *Server) execute(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	t, err := templates()
	if err == nil {
		err = t.ExecuteTemplate(&b, name, data)
	}
	if err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error: the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// timeZone is the site's time zone name; UTC when it has none or one
// this system does not know (the page would otherwise fall back to the
// browser's zone without saying so).
func (s *Server) timeZone() string {
	if s.cfg.TimeZone == nil {
		return "UTC"
	}
	name := s.cfg.TimeZone()
	if name == "" {
		return "UTC"
	}
	if _, err := time.LoadLocation(name); err != nil {
		s.log.Warn("unknown site time zone: pages show UTC", "zone", name, "err", err)
		return "UTC"
	}
	return name
}

// setupDone redirects to /setup while first-boot setup is not done, and
// reports whether the page may go on.
func (s *Server) setupDone(w http.ResponseWriter, r *http.Request) bool {
	ok, err := s.isSetupDone(r.Context())
	if err != nil {
		s.log.Error("has admin", "err", err)
		http.Error(w, "authentication is unavailable", http.StatusInternalServerError)
		return false
	}
	if !ok {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return false
	}
	return true
}

// pagePrincipal is the session cookie's principal, for pages.
func (s *Server) pagePrincipal(r *http.Request) (auth.Principal, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return auth.Principal{}, false
	}
	p, err := s.cfg.Auth.Session(r.Context(), c.Value)
	if err != nil {
		return auth.Principal{}, false
	}
	if info := infoFrom(r.Context()); info != nil {
		info.login = p.Login
	}
	return p, true
}

func (s *Server) shell(sec section) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.setupDone(w, r) {
			return
		}
		p, ok := s.pagePrincipal(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		d := pageData{Title: sec.Title, Page: "shell", Active: sec.ID, User: toJSON(p)}
		if sec.ID != "dashboard" {
			d.Sources, d.Exist = s.sources(sec.ID, p.Role)
		}
		s.render(w, http.StatusOK, "shell.html", d)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if !s.setupDone(w, r) {
		return
	}
	if _, ok := s.pagePrincipal(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "login.html", pageData{Title: "Log in", Page: "login"})
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	ok, err := s.isSetupDone(r.Context())
	if err != nil {
		s.log.Error("read whether setup is done", "err", err)
		http.Error(w, "authentication is unavailable", http.StatusInternalServerError)
		return
	}
	if ok {
		// The login page says why: setup never comes back once an admin
		// has existed.
		http.Redirect(w, r, "/login?setup=done", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "setup.html", pageData{Title: "First start", Page: "setup"})
}

// HandlePage registers a page of the UI (not an API route) that needs a
// logged-in user with role. A browser without a session is sent to the
// login page (GET) or refused with 401 (POST); a user without the role
// gets 403 for GET and POST alike; a POST must come from Ringbox's own
// pages.
func (s *Server) HandlePage(pattern, role string, h http.HandlerFunc) {
	method, _, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(pattern, s.page(method, role, h))
	s.notePage(pattern, role)
}

// HandleSection replaces the generic page of navigation section id
// (calls, reports, ...) with h, under the same checks as [Server.HandlePage].
func (s *Server) HandleSection(id, role string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sectionPages == nil {
		s.sectionPages = map[string]http.HandlerFunc{}
	}
	s.sectionPages[id] = s.page(http.MethodGet, role, h)
	for i, pg := range s.pages {
		if pg.Section == id {
			s.pages[i].Role = role
		}
	}
}

// PagePublic is the Role of a page anyone may load (login, setup, assets).
const PagePublic = "public"

// Page is a UI page (not an API route) the server serves.
type Page struct {
	Pattern string // ServeMux pattern: "GET /live"
	// Role is the least role: "" any logged-in user, PagePublic anyone.
	Role    string
	Section string // the navigation section it is the page of, if any
}

// notePage records a page for [Server.Pages].
func (s *Server) notePage(pattern, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg := Page{Pattern: pattern, Role: role}
	for _, sec := range sections {
		if pattern == "GET "+sec.Path || sec.Path == "/" && pattern == "GET /{$}" {
			pg.Section = sec.ID
		}
	}
	s.pages = append(s.pages, pg)
}

// Pages lists the UI pages in registration order: with [Server.Routes],
// everything the server answers (tests hold every one to a role).
func (s *Server) Pages() []Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pages)
}

func (s *Server) page(method, role string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.setupDone(w, r) {
			return
		}
		p, ok := s.pagePrincipal(r)
		if !ok {
			if method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		info := infoFrom(r.Context())
		if info == nil {
			info = &reqInfo{}
		}
		info.login = p.Login
		if method != http.MethodGet && !s.sameOrigin(r) {
			info.reason = "cross-site request refused"
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		if role != "" && !auth.Allows(p.Role, role) {
			info.reason = "this page needs the " + role + " role; you are " + p.Role
			s.log.Warn("page refused", "path", r.URL.Path, "login", p.Login, "role", p.Role, "needs", role)
			s.render(w, http.StatusForbidden, "forbidden.html", pageData{Title: "Not allowed", Page: "shell", User: toJSON(p),
				Active: "", Sections: sections})
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		h(w, r)
	}
}

// Console registers the installer's console pages.
func (s *Server) Console(c *Console) { c.routes(s) }

// templateFuncs are the helpers the page templates use.
var templateFuncs = template.FuncMap{
	"inc": func(v any) string {
		switch n := v.(type) {
		case int:
			return strconv.Itoa(n + 1)
		case string:
			i, err := strconv.Atoi(n)
			if err != nil {
				return n
			}
			return strconv.Itoa(i + 1)
		}
		return fmt.Sprint(v)
	},
	// when shows a time in the site's zone, to the second.
	"when": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return ""
		}
		if loc == nil {
			loc = time.UTC
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	},
	"join":  strings.Join,
	"lower": strings.ToLower,
	"hasExternal": func(groups []optGroup) bool {
		for _, g := range groups {
			for _, o := range g.Options {
				if o.Value == pickExternal {
					return true
				}
			}
		}
		return false
	},
	// level shows an audio file's peak and RMS level (fields PeakDBFS and
	// RMSDBFS, plain or pointers).
	"level": func(v any) string {
		rv := reflect.Indirect(reflect.ValueOf(v))
		if rv.Kind() != reflect.Struct {
			return ""
		}
		get := func(name string) (float64, bool) {
			f := rv.FieldByName(name)
			if !f.IsValid() {
				return 0, false
			}
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					return 0, false
				}
				f = f.Elem()
			}
			return f.Float(), f.Kind() == reflect.Float64
		}
		peak, ok1 := get("PeakDBFS")
		rms, ok2 := get("RMSDBFS")
		if !ok1 || !ok2 {
			return ""
		}
		return fmt.Sprintf("peak %.1f dBFS, RMS %.1f dBFS", peak, rms)
	},
}
