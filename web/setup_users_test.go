package web_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/store"
	"ringbox/web"
)

// The first-boot page never comes back once an admin has existed, even if
// the admin is gone (an older firmware's import without users: deleted
// it): otherwise anyone on the network could claim the box. The server is
// the real one over a real store; each step uses a new server, as after a
// restart, so that nothing cached answers for the store.
func TestSetupNeverReturnsOnceAnAdminExisted(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var logs syncBuffer
	server := func() http.Handler {
		return web.New(web.Config{Auth: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Handler()
	}
	req := func(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	h := server()
	if w := req(h, "GET", "/api/v1/setup", ""); strings.TrimSpace(w.Body.String()) != `{"needed":true}` {
		t.Fatalf("setup status on first boot = %s", w.Body)
	}
	if w := req(h, "POST", "/api/v1/setup", `{"login":"installer","password":"correct horse battery"}`); w.Code != http.StatusCreated {
		t.Fatalf("first-boot setup = %d %s", w.Code, w.Body)
	}
	// What an import without users: did before this firmware.
	db, err := sqlOpen(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM users`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if has, _ := st.HasAdmin(ctx); has {
		t.Fatal("the admin is still there")
	}

	h = server()
	if w := req(h, "GET", "/api/v1/setup", ""); strings.TrimSpace(w.Body.String()) != `{"needed":false}` {
		t.Errorf("setup status once an admin existed = %s, want not needed", w.Body)
	}
	w := req(h, "POST", "/api/v1/setup", `{"login":"mallory","password":"another long password"}`)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "setup is done: sign in") {
		t.Errorf("setup once an admin existed = %d %s, want 409 setup is done: sign in", w.Code, w.Body)
	}
	if _, err := st.CheckPassword(ctx, "mallory", "another long password"); err == nil {
		t.Error("mallory became a user")
	}
	if w := req(server(), "GET", "/setup", ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?setup=done" {
		t.Errorf("GET /setup once an admin existed = %d to %q, want 303 to /login?setup=done", w.Code, w.Header().Get("Location"))
	}
	if w := req(server(), "GET", "/", ""); w.Header().Get("Location") == "/setup" {
		t.Error("the dashboard sends to /setup once an admin existed")
	}
	if !strings.Contains(logs.String(), "ringbox admin reset") {
		t.Errorf("no log tells the operator how to recover the admin:\n%s", logs.String())
	}
	// Without a login, requests must not write a log line each.
	for range 3 {
		req(h, "POST", "/api/v1/setup", `{"login":"mallory","password":"another long password"}`)
	}
	if n := strings.Count(logs.String(), "ringbox admin reset"); n != 1 {
		t.Errorf("4 refused setups logged the recovery hint %d times, want once", n)
	}
	// The console's recovery gives the box an admin again.
	if _, err := st.ResetAdmin(ctx, "installer", "a new long password", "cli:admin-reset"); err != nil {
		t.Fatal(err)
	}
	if w := req(server(), "POST", "/api/v1/session", `{"login":"installer","password":"a new long password"}`); w.Code != http.StatusOK {
		t.Errorf("login after admin reset = %d %s", w.Code, w.Body)
	}
}

// The web import keeps users the file does not list, unless replace_users
// asks; it never removes the last admin.
func TestSiteImportUsersOption(t *testing.T) {
	e := newLibEnv(t)
	ctx := t.Context()
	if err := e.st.CreateFirstAdmin(ctx, "installer", "installer-password"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateUser(ctx, "frontdesk", auth.Manager, "", "frontdesk-password"); err != nil {
		t.Fatal(err)
	}
	welcome, jazz := tone(16000, 1, 440, 500*time.Millisecond), tone(16000, 1, 300, 500*time.Millisecond)
	post := func(query string, site string, extra ...part) (int, map[string]any) {
		t.Helper()
		parts := append([]part{{"site", []byte(site)}, {"audio/welcome.wav", welcome}, {"jazz.wav", jazz}}, extra...)
		body, ct := multipartBody(t, parts...)
		code, resp := e.do("POST", "/api/v1/site/import"+query, adminToken, ct, body)
		var a map[string]any
		if err := json.Unmarshal(resp, &a); err != nil {
			t.Fatalf("answer %s: %v", resp, err)
		}
		return code, a
	}
	logins := func() string {
		t.Helper()
		us, err := e.st.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.Login+":"+u.Role)
		}
		return strings.Join(out, ",")
	}

	// No users: in the file: both kept, and the answer says so.
	code, a := post("", importSite)
	if code != 200 || !reflectList(a["kept_users"], "installer", "frontdesk") {
		t.Fatalf("import without users = %d %v, want 200 keeping installer and frontdesk", code, a)
	}
	if got := logins(); got != "installer:admin,frontdesk:manager" {
		t.Errorf("users after the import = %s", got)
	}
	if _, err := e.st.CheckPassword(ctx, "installer", "installer-password"); err != nil {
		t.Errorf("the admin cannot log in after the import: %v", err)
	}

	// Replacing the users with a file that has no admin: refused, by name.
	managers := importSite + "users:\n  - {login: boss, role: manager, password: boss-password-1}\n"
	for _, how := range []struct {
		query string
		extra []part
	}{{"?replace_users=1", nil}, {"", []part{{"replace_users", []byte("true")}}}} {
		code, a = post(how.query, managers, how.extra...)
		if msg, _ := a["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "the import removes every admin (stored: installer)") {
			t.Errorf("replacing users with no admin (%q %v) = %d %v, want 409 naming installer", how.query, how.extra, code, a)
		}
	}
	if got := logins(); got != "installer:admin,frontdesk:manager" {
		t.Errorf("users after a refused import = %s", got)
	}

	// Replacing them with a file that has an admin: exactly the file's.
	admins := importSite + "users:\n  - {login: root, role: admin, password: root-password-1}\n"
	if code, a = post("?replace_users=1", admins); code != 200 || a["kept_users"] != nil {
		t.Errorf("replacing the users = %d %v", code, a)
	}
	if got := logins(); got != "root:admin" {
		t.Errorf("users after replacing = %s, want root:admin", got)
	}
	if code, a = post("?replace_users=maybe", admins); code != 400 {
		t.Errorf("replace_users=maybe = %d %v, want 400", code, a)
	}
}

func reflectList(v any, want ...string) bool {
	l, ok := v.([]any)
	if !ok || len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

// sqlOpen opens the store's database file directly, to do what no code of
// this firmware does.
func sqlOpen(path string) (*sql.DB, error) { return sql.Open("sqlite", path) }

// The console's site-file upload keeps the web users the file does not
// list, unless "Replace the users" is ticked; a draft that would then
// leave no admin is not applied.
func TestConsoleSiteFileKeepsUsers(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	file := strings.Replace(consoleSite, "name: Test Office", "name: Renamed Office", 1)
	upload := func(replace bool) page {
		t.Helper()
		body, ct := multipartBody(t, part{"site", []byte(file)})
		if replace {
			// multipartBody writes file parts; a form field is what the
			// checkbox sends.
			var buf strings.Builder
			mw := multipart.NewWriter(&buf)
			fw, _ := mw.CreateFormFile("site", "site.yaml")
			fw.Write([]byte(strings.Replace(file, "Renamed", "Other", 1)))
			mw.WriteField("replace_users", "1")
			mw.Close()
			body, ct = bytes.NewBufferString(buf.String()), mw.FormDataContentType()
		}
		r := httptest.NewRequest("POST", "/console/sitefile", body)
		r.Header.Set("Cookie", b.cookie)
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("upload = %d %s", w.Code, w.Body)
		}
		r2 := httptest.NewRequest("GET", w.Header().Get("Location"), nil)
		cookies := b.cookie
		for _, c := range w.Result().Cookies() {
			cookies += "; " + c.Name + "=" + c.Value
		}
		r2.Header.Set("Cookie", cookies)
		w2 := httptest.NewRecorder()
		e.h.ServeHTTP(w2, r2)
		return page{code: w2.Code, body: w2.Body.String()}
	}

	p := upload(false)
	if !strings.Contains(p.body, "Kept the web users the file does not list (alice, bruno, mona, al)") {
		t.Errorf("the upload does not say which users it kept:\n%s", p.body)
	}
	p = b.post("/console/apply", "base", baseOf(t, b.get("/console/review").body))
	if !strings.Contains(p.body, "Applied: version") {
		t.Fatalf("applying the site file without users: %s", flashOf(p.body))
	}
	if us, _ := e.st.ListUsers(t.Context()); len(us) != 4 {
		t.Errorf("users after applying a site file without users = %+v, want the 4 kept", us)
	}
	e.login("mona", consoleMgrPW)

	upload(true)
	p = b.post("/console/apply", "base", baseOf(t, b.get("/console/review").body))
	if !strings.Contains(p.body, "the import removes every admin (stored: alice, bruno)") {
		t.Errorf("applying a draft without admins was not refused by name:\n%s", p.body)
	}
	if us, _ := e.st.ListUsers(t.Context()); len(us) != 4 {
		t.Errorf("users after a refused apply = %+v, want the 4", us)
	}
}

// flashOf is the flash messages of a console page, for failure messages.
func flashOf(body string) string {
	i := strings.Index(body, `class="flashes"`)
	if i < 0 {
		return "(no flashes)"
	}
	j := strings.Index(body[i:], "</div>")
	return body[i : i+j]
}
