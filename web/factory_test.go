package web_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringbox/board/panel"
	"ringbox/firmware/auth"
	"ringbox/firmware/backup"
	"ringbox/firmware/events"
	"ringbox/web"
	"ringbox/web/webtest"
)

type resetEnv struct {
	t        *testing.T
	dir      string
	h        http.Handler
	reset    *panel.Reset
	restarts int
}

func newResetEnv(t *testing.T) *resetEnv {
	e := &resetEnv{t: t, dir: t.TempDir()}
	for _, f := range []string{"ringbox.db", "ringbox.db-wal", "voicemail/101/m1.wav", "boards/pbx-a.yaml"} {
		p := filepath.Join(e.dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	a := webtest.NewAuth()
	a.AddUser("admin", "right horse", auth.Admin, "")
	a.AddUser("sue", "sue's", auth.Manager, "sue")
	a.AddToken("tok-admin", auth.Principal{Login: "token:ci", Role: auth.Admin})
	quiet := slog.New(slog.DiscardHandler)
	ws := web.New(web.Config{Auth: a, Logger: quiet})
	e.reset = panel.NewReset(panel.ResetConfig{Bus: events.New(),
		Erase:   func() error { return backup.RequestErase(e.dir) },
		Restart: func() { e.restarts++ }})
	ws.FactoryReset(&web.FactoryReset{Request: e.reset, IsNone: func(err error) bool { return errors.Is(err, panel.ErrNoReset) }, Logger: quiet})
	e.h = ws.Handler()
	return e
}

func (e *resetEnv) req(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// login returns the headers of a browser logged in as login.
func (e *resetEnv) login(login, password string) []string {
	w := e.req("POST", "/api/v1/session", `{"login":"`+login+`","password":"`+password+`"}`)
	for _, c := range w.Result().Cookies() {
		if c.Name == web.CookieName {
			return []string{"Cookie", c.Name + "=" + c.Value, "X-Requested-With", "ringbox"}
		}
	}
	e.t.Fatalf("login %s: %d %s", login, w.Code, w.Body)
	return nil
}

// erased reports whether the box's data went (at the "restart").
func (e *resetEnv) erased() bool {
	if _, err := backup.ErasePending(e.dir, slog.New(slog.DiscardHandler)); err != nil {
		e.t.Fatal(err)
	}
	_, err := os.Stat(filepath.Join(e.dir, "voicemail/101/m1.wav"))
	return errors.Is(err, os.ErrNotExist)
}

func TestFactoryResetConfirm(t *testing.T) {
	e := newResetEnv(t)
	admin := e.login("admin", "right horse")
	confirm := func(password string) *httptest.ResponseRecorder {
		return e.req("POST", "/api/v1/system/factory-reset/confirm", `{"password":"`+password+`"}`, admin...)
	}

	// Nothing requested: 409, whatever the password.
	if w := confirm("right horse"); w.Code != http.StatusConflict {
		t.Errorf("confirm with nothing pending: %d %s, want 409", w.Code, w.Body)
	}
	if w := e.req("GET", "/api/v1/system/factory-reset", "", admin...); w.Code != 200 || !strings.Contains(w.Body.String(), `"pending":false`) {
		t.Errorf("GET with nothing pending: %d %s", w.Code, w.Body)
	}

	e.reset.Raise() // the service button
	if w := e.req("GET", "/api/v1/system/factory-reset", "", admin...); !strings.Contains(w.Body.String(), `"pending":true`) || !strings.Contains(w.Body.String(), `"expires"`) {
		t.Errorf("GET with a request pending: %s", w.Body)
	}
	if w := confirm("wrong horse"); w.Code != http.StatusForbidden {
		t.Errorf("confirm with a wrong password: %d %s, want 403", w.Code, w.Body)
	}
	if e.restarts != 0 || e.erased() {
		t.Fatal("a wrong password erased the box")
	}
	if _, ok := e.reset.Pending(); !ok {
		t.Fatal("a wrong password withdrew the request")
	}
	// An API token has no password to give: it cannot confirm.
	if w := e.req("POST", "/api/v1/system/factory-reset/confirm", `{"password":"right horse"}`, "Authorization", "Bearer tok-admin"); w.Code != http.StatusForbidden {
		t.Errorf("confirm with a token: %d %s, want 403", w.Code, w.Body)
	}
	if w := confirm("right horse"); w.Code != http.StatusAccepted {
		t.Fatalf("confirm: %d %s, want 202", w.Code, w.Body)
	}
	if e.restarts != 1 {
		t.Errorf("%d restarts after confirming, want 1", e.restarts)
	}
	if !e.erased() {
		t.Error("the data is still there after a confirmed factory reset and a restart")
	}
	if left, _ := os.ReadDir(e.dir); len(left) != 0 {
		t.Errorf("left after the factory reset: %v", left)
	}
}

func TestFactoryResetForAdminsOnly(t *testing.T) {
	e := newResetEnv(t)
	e.reset.Raise()
	sue := e.login("sue", "sue's")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/system/factory-reset", ""},
		{"POST", "/api/v1/system/factory-reset/confirm", `{"password":"sue's"}`},
		{"POST", "/api/v1/system/factory-reset/cancel", ""},
		{"GET", "/system/factory-reset", ""},
	} {
		if w := e.req(tc.method, tc.path, tc.body, sue...); w.Code != http.StatusForbidden {
			t.Errorf("manager %s %s: %d, want 403", tc.method, tc.path, w.Code)
		}
	}
	if w := e.req("POST", "/api/v1/system/factory-reset/confirm", `{"password":"x"}`); w.Code != http.StatusUnauthorized {
		t.Errorf("confirm without a session: %d, want 401", w.Code)
	}
	if _, ok := e.reset.Pending(); !ok || e.erased() {
		t.Error("a manager changed the request or erased the box")
	}
}

func TestFactoryResetCancel(t *testing.T) {
	e := newResetEnv(t)
	admin := e.login("admin", "right horse")
	if w := e.req("POST", "/api/v1/system/factory-reset/cancel", "", admin...); w.Code != http.StatusConflict {
		t.Errorf("cancel with nothing pending: %d, want 409", w.Code)
	}
	e.reset.Raise()
	if w := e.req("POST", "/api/v1/system/factory-reset/cancel", "", admin...); w.Code != http.StatusOK {
		t.Errorf("cancel: %d %s", w.Code, w.Body)
	}
	if _, ok := e.reset.Pending(); ok {
		t.Error("still pending after cancel")
	}
	if w := e.req("POST", "/api/v1/system/factory-reset/confirm", `{"password":"right horse"}`, admin...); w.Code != http.StatusConflict {
		t.Errorf("confirm after cancel: %d, want 409", w.Code)
	}
	if e.erased() || e.restarts != 0 {
		t.Error("erased after a cancel")
	}
}

func TestFactoryResetPage(t *testing.T) {
	e := newResetEnv(t)
	admin := e.login("admin", "right horse")
	page := func() string {
		w := e.req("GET", "/system/factory-reset", "", admin...)
		if w.Code != 200 {
			t.Fatalf("page: %d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	if b := page(); !strings.Contains(b, "No factory reset is waiting") || strings.Contains(b, "reset-banner") {
		t.Errorf("page with nothing pending:\n%s", b)
	}
	e.reset.Raise()
	b := page()
	if !strings.Contains(b, `name="password"`) || !strings.Contains(b, "reset-banner") {
		t.Errorf("page with a request pending has no form or no banner:\n%s", b)
	}
	form := func(v url.Values) *httptest.ResponseRecorder {
		return e.req("POST", "/system/factory-reset", v.Encode(), append(admin, "Content-Type", "application/x-www-form-urlencoded")...)
	}
	if w := form(url.Values{"action": {"confirm"}, "password": {"nope"}}); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "wrong password") {
		t.Errorf("form with a wrong password: %d", w.Code)
	}
	if e.restarts != 0 {
		t.Fatal("restarted after a wrong password")
	}
	if w := form(url.Values{"action": {"confirm"}, "password": {"right horse"}}); w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), "erasing everything") {
		t.Errorf("form confirm: %d %s", w.Code, w.Body)
	}
	if e.restarts != 1 || !e.erased() {
		t.Errorf("form confirm: %d restarts, erased %v", e.restarts, e.erased())
	}
}
