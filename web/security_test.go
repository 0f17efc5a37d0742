package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"ringbox/firmware/auth"
	"ringbox/firmware/edge"
	"ringbox/web"
)

// newBanEnv is the System page with an edge filter holding two bans: an
// address and an extension.
func newBanEnv(t *testing.T) (*sysEnv, *edge.Filter) {
	f := edge.New(edge.Config{})
	for range edge.DefaultFailLimit {
		f.AuthFailed(netip.MustParseAddr("203.0.113.7"), "")
	}
	for i := range edge.DefaultFailLimit {
		f.AuthFailed(netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), "1001")
	}
	e := newSysEnv(t, func(p *web.SystemPage) { p.Bans = f })
	for _, r := range web.SecurityRoutes(&web.Security{Bans: f}) {
		e.srv.HandleRoute(r)
	}
	return e, f
}

func TestBansAPI(t *testing.T) {
	e, f := newBanEnv(t)
	for _, tok := range []string{sysManager, sysAgent} {
		if w := e.do(tok, "GET", "/api/v1/bans"); w.Code != http.StatusForbidden {
			t.Errorf("GET bans as %s: %d, want 403", tok, w.Code)
		}
		if w := e.do(tok, "DELETE", "/api/v1/bans/203.0.113.7"); w.Code != http.StatusForbidden {
			t.Errorf("DELETE ban as %s: %d, want 403", tok, w.Code)
		}
	}
	w := e.do(sysAdmin, "GET", "/api/v1/bans")
	var bans []edge.Ban
	if err := json.Unmarshal(w.Body.Bytes(), &bans); err != nil || w.Code != 200 {
		t.Fatalf("GET bans: %d %s", w.Code, w.Body)
	}
	keys := []string{}
	for _, b := range bans {
		keys = append(keys, b.Key)
		if b.Count != edge.DefaultFailLimit || b.Reason == "" || b.Until.IsZero() {
			t.Errorf("ban %+v lacks its reason, count or end", b)
		}
	}
	if strings.Join(keys, " ") != "203.0.113.7 ext:1001" && strings.Join(keys, " ") != "ext:1001 203.0.113.7" {
		t.Errorf("bans %v, want the address and the extension", keys)
	}
	if w := e.do(sysAdmin, "DELETE", "/api/v1/bans/ext:1001"); w.Code != 200 {
		t.Fatalf("lift ext:1001: %d %s", w.Code, w.Body)
	}
	if w := e.do(sysAdmin, "DELETE", "/api/v1/bans/ext:1001"); w.Code != http.StatusNotFound {
		t.Errorf("lift again: %d, want 404", w.Code)
	}
	if w := e.do(sysAdmin, "DELETE", "/api/v1/bans/not-an-address"); w.Code != http.StatusBadRequest {
		t.Errorf("lift a bad key: %d, want 400", w.Code)
	}
	if len(f.Bans()) != 1 {
		t.Errorf("after the lift: %+v", f.Bans())
	}
}

func TestBansOnSystemPage(t *testing.T) {
	e, f := newBanEnv(t)
	w := e.page("admin", "GET", "/system", nil)
	body := w.Body.String()
	for _, want := range []string{`id="security"`, "203.0.113.7", "ext:1001", `action="/system/bans/lift"`, "authentication failures"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Security card lacks %q", want)
		}
	}
	// The Lift button, from another site: refused (CSRF).
	sess, err := e.auth.CreateSession(t.Context(), auth.Principal{Login: "root", Role: auth.Admin})
	if err != nil {
		t.Fatal(err)
	}
	x := httptest.NewRequest("POST", "/system/bans/lift", strings.NewReader("key=203.0.113.7"))
	x.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	x.Header.Set("Sec-Fetch-Site", "cross-site")
	x.Header.Set("Origin", "https://evil.example")
	x.Header.Set("Cookie", web.CookieName+"="+sess)
	xw := httptest.NewRecorder()
	e.h.ServeHTTP(xw, x)
	if xw.Code == http.StatusSeeOther || len(f.Bans()) != 2 {
		t.Fatalf("a cross-site form lifted a ban: %d", xw.Code)
	}
	// The same from the page itself: lifted.
	r := e.page("admin", "POST", "/system/bans/lift", url.Values{"key": {"203.0.113.7"}})
	if r.Code != http.StatusSeeOther || !strings.Contains(r.Header().Get("Location"), "saved=lifted") {
		t.Fatalf("lift: %d %s", r.Code, r.Header().Get("Location"))
	}
	if len(f.Bans()) != 1 || f.Bans()[0].Key != "ext:1001" {
		t.Errorf("after Lift: %+v", f.Bans())
	}
	if w := e.page("manager", "POST", "/system/bans/lift", url.Values{"key": {"ext:1001"}}); w.Code == http.StatusSeeOther || len(f.Bans()) != 1 {
		t.Errorf("a manager lifted a ban: %d", w.Code)
	}
	if w := e.page("admin", "POST", "/system/bans/lift", url.Values{"key": {"203.0.113.99"}}); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no such ban") {
		t.Errorf("lifting what is not banned: %d", w.Code)
	}
}
