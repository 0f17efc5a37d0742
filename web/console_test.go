package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ringbox/firmware/config"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
)

const consoleSite = `version: 1
system: {name: Test Office, timezone: Europe/Paris}
extensions:
  - {number: "101", name: Bob, secret: bob-secret-101x}
  - {number: "102", name: Carol, secret: carol-secret-102}
agents:
  - {id: bob, name: Bob, extension: "101"}
ring_groups:
  - id: sales
    stages:
      - {ring: [ext:101], for: 10s}
      - {ring: [ext:101, ext:102], for: 20s}
    no_answer: hangup
queues:
  - {id: support, agents: [bob]}
ivrs:
  - {id: main, greeting: main-menu, options: {"1": "extension:101", "2": "queue:support"}}
schedules:
  - id: office
    open: [{days: mon-fri, from: "09:00", to: "17:00"}]
    holidays: [2026-12-25]
inbound:
  - {match: "5551000", to: "ivr:main"}
`

const (
	consoleAdminPW = "Console-Admin-Pass-1"
	consoleOtherPW = "Second-Admin-Pass-22"
	consoleMgrPW   = "Manager-Pass-333x"
	consoleAgentPW = "Agent-Pass-4444xy"
)

// consoleEnv is a box with a real store and configuration, the console
// registered as `ringbox serve` does, and four users.
type consoleEnv struct {
	t   testing.TB
	st  *store.Store
	cfg *config.Store
	h   http.Handler
}

func newConsoleEnv(t testing.TB, yaml string) *consoleEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := site.Parse([]byte(yaml), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Users = []site.User{
		{Login: "alice", Role: site.RoleAdmin, Password: consoleAdminPW},
		{Login: "bruno", Role: site.RoleAdmin, Password: consoleOtherPW},
		{Login: "mona", Role: site.RoleManager, Password: consoleMgrPW},
		{Login: "al", Role: site.RoleAgent, Agent: "bob", Password: consoleAgentPW},
	}
	if _, err := st.ImportSite(ctx, s, "test"); err != nil {
		t.Fatal(err)
	}
	cur, err := st.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ver, _ := st.ConfigVersion(ctx)
	cfg, err := config.New(cur, ver)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := web.New(web.Config{Auth: st, Version: "test", Logger: log})
	srv.Console(&web.Console{Store: st, Config: cfg, Logger: log, SIPPort: 5060, Realm: "ringbox", Flow: &flow.Engine{Config: cfg},
		Reload: func(ctx context.Context) error { return cfg.Reload(ctx, st, log, nil) }})
	return &consoleEnv{t: t, st: st, cfg: cfg, h: srv.Handler()}
}

// browser is one logged-in browser.
type browser struct {
	e      *consoleEnv
	cookie string
}

func (e *consoleEnv) login(login, password string) *browser {
	e.t.Helper()
	r := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`))
	r.Header.Set("Origin", "http://example.com")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", login, w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == web.CookieName {
			return &browser{e: e, cookie: c.Name + "=" + c.Value}
		}
	}
	e.t.Fatal("no session cookie")
	return nil
}

// page is an answer, with the flash message of a redirect followed once.
type page struct {
	code int
	body string
	loc  string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	r.Header.Set("Cookie", b.cookie)
	if method == "POST" {
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	b.e.h.ServeHTTP(w, r)
	p := page{code: w.Code, body: w.Body.String(), loc: w.Header().Get("Location")}
	// Follow a redirect once, carrying the flash cookie, as a browser does.
	if w.Code == http.StatusSeeOther && strings.HasPrefix(p.loc, "/console") {
		r2 := httptest.NewRequest("GET", p.loc, nil)
		cookies := b.cookie
		for _, c := range w.Result().Cookies() {
			cookies += "; " + c.Name + "=" + c.Value
		}
		r2.Header.Set("Cookie", cookies)
		w2 := httptest.NewRecorder()
		b.e.h.ServeHTTP(w2, r2)
		p.body = w2.Body.String()
		if w2.Code != http.StatusOK {
			b.e.t.Fatalf("GET %s after %s %s: %d %s", p.loc, method, path, w2.Code, w2.Body)
		}
	}
	return p
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

func (b *browser) post(path string, kv ...string) page {
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	return b.do("POST", path, form)
}

// fieldError returns the problem shown at the input with the given id.
func fieldError(body, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `-err"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func baseOf(t testing.TB, body string) string {
	m := regexp.MustCompile(`name="base" value="(\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("review page has no apply form:\n%s", body)
	}
	return m[1]
}

func TestConsoleAddReviewApply(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	before := e.cfg.Current().Version

	p := b.get("/console/k/extensions/new")
	if p.code != 200 || !strings.Contains(p.body, `name="number"`) || !strings.Contains(p.body, `name="secret"`) {
		t.Fatalf("new extension form: %d\n%s", p.code, p.body)
	}
	p = b.post("/console/k/extensions/new", "number", "201", "name", "Ann", "secret", "ann-secret-201x", "permission", "local")
	if p.code != http.StatusSeeOther || !strings.Contains(p.body, "Added extension 201 in your draft") {
		t.Fatalf("add extension: %d %s\n%s", p.code, p.loc, p.body)
	}
	if !strings.Contains(p.body, "added in draft") {
		t.Error("the list does not mark 201 as added in the draft")
	}
	if e.cfg.Current().Version != before {
		t.Fatal("a draft edit changed the configuration in use")
	}
	// A ring group stage gets the new extension, picked from the list.
	p = b.get("/console/k/ring_groups/o/sales")
	if !strings.Contains(p.body, `<option value="ext:201"`) {
		t.Fatal("the ring group's member picker does not offer the draft's new extension")
	}
	p = b.post("/console/k/ring_groups/o/sales", "id", "sales", "stages.0.ring.0", "ext:101", "stages.0.for", "10s",
		"stages.1.ring.0", "ext:101", "stages.1.ring.1", "ext:201", "stages.1.for", "25", "no_answer", "hangup")
	if p.code != http.StatusSeeOther {
		t.Fatalf("save ring group: %d\n%s", p.code, p.body)
	}

	p = b.get("/console/review")
	for _, want := range []string{"extension 201", "ring group sales", "stages[1].for", "25s"} {
		if !strings.Contains(html.UnescapeString(p.body), want) {
			t.Errorf("review page lacks %q", want)
		}
	}
	if d := b.get("/console/review/diff"); !strings.Contains(d.body, "+  - number: \"201\"") || strings.Contains(d.body, "ann-secret") {
		t.Errorf("site-file diff:\n%s", d.body)
	}
	if strings.Contains(p.body, "ann-secret-201x") {
		t.Error("the review page shows the new extension's SIP password")
	}
	p = b.post("/console/apply", "base", baseOf(t, p.body))
	if p.code != http.StatusSeeOther || !strings.Contains(p.body, "is in use") {
		t.Fatalf("apply: %d\n%s", p.code, p.body)
	}
	cur := e.cfg.Current()
	if cur.Version == before {
		t.Fatal("apply did not publish a new configuration")
	}
	if len(cur.Site.Extensions) != 3 || cur.Site.Extensions[2].Number != "201" || cur.Site.Extensions[2].Secret != "ann-secret-201x" {
		t.Fatalf("applied extensions: %+v", cur.Site.Extensions)
	}
	if got := cur.Site.RingGroups[0].Stages[1]; len(got.Ring) != 2 || got.Ring[1] != "ext:201" || got.For.String() != "25s" {
		t.Fatalf("applied stage: %+v", got)
	}
	// The history names who applied it.
	if !strings.Contains(p.body, "alice") || !strings.Contains(p.body, "in use") {
		t.Error("the history page does not show alice's version in use")
	}
	// The users were not lost on the way: alice still logs in.
	e.login("alice", consoleAdminPW)
}

func TestConsoleFormShowsEachProblemAtItsField(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	p := b.post("/console/k/ring_groups/new", "id", "new group!", "stages.0.ring.0", "ext:101", "stages.0.for", "soon", "no_answer", "queue:nope")
	if p.code != http.StatusUnprocessableEntity {
		t.Fatalf("a form with three mistakes: %d", p.code)
	}
	for id, want := range map[string]string{
		"f-id":           "not a valid",
		"f-stages-0-for": "bad duration",
		"f-no_answer":    "unknown destination",
	} {
		if got := fieldError(p.body, id); !strings.Contains(got, want) {
			t.Errorf("field %s shows %q, want a message containing %q", id, got, want)
		}
	}
	// What was typed is kept.
	for _, typed := range []string{`value="new group!"`, `value="soon"`, `<option value="queue:nope" selected>`} {
		if !strings.Contains(p.body, typed) {
			t.Errorf("the form lost %s", typed)
		}
	}
	if d := b.get("/console/review"); !strings.Contains(d.body, "no changes") {
		t.Error("a refused form changed the draft")
	}
}

func TestConsoleDeleteInUseRefused(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	p := b.post("/console/k/queues/o/support/delete")
	if !strings.Contains(p.body, "is used by") || !strings.Contains(p.body, "IVR main") {
		t.Fatalf("deleting a queue an IVR uses was not refused with where it is used:\n%s", p.body)
	}
	if d := b.get("/console/review"); !strings.Contains(d.body, "no changes") {
		t.Error("a refused delete changed the draft")
	}
	// An unused object goes.
	p = b.post("/console/k/schedules/o/office/delete")
	if !strings.Contains(p.body, "Deleted schedule office in your draft") {
		t.Fatalf("deleting an unused schedule:\n%s", p.body)
	}
}

func TestConsoleRoles(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	for _, u := range []struct{ login, pw string }{{"mona", consoleMgrPW}, {"al", consoleAgentPW}} {
		b := e.login(u.login, u.pw)
		for _, path := range []string{"/console", "/console/k/extensions", "/console/k/extensions/o/101", "/console/review", "/console/history", "/console/sitefile/download?secrets=1", "/console/phones/101", "/console/tokens"} {
			if p := b.get(path); p.code != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", u.login, path, p.code)
			}
		}
		for _, path := range []string{"/console/k/extensions/new", "/console/apply", "/console/phones/101/reveal", "/console/tokens", "/console/history/1/restore"} {
			if p := b.post(path, "number", "999", "secret", "x-secret-999", "name", "t"); p.code != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", u.login, path, p.code)
			}
		}
	}
	// A forged cross-site post with an admin's cookie is refused.
	b := e.login("alice", consoleAdminPW)
	r := httptest.NewRequest("POST", "/console/discard", nil)
	r.Header.Set("Cookie", b.cookie)
	r.Header.Set("Origin", "http://evil.example")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", w.Code)
	}
	// Without a session, pages send the browser to the login page.
	r = httptest.NewRequest("GET", "/console/k/queues", nil)
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
		t.Errorf("anonymous GET: %d %s", w.Code, w.Header().Get("Location"))
	}
}

func TestConsoleSecondApplyOverChangedBaseRefused(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	alice, bruno := e.login("alice", consoleAdminPW), e.login("bruno", consoleOtherPW)
	alice.post("/console/k/extensions/o/102", "number", "102", "name", "Carol Office")
	bruno.post("/console/k/extensions/o/101", "number", "101", "name", "Bob Desk")
	brunoReview := bruno.get("/console/review")
	p := alice.post("/console/apply", "base", baseOf(t, alice.get("/console/review").body))
	if !strings.Contains(p.body, "is in use") {
		t.Fatalf("alice's apply:\n%s", p.body)
	}
	// Bruno applies from the review page he opened before alice applied.
	p = bruno.post("/console/apply", "base", baseOf(t, brunoReview.body))
	if !strings.Contains(p.body, "Not applied") && !strings.Contains(p.body, "changed since this page was shown") {
		t.Fatalf("bruno's apply over a changed base was not refused:\n%s", p.body)
	}
	if e.cfg.Current().Site.Extensions[0].Name != "Bob" {
		t.Fatal("bruno's refused apply changed the configuration")
	}
	// His draft now builds on alice's version: reviewing and applying again
	// keeps both changes.
	p = bruno.get("/console/review")
	if !strings.Contains(p.body, "extension 101") || strings.Contains(p.body, "extension 102") {
		t.Fatalf("bruno's rebased review should show only his change:\n%s", p.body)
	}
	bruno.post("/console/apply", "base", baseOf(t, p.body))
	exts := e.cfg.Current().Site.Extensions
	if exts[0].Name != "Bob Desk" || exts[1].Name != "Carol Office" {
		t.Fatalf("after both applies: %+v", exts)
	}
	// The same object changed by both: a conflict, named.
	alice.post("/console/k/extensions/o/101", "number", "101", "name", "From Alice")
	bruno.post("/console/k/extensions/o/101", "number", "101", "name", "From Bruno")
	alice.post("/console/apply", "base", baseOf(t, alice.get("/console/review").body))
	p = bruno.get("/console/review")
	if !strings.Contains(p.body, "changed both in your draft and by someone") {
		t.Fatalf("a conflicting draft is not reported:\n%s", p.body)
	}
	if e.cfg.Current().Site.Extensions[0].Name != "From Alice" {
		t.Fatal("alice's apply is not in use")
	}
}

func TestConsoleRestoreEarlierVersion(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	first := e.cfg.Current().Version
	b.post("/console/k/inbound/o/0", "match", "5551000", "to", "queue:support")
	b.post("/console/apply", "base", baseOf(t, b.get("/console/review").body))
	if got := e.cfg.Current().Site.Inbound[0].To; got != "queue:support" {
		t.Fatalf("inbound after apply: %s", got)
	}
	p := b.post(fmt.Sprintf("/console/history/%d/restore", first))
	if !strings.Contains(p.body, "inbound route") || !strings.Contains(p.body, "ivr:main") {
		t.Fatalf("the restore review does not show the route going back:\n%s", p.body)
	}
	m := regexp.MustCompile(`name="restored_from" value="(\d+)"`).FindStringSubmatch(p.body)
	if m == nil || m[1] != fmt.Sprint(first) {
		t.Fatalf("restore review does not carry the version restored: %v", m)
	}
	p = b.post("/console/apply", "base", baseOf(t, p.body), "restored_from", m[1])
	if got := e.cfg.Current().Site.Inbound[0].To; got != "ivr:main" {
		t.Fatalf("inbound after restore: %s", got)
	}
	if !strings.Contains(p.body, fmt.Sprintf("restored version %d", first)) {
		t.Error("history does not say which version was restored")
	}
	e.login("mona", consoleMgrPW) // users came back with their passwords
}

func TestConsoleEveryKindHasAFormUnder100KB(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	paths := []string{"/console", "/console/system", "/console/review", "/console/history", "/console/sitefile", "/console/phones", "/console/phones/101", "/console/tokens", "/console/audio",
		"/console/k/ring_groups/o/sales", "/console/k/ivrs/o/main", "/console/k/schedules/o/office", "/console/k/queues/o/support"}
	for _, k := range []string{"extensions", "agents", "users", "ring_groups", "hunt_groups", "queues", "ivrs", "announcements", "schedules", "inbound", "outbound", "trunks", "lines", "voicemail", "prompts", "hold_music", "caller_lists"} {
		paths = append(paths, "/console/k/"+k, "/console/k/"+k+"/new")
	}
	for _, path := range paths {
		p := b.get(path)
		if p.code != 200 {
			t.Errorf("GET %s: %d\n%s", path, p.code, p.body)
			continue
		}
		if len(p.body) > 100<<10 {
			t.Errorf("GET %s: %d bytes, over 100 KB", path, len(p.body))
		}
		if !strings.Contains(p.body, `href="#main"`) {
			t.Errorf("GET %s: no skip link", path)
		}
	}
	if p := b.get("/console/k/hunt_groups"); !strings.Contains(p.body, "None yet") {
		t.Error("an empty list does not say None yet")
	}
	if p := b.get("/console/k/ring_groups/o/sales"); !strings.Contains(p.body, "<svg") {
		t.Error("the ring group page has no timeline")
	}
}

func TestConsoleWebUsersAndTokens(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	p := b.post("/console/k/users/new", "login", "zoe", "role", "manager", "password", "short")
	if got := fieldError(p.body, "f-password"); !strings.Contains(got, "at least 10") {
		t.Fatalf("a short password is not refused at its field: %q", got)
	}
	b.post("/console/k/users/new", "login", "zoe", "role", "manager", "password", "Zoe-Manager-Pass-9")
	// Reset mona's password in the same change set.
	b.post("/console/k/users/o/mona", "login", "mona", "role", "manager", "password", "Mona-New-Password-7")
	p = b.get("/console/review")
	if strings.Contains(p.body, "Zoe-Manager-Pass-9") || strings.Contains(p.body, "Mona-New-Password-7") {
		t.Fatal("the review shows a password")
	}
	b.post("/console/apply", "base", baseOf(t, p.body))
	e.login("zoe", "Zoe-Manager-Pass-9")
	e.login("mona", "Mona-New-Password-7")
	// A token is shown once, then only its name.
	p = b.post("/console/tokens", "name", "wallboard", "role", "manager")
	tok := regexp.MustCompile(`id="new-token">([^<]+)<`).FindStringSubmatch(p.body)
	if tok == nil {
		t.Fatalf("the new token is not shown:\n%s", p.body)
	}
	if _, err := e.st.Token(context.Background(), tok[1]); err != nil {
		t.Fatalf("the shown token does not work: %v", err)
	}
	if p = b.get("/console/tokens"); strings.Contains(p.body, tok[1]) || !strings.Contains(p.body, "wallboard") {
		t.Fatal("the token list shows the token again, or not its name")
	}
	b.post("/console/tokens/wallboard/revoke")
	if _, err := e.st.Token(context.Background(), tok[1]); err == nil {
		t.Fatal("a revoked token still works")
	}
}

// FuzzConsoleForm posts arbitrary form bodies to every kind's form: the
// console must answer with the form again (422) or a saved draft (303),
// never fail or crash.
func FuzzConsoleForm(f *testing.F) {
	e := newConsoleEnv(f, consoleSite)
	b := e.login("alice", consoleAdminPW)
	kinds := []string{"extensions", "agents", "users", "ring_groups", "hunt_groups", "queues", "ivrs", "announcements", "schedules",
		"inbound", "outbound", "trunks", "lines", "voicemail", "prompts", "hold_music"}
	f.Add(uint8(3), "id=x&stages.0.ring.0=ext:101&stages.0.for=10s&no_answer=hangup")
	f.Add(uint8(6), "id=m&options.k.0=1&options.v.0=external&options.v.0.ext=+15551234567&options.k.1=1&options.v.1=hangup")
	f.Add(uint8(5), "id=q&agents.0.agent=bob&agents.0.level=2&agents.99999.agent=bob&comfort.set=1&comfort.every=x")
	f.Add(uint8(0), "number=%00&secret=%ff%fe&permission=galactic&voicemail=1")
	f.Add(uint8(8), "id=s&open.0.days=mon-fri&open.0.from=25:00&holidays.0=2026-13-40&holidays.-1=x")
	f.Fuzz(func(t *testing.T, k uint8, body string) {
		kind := kinds[int(k)%len(kinds)]
		r := httptest.NewRequest("POST", "/console/k/"+kind+"/new", strings.NewReader(body))
		r.Header.Set("Cookie", b.cookie)
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther && w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("POST %s %q: %d\n%s", kind, body, w.Code, w.Body)
		}
		// Leave the draft empty for the next input.
		r = httptest.NewRequest("POST", "/console/discard", nil)
		r.Header.Set("Cookie", b.cookie)
		r.Header.Set("Origin", "http://example.com")
		e.h.ServeHTTP(httptest.NewRecorder(), r)
	})
}

// The ring group page's dry run is of the draft: a member added in the
// draft who works only on Mondays is shown skipped, with why, for a call on
// a Sunday.
func TestConsoleRingGroupDryRunOfTheDraft(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	b.post("/console/k/agents/new", "id", "carl", "name", "Carl", "extension", "102", "hours.0.days", "mon", "hours.0.from", "09:00", "hours.0.to", "10:00")
	b.post("/console/k/ring_groups/o/sales", "id", "sales", "stages.0.ring.0", "ext:101", "stages.0.ring.1", "carl", "stages.0.for", "10s", "no_answer", "hangup")
	p := b.get("/console/k/ring_groups/o/sales?at=2026-12-06T12:00")
	svg := p.body[strings.Index(p.body, "<svg"):]
	if !strings.Contains(svg, "Carl") || !strings.Contains(svg, "off hours") {
		t.Fatalf("the dry run does not show the draft's member skipped off hours:\n%s", svg)
	}
	if !strings.Contains(p.body, `value="2026-12-06T12:00"`) {
		t.Error("the dry-run time is not kept in its field")
	}
	// On Monday at 09:30 Carl rings.
	p = b.get("/console/k/ring_groups/o/sales?at=2026-12-07T09:30")
	if svg := p.body[strings.Index(p.body, "<svg"):]; strings.Contains(svg, "off hours") {
		t.Errorf("Carl is skipped on Monday at 09:30:\n%s", svg)
	}
}
