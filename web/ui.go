package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"

	"ringbox/firmware/auth"
)

//go:embed assets
var assets embed.FS

var (
	staticFS  = mustSub(assets, "assets/static")
	templates = template.Must(template.ParseFS(assets, "assets/templates/*.html"))
)

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
	{"calls", "Calls", "/calls", []string{"/api/v1/calls", "/api/v1/cdr", "/api/v1/cdrs", "/api/v1/recordings", "/api/v1/voicemail"}},
	{"queues", "Queues", "/queues", []string{"/api/v1/queues", "/api/v1/queue-log", "/api/v1/queuelog"}},
	{"agents", "Agents", "/agents", []string{"/api/v1/agents"}},
	{"extensions", "Extensions", "/extensions", []string{"/api/v1/extensions", "/api/v1/lines", "/api/v1/ports", "/api/v1/registrations"}},
	{"routing", "Routing", "/routing", []string{"/api/v1/ivrs", "/api/v1/ringgroups", "/api/v1/ring-groups",
		"/api/v1/huntgroups", "/api/v1/hunt-groups", "/api/v1/schedules", "/api/v1/routes", "/api/v1/inbound",
		"/api/v1/outbound", "/api/v1/trunks", "/api/v1/announcements", "/api/v1/destinations"}},
	{"settings", "Settings", "/settings", []string{"/api/v1/settings", "/api/v1/system", "/api/v1/users",
		"/api/v1/tokens", "/api/v1/site", "/api/v1/board"}},
}

// source is an API route a section page fetches and shows.
type source struct {
	Path, Summary string
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
			visible = append(visible, source{Path: rt.Path, Summary: rt.Summary})
		}
	}
	return visible, exist
}

// routesUI registers the pages and their assets.
func (s *Server) routesUI() {
	for _, sec := range sections {
		pat := "GET " + sec.Path
		if sec.Path == "/" {
			pat = "GET /{$}"
		}
		s.mux.HandleFunc(pat, s.shell(sec))
	}
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("GET /setup", s.setupPage)
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
}

func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Version = s.cfg.Version
	d.Sections = sections
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error: page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// setupDone redirects to /setup while the box has no admin, and reports
// whether the page may go on.
func (s *Server) setupDone(w http.ResponseWriter, r *http.Request) bool {
	ok, err := s.hasAdmin(r.Context())
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
	ok, err := s.hasAdmin(r.Context())
	if err != nil {
		s.log.Error("has admin", "err", err)
		http.Error(w, "authentication is unavailable", http.StatusInternalServerError)
		return
	}
	if ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "setup.html", pageData{Title: "First start", Page: "setup"})
}
