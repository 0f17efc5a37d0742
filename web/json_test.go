package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"ringbox/web"
)

type ext struct {
	Number string   `json:"number"`
	Name   string   `json:"name"`
	Ring   int      `json:"ring_seconds"`
	Tags   []string `json:"tags"`
	Mobile struct {
		Prefix  string `json:"prefix"`
		Confirm bool   `json:"confirm"`
	} `json:"mobile"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		status            int // 0: success
		want              string
	}{
		{"ok", `{"number":"101","name":"Desk","ring_seconds":20}`, "application/json", 0, ""},
		{"ok without content type", `{"number":"101"}`, "", 0, ""},
		{"ok with charset", `{"number":"101"}`, "application/json; charset=utf-8", 0, ""},
		{"unknown field", `{"number":"101","nmae":"x"}`, "", 400, `unknown field "nmae"`},
		{"wrong type", `{"number":101}`, "", 400, `field "number" must be a string, not number`},
		{"wrong nested type", `{"mobile":{"confirm":"yes"}}`, "", 400, `field "mobile.confirm" must be true or false, not string`},
		{"wrong int", `{"ring_seconds":"20"}`, "", 400, `field "ring_seconds" must be an integer, not string`},
		{"fraction for int", `{"ring_seconds":2.5}`, "", 400, `field "ring_seconds" must be an integer`},
		{"array element", `{"tags":[1]}`, "", 400, `field "tags`},
		{"not an object", `[1,2]`, "", 400, "request body must be an object, not array"},
		{"syntax", `{"number":"101",}`, "", 400, "invalid JSON at byte"},
		{"truncated", `{"number":"1`, "", 400, "truncated"},
		{"empty", ``, "", 400, "empty"},
		{"two values", `{} {}`, "", 400, "single JSON value"},
		{"trailing garbage", `{"number":"1"} x`, "", 400, "single JSON value"},
		{"form post", `number=101`, "application/x-www-form-urlencoded", 415, "application/json"},
		{"too large", `{"name":"` + strings.Repeat("x", web.MaxBodyBytes) + `"}`, "", 413, "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			var v ext
			err := web.DecodeJSON(r, &v)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("DecodeJSON(%s) = %v", tt.body, err)
				}
				if v.Number != "101" {
					t.Errorf("number = %q", v.Number)
				}
				return
			}
			var re *web.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeJSON(%.40s) = %v, want a *RequestError", tt.body, err)
			}
			if re.Status != tt.status || !strings.Contains(re.Msg, tt.want) {
				t.Errorf("DecodeJSON(%.40s) = %d %q, want %d containing %q", tt.body, re.Status, re.Msg, tt.status, tt.want)
			}
		})
	}
}

func TestLoginBadBodyNamesField(t *testing.T) {
	e := newEnv(t)
	w := e.req("POST", "/api/v1/session", `{"login":"al","pasword":"x"}`)
	if w.Code != 400 || !strings.Contains(errorOf(t, w), `"pasword"`) {
		t.Errorf("login with a misspelt field = %d %s, want 400 naming it", w.Code, w.Body)
	}
	w = e.req("POST", "/api/v1/session", `{"login":"al","password":12}`)
	if w.Code != 400 || !strings.Contains(errorOf(t, w), `"password"`) {
		t.Errorf("login with a number password = %d %s, want 400 naming it", w.Code, w.Body)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	web.WriteJSON(w, http.StatusTeapot, map[string]int{"n": 1})
	if w.Code != http.StatusTeapot || w.Body.String() != "{\"n\":1}\n" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("WriteJSON = %d %q %v", w.Code, w.Body, w.Header())
	}
	w = httptest.NewRecorder()
	web.WriteJSON(w, http.StatusOK, map[string]any{"f": func() {}})
	if w.Code != 500 {
		t.Errorf("unencodable value = %d, want 500", w.Code)
	}
}

// FuzzLoginBody throws arbitrary bodies at the unauthenticated JSON
// endpoints: no panic, no 5xx.
func FuzzLoginBody(f *testing.F) {
	for _, s := range []string{
		`{"login":"al","password":"agent-secret-3"}`,
		`{"login":"al","password":"x"}`,
		`{"login":"boss","password":"correct horse battery","confirm":"correct horse battery"}`,
		`{"login":1}`, `[]`, `null`, `{"a":{"b":[1,2,{"c":null}]}}`, `"\ud800"`, ``, `{`, "{\"login\":\"\x00\"}",
	} {
		f.Add(s)
	}
	e := newEnv(f)
	bare := newBareEnv(f)
	var n atomic.Uint32
	f.Fuzz(func(t *testing.T, body string) {
		i := n.Add(1)
		addr := fmt.Sprintf("10.%d.%d.%d:1", byte(i>>16), byte(i>>8), byte(i))
		for _, target := range []struct {
			e    *env
			path string
		}{{e, "/api/v1/session"}, {bare, "/api/v1/setup"}} {
			// A fresh address each time keeps the rate limiter out of the way.
			w := target.e.with(t).req("POST", target.path, body, "RemoteAddr", addr, "Content-Type", "application/json")
			if w.Code >= 500 {
				t.Fatalf("POST %s %q = %d %s", target.path, body, w.Code, w.Body)
			}
			if w.Code >= 400 && w.Code != 429 && errorOf(t, w) == "" {
				t.Fatalf("POST %s %q = %d without an error message", target.path, body, w.Code)
			}
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		var v ext
		if err := web.DecodeJSON(r, &v); err != nil {
			var re *web.RequestError
			if !errors.As(err, &re) || re.Msg == "" {
				t.Fatalf("DecodeJSON(%q) = %v, want a RequestError with a message", body, err)
			}
		}
	})
}
