package web_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"ringbox/board/sim"
	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/backup"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/library"
	"ringbox/firmware/sip"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail"
	"ringbox/web"
	"ringbox/web/webtest"
)

// Users and tokens of the test box.
const (
	adminPW   = "admin-secret-1"
	managerPW = "manager-secret-2"
	agentPW   = "agent-secret-3"
	adminTok  = "tok-admin"
	mgrTok    = "tok-manager"
	agentTok  = "tok-agent"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     testing.TB
	srv   *web.Server
	h     http.Handler
	auth  *webtest.Auth
	bus   *events.Bus
	clock *clock
	logs  *syncBuffer
	st    *store.Store
	cfg   *config.Store
	acd   *acd.Engine
	// stopACD stops the queue engine, as at shutdown; its routes then fail.
	stopACD func()
	vm      *voicemail.Service
	dir     string // the data directory
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv returns a server for a box that has been set up: an admin, a
// manager and an agent, each with a password and an API token, and a few
// API routes as other packages would register them.
func newEnv(t testing.TB) *env {
	e := newBareEnv(t)
	e.auth.AddUser("alice", adminPW, auth.Admin, "")
	e.auth.AddUser("mona", managerPW, auth.Manager, "a2")
	e.auth.AddUser("al", agentPW, auth.Agent, "a1")
	e.auth.AddToken(adminTok, auth.Principal{Login: "token:ci", Role: auth.Admin})
	e.auth.AddToken(mgrTok, auth.Principal{Login: "token:report", Role: auth.Manager})
	e.auth.AddToken(agentTok, auth.Principal{Login: "token:desk", Role: auth.Agent, Agent: "a1"})
	return e
}

// envSite is the test box's configuration: agents a1 (extension 101) and
// a3 (103) report to the manager a2 (102); all three serve queue service.
const envSite = `version: 1
system: {name: Test Office, timezone: Europe/Paris}
extensions:
  - {number: "101", name: Al}
  - {number: "102", name: Mona}
  - {number: "103", name: Ann}
agents:
  - {id: a1, extension: "101", reports_to: a2}
  - {id: a2, extension: "102", role: manager}
  - {id: a3, extension: "103", reports_to: a2}
queues:
  - {id: service, agents: [a1, a2, a3], on_empty: hangup}
`

// newBareEnv is a box on first boot: no users at all. Its API is the real
// one, as ringbox serve registers it (web.SystemRoutes, web.AgentRoutes,
// web.LibraryRoutes, web.RoutingRoutes, web.BackupRoutes) over a real store, configuration,
// ACD, simulated board and an idle SIP server, so the tests exercise what
// users get.
func newBareEnv(t testing.TB) *env { return newSiteEnv(t, envSite) }

// newSiteEnv is newBareEnv with the configuration siteYAML.
func newSiteEnv(t testing.TB, siteYAML string) *env {
	e := &env{t: t, auth: webtest.NewAuth(), bus: events.New(), clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	quiet := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	s, err := site.Parse([]byte(siteYAML), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSite(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
	cur, err := st.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.New(cur, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	e.srv = web.New(web.Config{
		Auth:     e.auth,
		Bus:      e.bus,
		Version:  "1.2.3-test",
		Started:  e.clock.Now().Add(-90 * time.Second),
		Logger:   log,
		Metrics:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { metrics.WritePrometheus(w, false) }),
		Now:      e.clock.Now,
		TimeZone: func() string { return cfg.Site().System.Timezone },
		Site:     cfg.Site,
	})
	// The SIP server is built but never run: no socket, no phones.
	sipSrv, err := sip.New(sip.Config{ListenAddr: "127.0.0.1:5060", Site: cfg.Site, Bus: e.bus, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.acd = acd.New(acd.Config{Config: cfg, Dialer: calltest.NewDialer(), Store: st, Bus: e.bus, Logger: quiet})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.acd.Run(runCtx) }()
	var once sync.Once
	e.stopACD = func() { once.Do(func() { stop(); <-done }) }
	t.Cleanup(e.stopACD)
	lib := library.New(library.Config{DataDir: dir, Store: st, Logger: quiet})
	fl := &flow.Engine{Config: cfg, CDR: st, Bus: e.bus, Logger: quiet}
	var routes []web.Route
	routes = append(routes, web.SystemRoutes(web.System{Store: st, SIP: sipSrv, Config: cfg, Bus: e.bus})...)
	brd := sim.New(sim.Options{Buttons: 4, QueueLEDs: 2, FXS: 2, FXO: 1})
	t.Cleanup(func() { brd.Close() })
	// The board's routes and its page, as ringbox serve registers them.
	e.srv.BoardPanel(&web.BoardPanel{Board: brd, Bus: e.bus, Logger: quiet})
	routes = append(routes, web.AgentRoutes(e.acd)...)
	routes = append(routes, web.LibraryRoutes(lib, log)...)
	routes = append(routes, web.RoutingRoutes(fl)...)
	routes = append(routes, web.BackupRoutes(web.Backup{
		DataDir: dir, Firmware: "1.2.3-test", Site: func() string { return cfg.Site().System.Name }, Logger: quiet,
		Staging: &backup.Staging{Options: backup.InspectOptions{DataDir: dir, Firmware: "1.2.3-test", Store: st, Logger: quiet}},
		Restart: func() {},
	})...)
	for _, r := range routes {
		e.srv.HandleRoute(r)
	}
	e.vm = &voicemail.Service{Store: st, DataDir: dir, Logger: quiet}
	e.srv.Reports(&web.Reports{Store: st, Config: cfg, RecordingsDir: filepath.Join(dir, "recordings"), DataDir: dir,
		Voicemail: e.vm, Logger: quiet, Now: e.clock.Now})
	e.dir = dir
	e.h = e.srv.Handler()
	return e
}

// with returns e reporting to t (fuzz targets must not use the F's helpers).
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// req is one request to the server; hdr alternates names and values.
func (e *env) req(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "RemoteAddr" {
			r.RemoteAddr = hdr[i+1]
			continue
		}
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// login logs in and returns the session cookie header value.
func (e *env) login(login, password string) string {
	e.t.Helper()
	w := e.req("POST", "/api/v1/session", `{"login":"`+login+`","password":"`+password+`"}`)
	if w.Code != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", login, w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == web.CookieName {
			return c.Name + "=" + c.Value
		}
	}
	e.t.Fatalf("login %s: no %s cookie", login, web.CookieName)
	return ""
}

func errorOf(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", w.Body, err)
	}
	return v.Error
}

func TestHealthWithoutAuth(t *testing.T) {
	e := newEnv(t)
	w := e.req("GET", "/api/v1/health", "")
	if w.Code != http.StatusOK {
		t.Fatalf("health: %d %s", w.Code, w.Body)
	}
	var got struct {
		Status  string `json:"status"`
		Version string `json:"version"`
		Uptime  int64  `json:"uptime_seconds"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "ok" || got.Version != "1.2.3-test" || got.Uptime != 90 {
		t.Errorf("health = %+v, want ok, 1.2.3-test, 90 s", got)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestAPIAccess(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name         string
		method, path string
		hdr          []string
		want         int
	}{
		{"anonymous me", "GET", "/api/v1/me", nil, 401},
		{"anonymous registered route", "GET", "/api/v1/extensions", nil, 401},
		{"anonymous unknown route hides it", "GET", "/api/v1/no/such/thing", nil, 401},
		{"anonymous wrong method hides it", "PUT", "/api/v1/health", nil, 401},
		{"anonymous events", "GET", "/api/v1/events", nil, 401},
		{"anonymous openapi", "GET", "/api/v1/openapi.json", nil, 401},
		{"anonymous setup status", "GET", "/api/v1/setup", nil, 200},
		{"bearer works", "GET", "/api/v1/me", []string{"Authorization", "Bearer " + agentTok}, 200},
		{"bearer scheme is case-insensitive", "GET", "/api/v1/me", []string{"Authorization", "bearer " + agentTok}, 200},
		{"unknown token", "GET", "/api/v1/me", []string{"Authorization", "Bearer nope"}, 401},
		{"basic auth refused", "GET", "/api/v1/me", []string{"Authorization", "Basic YWxpY2U6eA=="}, 401},
		{"bad token not rescued by cookie", "GET", "/api/v1/me", []string{"Authorization", "Bearer nope", "Cookie", web.CookieName + "=x"}, 401},
		{"unknown session cookie", "GET", "/api/v1/me", []string{"Cookie", web.CookieName + "=forged"}, 401},
		{"agent on agent route", "GET", "/api/v1/agents/a1", []string{"Authorization", "Bearer " + agentTok}, 200},
		{"agent on manager route", "GET", "/api/v1/registrations", []string{"Authorization", "Bearer " + agentTok}, 403},
		{"manager on manager route", "GET", "/api/v1/registrations", []string{"Authorization", "Bearer " + mgrTok}, 200},
		{"admin on manager route", "GET", "/api/v1/registrations", []string{"Authorization", "Bearer " + adminTok}, 200},
		{"manager on admin route", "POST", "/api/v1/board/buttons/1/press", []string{"Authorization", "Bearer " + mgrTok}, 403},
		{"admin on admin route", "POST", "/api/v1/board/buttons/1/press", []string{"Authorization", "Bearer " + adminTok}, 204},
		{"authenticated unknown route", "GET", "/api/v1/no/such/thing", []string{"Authorization", "Bearer " + agentTok}, 404},
		{"authenticated wrong method", "DELETE", "/api/v1/registrations", []string{"Authorization", "Bearer " + adminTok}, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req(tt.method, tt.path, "", tt.hdr...)
			if w.Code != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.want)
			}
			if w.Code >= 400 && errorOf(t, w) == "" {
				t.Errorf("%s %s: error body %q has no message", tt.method, tt.path, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	w := e.req("DELETE", "/api/v1/registrations", "", "Authorization", "Bearer "+adminTok)
	if got := w.Header().Get("Allow"); got != "GET" {
		t.Errorf("405 Allow = %q, want GET", got)
	}
	w = e.req("GET", "/api/v1/registrations", "", "Authorization", "Bearer "+agentTok)
	if msg := errorOf(t, w); !strings.Contains(msg, "manager") {
		t.Errorf("403 message %q does not say which role is needed", msg)
	}
}

// TestPrincipalReachesHandler: the agent list is cut to what the caller
// may see, which the handler can do only if it knows who asks.
func TestPrincipalReachesHandler(t *testing.T) {
	e := newEnv(t)
	ids := func(tok string) []string {
		t.Helper()
		w := e.req("GET", "/api/v1/agents", "", "Authorization", "Bearer "+tok)
		var got []struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("agents = %d %s: %v", w.Code, w.Body, err)
		}
		var out []string
		for _, a := range got {
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids(agentTok); !slices.Equal(got, []string{"a1"}) {
		t.Errorf("agent a1 sees agents %v, want only itself", got)
	}
	if got := ids(adminTok); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
		t.Errorf("admin sees agents %v, want all three", got)
	}
}

func TestCookieSession(t *testing.T) {
	e := newEnv(t)
	w := e.req("POST", "/api/v1/session", `{"login":"mona","password":"`+managerPW+`"}`, "Content-Type", "application/json")
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	if got, want := strings.TrimSpace(w.Body.String()), `{"login":"mona","role":"manager","agent":"a2"}`; got != want {
		t.Errorf("login answered %s, want %s", got, want)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v, want one", cookies)
	}
	c := cookies[0]
	if c.Name != web.CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" {
		t.Errorf("cookie = %+v, want rbx_session, HttpOnly, SameSite=Strict, not Secure over plain HTTP, Path=/", c)
	}
	cookie := c.Name + "=" + c.Value

	w = e.req("GET", "/api/v1/me", "", "Cookie", cookie)
	if got, want := strings.TrimSpace(w.Body.String()), `{"login":"mona","role":"manager","agent":"a2"}`; w.Code != 200 || got != want {
		t.Errorf("me = %d %s, want 200 %s", w.Code, got, want)
	}
	if w := e.req("GET", "/api/v1/registrations", "", "Cookie", cookie); w.Code != 200 {
		t.Errorf("manager cookie on manager route = %d", w.Code)
	}

	w = e.req("DELETE", "/api/v1/session", "", "Cookie", cookie, "X-Requested-With", "ringbox")
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout = %d %s", w.Code, w.Body)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout cookies = %v, want the session cookie expired", c)
	}
	if w := e.req("GET", "/api/v1/me", "", "Cookie", cookie); w.Code != 401 {
		t.Errorf("me after logout = %d, want 401", w.Code)
	}
	if n := e.auth.Sessions(); n != 0 {
		t.Errorf("%d sessions left after logout", n)
	}
}

func TestCookieSecureOverTLS(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest("POST", "https://box/api/v1/session", strings.NewReader(`{"login":"al","password":"`+agentPW+`"}`))
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("cookies over TLS = %v, want one Secure cookie", c)
	}
}

func TestLoginPublishesEvent(t *testing.T) {
	e := newEnv(t)
	sub := e.bus.Subscribe(4, events.Filter("user."))
	defer sub.Close()
	e.login("al", agentPW)
	select {
	case ev := <-sub.C():
		b, _ := json.Marshal(ev.Data)
		if ev.Type != "user.login" || !strings.Contains(string(b), `"login":"al"`) {
			t.Errorf("event = %s %s, want user.login for al", ev.Type, b)
		}
	default:
		t.Fatal("no user.login event")
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	cookie := e.login("alice", adminPW)
	tests := []struct {
		name string
		hdr  []string
		want int
	}{
		{"cookie without proof", []string{"Cookie", cookie}, 403},
		{"cookie with X-Requested-With", []string{"Cookie", cookie, "X-Requested-With", "ringbox"}, 204},
		{"cookie with wrong X-Requested-With", []string{"Cookie", cookie, "X-Requested-With", "XMLHttpRequest"}, 403},
		{"cookie same-origin fetch", []string{"Cookie", cookie, "Sec-Fetch-Site", "same-origin"}, 204},
		{"cookie cross-site fetch", []string{"Cookie", cookie, "Sec-Fetch-Site", "cross-site"}, 403},
		{"cookie same-site fetch", []string{"Cookie", cookie, "Sec-Fetch-Site", "same-site"}, 403},
		{"cookie same Origin", []string{"Cookie", cookie, "Origin", "http://example.com"}, 204},
		{"cookie foreign Origin", []string{"Cookie", cookie, "Origin", "http://evil.example"}, 403},
		{"bearer needs no proof", []string{"Authorization", "Bearer " + adminTok}, 204},
	}
	sub := e.bus.Subscribe(16, events.Filter("board."))
	defer sub.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// httptest.NewRequest's Host is example.com.
			if w := e.req("POST", "/api/v1/board/buttons/1/press", "", tt.hdr...); w.Code != tt.want {
				t.Errorf("POST = %d %s, want %d", w.Code, w.Body, tt.want)
			}
		})
	}
	// Only the accepted requests pressed the button.
	presses := 0
	for len(sub.C()) > 0 {
		<-sub.C()
		presses++
	}
	if presses != 4 {
		t.Errorf("the button was pressed %d times, want 4 (the accepted requests only)", presses)
	}
	if w := e.req("GET", "/api/v1/registrations", "", "Cookie", cookie); w.Code != 200 {
		t.Errorf("cookie GET without proof = %d, want 200: reads need no CSRF proof", w.Code)
	}
	if w := e.req("DELETE", "/api/v1/session", "", "Cookie", cookie, "Sec-Fetch-Site", "cross-site"); w.Code != 403 {
		t.Errorf("cross-site logout = %d, want 403", w.Code)
	}
	if w := e.req("POST", "/api/v1/session", `{"login":"al","password":"`+agentPW+`"}`, "Sec-Fetch-Site", "cross-site"); w.Code != 403 {
		t.Errorf("cross-site login = %d, want 403", w.Code)
	}
}

func TestFirstBoot(t *testing.T) {
	e := newBareEnv(t)
	for _, p := range []string{"/", "/login", "/extensions", "/settings"} {
		if w := e.req("GET", p, ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/setup" {
			t.Errorf("GET %s on first boot = %d to %q, want 303 to /setup", p, w.Code, w.Header().Get("Location"))
		}
	}
	w := e.req("GET", "/setup", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="setup-form"`) {
		t.Fatalf("GET /setup = %d, want the setup form", w.Code)
	}
	if w := e.req("GET", "/api/v1/setup", ""); strings.TrimSpace(w.Body.String()) != `{"needed":true}` {
		t.Errorf("setup status = %s, want needed", w.Body)
	}

	refused := []struct{ body, want string }{
		{`{"login":"boss","password":"short"}`, "10 characters"},
		{`{"login":"boss","password":"password"}`, "10 characters"},
		{`{"login":"boss","password":"Password123!"}`, "attacker"},
		{`{"login":"boss","password":"changeme2026"}`, "attacker"},
		{`{"login":"installer","password":"installer1!"}`, "login name"},
		{`{"login":"boss","password":"aaaaaaaaaaaa"}`, "single character"},
		{`{"login":"boss","password":"long enough pw","confirm":"long enough pW"}`, "differ"},
		{`{"login":"bo ss","password":"long enough pw"}`, "login may hold"},
		{`{"login":"boss","password":"long enough pw","role":"admin"}`, `unknown field "role"`},
	}
	for _, tt := range refused {
		w := e.req("POST", "/api/v1/setup", tt.body)
		if w.Code != 400 || !strings.Contains(errorOf(t, w), tt.want) {
			t.Errorf("setup %s = %d %s, want 400 mentioning %q", tt.body, w.Code, w.Body, tt.want)
		}
	}
	if ok, _ := e.auth.HasAdmin(t.Context()); ok {
		t.Fatal("a refused setup created an admin")
	}

	w = e.req("POST", "/api/v1/setup", `{"login":"boss","password":"correct horse battery","confirm":"correct horse battery"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("setup = %d %s, want 201", w.Code, w.Body)
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != web.CookieName {
		t.Fatalf("setup cookies = %v, want a session", c)
	}
	cookie := c[0].Name + "=" + c[0].Value
	if w := e.req("GET", "/api/v1/me", "", "Cookie", cookie); !strings.Contains(w.Body.String(), `"role":"admin"`) {
		t.Errorf("me after setup = %s, want the new admin", w.Body)
	}
	if w := e.req("GET", "/", "", "Cookie", cookie); w.Code != 200 {
		t.Errorf("dashboard after setup = %d, want 200", w.Code)
	}

	w = e.req("POST", "/api/v1/setup", `{"login":"mallory","password":"another long password"}`)
	if w.Code != http.StatusConflict {
		t.Errorf("second setup = %d %s, want 409", w.Code, w.Body)
	}
	if _, err := e.auth.CheckPassword(t.Context(), "mallory", "another long password"); err == nil {
		t.Error("second setup created a user")
	}
	if w := e.req("GET", "/setup", ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?setup=done" {
		t.Errorf("GET /setup after setup = %d to %q, want 303 to /login?setup=done", w.Code, w.Header().Get("Location"))
	}
	if w := e.req("GET", "/login", ""); w.Code != 200 {
		t.Errorf("GET /login after setup = %d, want 200", w.Code)
	}
}

func TestCheckAdminPassword(t *testing.T) {
	tests := []struct {
		login, pw string
		ok        bool
	}{
		{"boss", "correct horse battery", true},
		{"boss", "9chars!!!", false},
		{"boss", "ÄÖÜäöüßéèà", true}, // 10 characters, 20 bytes
		{"boss", "ÄÖÜäöüßéè", false},
		{"boss", "administrator", false},
		{"boss", "Passw0rd!!!", false},
		{"boss", "1234567890", false},
		{"boss", "qwertyuiop", false},
		{"boss", "RINGBOX2026", false},
		{"frontdesk", "frontdesk!!", false},
		{"boss", "boss-and-some-more-words", true},
		{"boss", "zzzzzzzzzzzz", false},
	}
	for _, tt := range tests {
		err := web.CheckAdminPassword(tt.login, tt.pw)
		if (err == nil) != tt.ok {
			t.Errorf("CheckAdminPassword(%q, %q) = %v, want ok=%v", tt.login, tt.pw, err, tt.ok)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	bad := `{"login":"alice","password":"guess-number-x"}`
	good := `{"login":"alice","password":"` + adminPW + `"}`
	from := []string{"RemoteAddr", "192.0.2.7:5000"}
	for i := range 5 {
		if w := e.req("POST", "/api/v1/session", bad, from...); w.Code != 401 {
			t.Fatalf("failure %d = %d, want 401", i+1, w.Code)
		}
		e.clock.Advance(10 * time.Second)
	}
	w := e.req("POST", "/api/v1/session", good, from...)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 failures = %d, want 429", w.Code)
	}
	if ra := w.Header().Get("Retry-After"); ra != "290" {
		t.Errorf("Retry-After = %q, want 290 (5 min from the 5th failure, 10 s ago)", ra)
	}
	if w := e.req("POST", "/api/v1/session", good, "RemoteAddr", "192.0.2.8:5000"); w.Code != 200 {
		t.Errorf("another address = %d, want 200", w.Code)
	}
	e.clock.Advance(4*time.Minute + 49*time.Second)
	if w := e.req("POST", "/api/v1/session", good, from...); w.Code != 429 {
		t.Errorf("1 s before the block ends = %d, want 429", w.Code)
	}
	e.clock.Advance(time.Second)
	if w := e.req("POST", "/api/v1/session", good, from...); w.Code != 200 {
		t.Errorf("after the block = %d, want 200", w.Code)
	}

	// Failures spread wider than the window never block.
	for i := range 8 {
		if w := e.req("POST", "/api/v1/session", bad, "RemoteAddr", "192.0.2.9:1"); w.Code != 401 {
			t.Fatalf("slow failure %d = %d, want 401", i+1, w.Code)
		}
		e.clock.Advance(76 * time.Second) // 4 failures per 5 minutes
	}

	logs := e.logs.String()
	if !strings.Contains(logs, "login failed") || !strings.Contains(logs, "login=alice") || !strings.Contains(logs, "ip=192.0.2.7") {
		t.Errorf("failed logins not logged with login and address:\n%s", logs)
	}
	for _, secret := range []string{"guess-number-x", adminPW} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds the password %q:\n%s", secret, logs)
		}
	}
}

func TestNoSecretsInRequestLog(t *testing.T) {
	e := newEnv(t)
	cookie := e.login("al", agentPW)
	e.req("GET", "/api/v1/me", "", "Cookie", cookie)
	e.req("GET", "/api/v1/me", "", "Authorization", "Bearer "+agentTok)
	logs := e.logs.String()
	if !strings.Contains(logs, `route="GET /api/v1/me"`) || !strings.Contains(logs, "login=al") || !strings.Contains(logs, "login=token:desk") {
		t.Errorf("request log lacks route or principal:\n%s", logs)
	}
	for _, secret := range []string{strings.TrimPrefix(cookie, web.CookieName+"="), agentTok, agentPW} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds secret %q:\n%s", secret, logs)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	cookie := e.login("alice", adminPW)
	for _, tt := range []struct {
		method, path string
		hdr          []string
	}{
		{"GET", "/api/v1/health", nil},
		{"GET", "/api/v1/me", nil},
		{"GET", "/login", nil},
		{"GET", "/", []string{"Cookie", cookie}},
		{"GET", "/static/app.js", nil},
		{"GET", "/no-such-page", nil},
		{"POST", "/api/v1/session", nil},
	} {
		w := e.req(tt.method, tt.path, "", tt.hdr...)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s %s: CSP = %q", tt.method, tt.path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
			if got := h.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", tt.method, tt.path, k, got, v)
			}
		}
	}
}

func TestPagesHaveNoInlineScript(t *testing.T) {
	e := newEnv(t)
	cookie := e.login("alice", adminPW)
	for _, p := range []string{"/login", "/setup", "/", "/extensions"} {
		body := e.req("GET", p, "", "Cookie", cookie).Body.String()
		if p == "/login" || p == "/setup" {
			body = e.req("GET", p, "").Body.String()
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || strings.Contains(body, "<style") {
			t.Errorf("%s has inline script or style, which the CSP blocks", p)
		}
	}
}

func TestUIPages(t *testing.T) {
	e := newEnv(t)
	if w := e.req("GET", "/", ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Errorf("anonymous dashboard = %d to %q, want 303 to /login", w.Code, w.Header().Get("Location"))
	}
	admin := e.login("alice", adminPW)
	agent := e.login("al", agentPW)
	if w := e.req("GET", "/login", "", "Cookie", admin); w.Code != http.StatusSeeOther {
		t.Errorf("login page when logged in = %d, want a redirect to the dashboard", w.Code)
	}
	tests := []struct {
		name, path, cookie string
		want, lacks        []string
	}{
		{"dashboard", "/", admin, []string{"Dashboard", `href="/calls"`, `href="/settings"`, `id="events"`, `id="health-version"`, "1.2.3-test", `id="logout"`, `aria-current="page"`}, nil},
		{"list for agent", "/extensions", agent, []string{`data-source="/api/v1/extensions"`, `data-tz="Europe/Paris"`}, []string{`data-source="/api/v1/registrations"`}},
		{"manager list for admin", "/extensions", admin, []string{`data-source="/api/v1/extensions"`, `data-source="/api/v1/registrations"`}, nil},
		{"admin-only list for admin", "/settings", admin, []string{`data-source="/api/v1/config"`}, nil},
		{"a download is linked, not fetched", "/settings", admin, []string{`<a href="/api/v1/backup" download>`}, []string{`data-source="/api/v1/backup"`}},
		{"admin-only list for agent", "/settings", agent, []string{`data-source="/api/v1/board"`}, []string{`data-source="/api/v1/config"`}},
		{"card headings in words", "/queues", admin, []string{"<h2>The queue log</h2>"}, []string{"?from", "<h2>/api/"}},
		{"card heading before a field list", "/extensions", admin, []string{"<h2>Registered phones</h2>"}, []string{"user agent, expiry"}},
		{"an agent sees their own calls", "/calls", agent, []string{`<h2 id="calls-h">Call records</h2>`, "None yet."}, []string{"cannot see this section"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("GET", tt.path, "", "Cookie", tt.cookie)
			if w.Code != 200 {
				t.Fatalf("GET %s = %d", tt.path, w.Code)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("GET %s lacks %q", tt.path, s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("GET %s shows %q", tt.path, s)
				}
			}
		})
	}

	// A firmware without the queue engine (the server alone, no package's
	// routes) says so rather than showing an empty page.
	plain := web.New(web.Config{Auth: e.auth, Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/queues", nil)
	r.Header.Set("Cookie", admin)
	plain.Handler().ServeHTTP(rec, r)
	if !strings.Contains(rec.Body.String(), "Queues is not available in this firmware.") {
		t.Errorf("/queues without queue routes = %d, lacks the not-available message", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), `data-tz="UTC"`) {
		t.Errorf("a server told no time zone does not show times in UTC")
	}
	w := e.req("GET", "/static/app.js", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	w := e.req("GET", "/api/v1/openapi.json", "", "Authorization", "Bearer "+agentTok)
	if w.Code != 200 {
		t.Fatalf("openapi = %d", w.Code)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Summary    string `json:"summary"`
			Role       string `json:"x-ringbox-role"`
			Security   []any  `json:"security"`
			Parameters []struct {
				Name, In string
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	for _, pm := range []struct{ path, method string }{
		{"/api/v1/health", "get"}, {"/api/v1/session", "post"}, {"/api/v1/session", "delete"},
		{"/api/v1/me", "get"}, {"/api/v1/setup", "post"}, {"/api/v1/events", "get"},
		{"/api/v1/extensions", "get"}, {"/api/v1/agents/{id}", "get"}, {"/api/v1/board/buttons/{n}/press", "post"},
		{"/api/v1/queuelog", "get"}, {"/api/v1/prompts", "get"}, {"/api/v1/ringgroups/{id}/plan", "get"}, {"/metrics", "get"},
	} {
		if _, ok := doc.Paths[pm.path][pm.method]; !ok {
			t.Errorf("document lacks %s %s", pm.method, pm.path)
		}
	}
	if op := doc.Paths["/api/v1/board/buttons/{n}/press"]["post"]; op.Summary != "Press a button of the simulated board (?long=1)" || op.Role != "admin" {
		t.Errorf("button press = %+v, want its summary and role admin", op)
	}
	if op := doc.Paths["/api/v1/health"]["get"]; op.Security == nil || len(op.Security) != 0 {
		t.Errorf("health security = %v, want [] (public)", op.Security)
	}
	if ps := doc.Paths["/api/v1/agents/{id}"]["get"].Parameters; len(ps) != 1 || ps[0].Name != "id" || ps[0].In != "path" {
		t.Errorf("agent parameters = %+v, want path id", ps)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	e.req("GET", "/api/v1/health", "")
	tests := []struct {
		name string
		hdr  []string
		want int
	}{
		{"LAN without token", nil, 401},
		{"LAN with bad token", []string{"Authorization", "Bearer nope"}, 401},
		{"LAN with agent token", []string{"Authorization", "Bearer " + agentTok}, 200},
		{"loopback", []string{"RemoteAddr", "127.0.0.1:4000"}, 200},
		{"loopback v6", []string{"RemoteAddr", "[::1]:4000"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("GET", "/metrics", "", tt.hdr...)
			if w.Code != tt.want {
				t.Fatalf("GET /metrics = %d, want %d", w.Code, tt.want)
			}
			if w.Code == 200 {
				body := w.Body.String()
				for _, s := range []string{`ringbox_http_requests_total{route="GET /api/v1/health",code="2xx"}`,
					`ringbox_http_request_duration_seconds_bucket{route="GET /api/v1/health",vmrange=`} {
					if !strings.Contains(body, s) {
						t.Errorf("metrics lack %s", s)
					}
				}
			}
		})
	}
}

func TestRouteRegistrationChecks(t *testing.T) {
	e := newEnv(t)
	h := http.NotFoundHandler()
	for name, f := range map[string]func(){
		"no method":    func() { e.srv.Handle("/api/v1/x", "", h) },
		"bad role":     func() { e.srv.Handle("GET /api/v1/x", "root", h) },
		"odd method":   func() { e.srv.Handle("TRACE /api/v1/x", "", h) },
		"nil handler":  func() { e.srv.Handle("GET /api/v1/x", "", nil) },
		"dup register": func() { e.srv.Handle("GET /api/v1/me", "", h) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Handle did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestHandlerPanicIsJSON500(t *testing.T) {
	e := newEnv(t)
	e.srv.Handle("GET /api/v1/boom", "", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w := e.req("GET", "/api/v1/boom", "", "Authorization", "Bearer "+agentTok)
	if w.Code != 500 || errorOf(t, w) == "" {
		t.Errorf("panic = %d %s, want a JSON 500", w.Code, w.Body)
	}
}

// BenchmarkAuthenticatedRequest measures one bearer-authenticated API call
// through the whole middleware stack.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	e := newEnv(b)
	r := httptest.NewRequest("GET", "/api/v1/agents/a1", nil)
	r.Header.Set("Authorization", "Bearer "+agentTok)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// TestServerErrorsAreLoggedWithTheirReason: every 5xx the box answers is
// in the log with its reason. The queue engine stopped (as at shutdown)
// makes the agent list fail with 503.
func TestServerErrorsAreLoggedWithTheirReason(t *testing.T) {
	e := newEnv(t)
	e.stopACD()
	rec := e.req("GET", "/api/v1/agents", "", "Authorization", "Bearer "+adminTok)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
	if log := e.logs.String(); !strings.Contains(log, "request failed") || !strings.Contains(log, "engine not running") || !strings.Contains(log, "status=503") {
		t.Errorf("log does not name the 503 and its reason:\n%s", log)
	}
}

// The page templates are parsed on first use, not at init: a template that
// does not parse must still fail a test rather than the first page a user
// opens.
func TestParseTemplates(t *testing.T) {
	if err := web.ParseTemplates(); err != nil {
		t.Fatal(err)
	}
}
