package sip

import (
	"fmt"
	"strings"
	"testing"
)

func TestRegistrar(t *testing.T) {
	env := newEnv(t, nil)
	contact := func(u *rawUA, params string) string {
		return fmt.Sprintf("<sip:1001@127.0.0.1:%d>%s", u.port(), params)
	}

	t.Run("challenge offers md5 alone by default", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		r := u.register(regOpts{ext: "1001", cseq: 1, contacts: []string{contact(u, "")}})
		ch := r.hdrs["www-authenticate"]
		if r.code != 401 || len(ch) != 1 || !strings.Contains(ch[0], "algorithm=MD5") {
			t.Fatalf("got %d with challenges %q, want 401 with MD5 alone", r.code, ch)
		}
		if !strings.Contains(ch[0], `qop="auth"`) || !strings.Contains(ch[0], `realm="`+testRealm+`"`) {
			t.Errorf("challenge %q lacks qop or realm", ch[0])
		}
	})

	t.Run("register and unregister", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		r := u.authRegister(regOpts{ext: "1002", pass: "secret1002", cseq: 1,
			contacts: []string{fmt.Sprintf("<sip:1002@127.0.0.1:%d>", u.port())}, expires: "120"})
		if r.code != 200 || !strings.Contains(r.get("Contact"), "expires=120") {
			t.Fatalf("REGISTER: %d contact %q, want 200 with expires=120", r.code, r.get("Contact"))
		}
		if n := len(env.s.reg.contacts("1002")); n != 1 {
			t.Fatalf("1002 has %d contacts, want 1", n)
		}
		r = u.authRegister(regOpts{ext: "1002", pass: "secret1002", cseq: 3, contacts: []string{"*"}, expires: "0"})
		if r.code != 200 || r.get("Contact") != "" {
			t.Fatalf("un-REGISTER *: %d contact %q, want 200 and no contact", r.code, r.get("Contact"))
		}
		if n := len(env.s.reg.contacts("1002")); n != 0 {
			t.Errorf("1002 still has %d contacts", n)
		}
	})

	tests := []struct {
		name     string
		contacts []string
		expires  string
		want     int
		hdr      string // header that must be present
	}{
		{"too brief", []string{"<sip:1001@127.0.0.1:7000>"}, "30", 423, "Min-Expires"},
		{"too brief per contact", []string{"<sip:1001@127.0.0.1:7000>;expires=10"}, "", 423, "Min-Expires"},
		{"star without expires 0", []string{"*"}, "60", 400, ""},
		{"star with a contact", []string{"*", "<sip:1001@127.0.0.1:7000>"}, "0", 400, ""},
		{"max expires clamped", []string{"<sip:1001@127.0.0.1:7002>"}, "99999", 200, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUA(t, env.addr)
			r := u.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 1, callID: fmt.Sprintf("case%d", i),
				contacts: tt.contacts, expires: tt.expires})
			if r.code != tt.want {
				t.Fatalf("got %d, want %d\n%s", r.code, tt.want, r.raw)
			}
			if tt.hdr != "" && r.get(tt.hdr) == "" {
				t.Errorf("response lacks %s", tt.hdr)
			}
			if tt.hdr == "Min-Expires" && r.get("Min-Expires") != "60" {
				t.Errorf("Min-Expires = %q, want 60", r.get("Min-Expires"))
			}
			if tt.name == "max expires clamped" && !strings.Contains(r.get("Contact"), "expires=3600") {
				t.Errorf("contact %q, want expires=3600", r.get("Contact"))
			}
		})
	}

	t.Run("same call-id lower cseq fails", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		c := []string{contact(u, "")}
		if r := u.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 10, callID: "order", contacts: c}); r.code != 200 {
			t.Fatalf("first REGISTER: %d", r.code)
		}
		if r := u.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 4, callID: "order", contacts: c}); r.code != 500 {
			t.Fatalf("REGISTER with an older CSeq: %d, want 500 (RFC 3261 §10.3 step 7)", r.code)
		}
		if r := u.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 20, callID: "order", contacts: c}); r.code != 200 {
			t.Fatalf("REGISTER with a newer CSeq: %d, want 200", r.code)
		}
	})

	t.Run("contact limit", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		var cs []string
		for i := range 12 {
			cs = append(cs, fmt.Sprintf("<sip:1003@127.0.0.1:%d>", 8000+i))
		}
		if r := u.authRegister(regOpts{ext: "1003", pass: "secret1003", cseq: 1, contacts: cs}); r.code != 200 {
			t.Fatalf("REGISTER: %d", r.code)
		}
		if n := len(env.s.reg.contacts("1003")); n != MaxContactsPerExt {
			t.Errorf("1003 has %d contacts, want %d", n, MaxContactsPerExt)
		}
	})

	t.Run("no enumeration", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		unknown := u.authRegister(regOpts{ext: "7777", pass: "guess", cseq: 1, contacts: []string{contact(u, "")}})
		wrong := u.authRegister(regOpts{ext: "1001", pass: "guess", cseq: 1, callID: "x2", contacts: []string{contact(u, "")}})
		if unknown.code != 403 || wrong.code != 403 {
			t.Fatalf("unknown user %d, wrong password %d; want 403 for both", unknown.code, wrong.code)
		}
		// Before credentials, both get the same challenge too.
		a := u.register(regOpts{ext: "7777", cseq: 1, callID: "y1"})
		b := u.register(regOpts{ext: "1001", cseq: 1, callID: "y2"})
		if a.code != b.code || len(a.hdrs["www-authenticate"]) != len(b.hdrs["www-authenticate"]) {
			t.Errorf("first answers differ: %d vs %d", a.code, b.code)
		}
	})

	t.Run("registering another extension", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		r := u.authRegister(regOpts{ext: "1002", user: "1001", pass: "secret1001", cseq: 1, contacts: []string{contact(u, "")}})
		if r.code != 403 {
			t.Fatalf("1001 registering 1002: %d, want 403", r.code)
		}
	})

	t.Run("replayed nonce count", func(t *testing.T) {
		u := newRawUA(t, env.addr)
		o := regOpts{ext: "1001", pass: "secret1001", cseq: 1, callID: "replay", contacts: []string{contact(u, "")}}
		r := u.register(o)
		o.nonce = nonceRe.FindStringSubmatch(r.get("WWW-Authenticate"))[1]
		o.cseq, o.nc = 2, 1
		if r := u.register(o); r.code != 200 {
			t.Fatalf("first use: %d", r.code)
		}
		o.cseq = 3
		if r := u.register(o); r.code != 401 {
			t.Fatalf("same nc again: %d, want 401 (fresh challenge)", r.code)
		}
		o.cseq, o.nc = 4, 2
		if r := u.register(o); r.code != 200 {
			t.Fatalf("next nc: %d, want 200", r.code)
		}
	})
}
