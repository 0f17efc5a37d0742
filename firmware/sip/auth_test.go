package sip

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

// logBuf collects a server's log for tests that read it.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log lines containing every one of subs.
func (l *logBuf) lines(subs ...string) []string {
	var out []string
next:
	for _, line := range strings.Split(l.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

func withLog(l *logBuf) envOpt {
	return func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// challenges returns the algorithms of a 401's challenges, in order.
func challenges(r rawRes) []string {
	var out []string
	for _, h := range r.hdrs["www-authenticate"] {
		_, alg, _ := strings.Cut(h, "algorithm=")
		alg, _, _ = strings.Cut(alg, ",")
		out = append(out, strings.TrimSpace(alg))
	}
	return out
}

func TestDigestAlgorithms(t *testing.T) {
	env := newEnv(t, nil)
	challenge := func() []string {
		t.Helper()
		u := newRawUA(t, env.addr)
		r := u.register(regOpts{ext: "1001", cseq: 1})
		if r.code != 401 {
			t.Fatalf("unauthenticated REGISTER: %d, want 401", r.code)
		}
		return challenges(r)
	}
	reg := func(alg string) int {
		t.Helper()
		u := newRawUA(t, env.addr)
		return u.authRegister(regOpts{ext: "1001", pass: "secret1001", alg: alg, cseq: 1,
			contacts: []string{fmt.Sprintf("<sip:1001@127.0.0.1:%d>", u.port())}, expires: "60"}).code
	}
	// The default: MD5 alone, which every phone answers.
	if got := challenge(); len(got) != 1 || got[0] != "MD5" {
		t.Fatalf("default challenges %q, want MD5 alone", got)
	}
	if code := reg(digest.MD5); code != 200 {
		t.Errorf("MD5 REGISTER on the defaults: %d, want 200", code)
	}
	if code := reg(digest.SHA256); code != 401 {
		t.Errorf("SHA-256 answer when only MD5 is offered: %d, want 401", code)
	}

	// The site asks for SHA-256: the next challenge says so.
	env.setSite(&site.Site{System: site.System{SIPDigest: []string{"sha256"}}})
	if got := challenge(); len(got) != 1 || got[0] != "SHA-256" {
		t.Fatalf("challenges with sip_digest [sha256]: %q, want SHA-256 alone", got)
	}
	if code := reg(digest.SHA256); code != 200 {
		t.Errorf("SHA-256 REGISTER with sip_digest [sha256]: %d, want 200", code)
	}
	if code := reg(digest.MD5); code != 401 {
		t.Errorf("MD5 answer with sip_digest [sha256]: %d, want 401 (MD5 is not offered)", code)
	}
	env.setSite(&site.Site{System: site.System{SIPDigest: []string{"sha256", "md5"}}})
	if got := challenge(); len(got) != 2 || got[0] != "SHA-256" || got[1] != "MD5" {
		t.Fatalf("challenges with sip_digest [sha256, md5]: %q, want SHA-256 then MD5", got)
	}
	if reg(digest.MD5) != 200 || reg(digest.SHA256) != 200 {
		t.Errorf("with both offered, MD5 and SHA-256 must both register")
	}

	// Config.Algorithms (the --sip-digest flag) overrides the site.
	fixed := newEnv(t, nil, func(c *Config) { c.Algorithms = []string{digest.MD5, digest.SHA256} })
	fixed.setSite(&site.Site{System: site.System{SIPDigest: []string{"sha256"}}})
	u := newRawUA(t, fixed.addr)
	if got := challenges(u.register(regOpts{ext: "1001", cseq: 1})); len(got) != 2 || got[0] != "MD5" || got[1] != "SHA-256" {
		t.Errorf("Algorithms [MD5 SHA-256] with sip_digest [sha256]: challenges %q, want MD5 then SHA-256", got)
	}
}

// SIPp signs sip:BOXIP:PORT instead of the Request-URI unless told
// otherwise (-auth_uri); the box accepts that, and nothing else.
func TestDigestURINamesTheBox(t *testing.T) {
	env := newEnv(t, nil)
	tests := []struct {
		name       string
		requestURI string
		digestURI  string
		want       int
	}{
		{"the Request-URI", "sip:" + testRealm, "", 200},
		{"the box's address and port", "sip:" + testRealm, "sip:" + env.addr, 200},
		{"the box's address with a parameter", "sip:" + testRealm, "sip:" + env.addr + ";transport=udp", 200},
		{"another port", "sip:" + testRealm, fmt.Sprintf("sip:127.0.0.1:%d", env.port+2), 401},
		{"the default port", "sip:" + testRealm, "sip:127.0.0.1", 401},
		{"another host", "sip:" + testRealm, fmt.Sprintf("sip:192.0.2.1:%d", env.port), 401},
		{"a user at the box", "sip:" + testRealm, "sip:1002@" + env.addr, 401},
		{"another scheme", "sip:" + testRealm, "tel:" + env.addr, 401},
		{"another request", "sip:" + testRealm, "sip:other.example", 401},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newRawUA(t, env.addr)
			r := u.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 1, callID: fmt.Sprintf("duri%d", i),
				requestURI: tt.requestURI, digestURI: tt.digestURI,
				contacts: []string{fmt.Sprintf("<sip:1001@127.0.0.1:%d>", u.port())}, expires: "60"})
			if r.code != tt.want {
				t.Errorf("digest uri %q for Request-URI %q: %d, want %d", tt.digestURI, tt.requestURI, r.code, tt.want)
			}
		})
	}
}

func TestIsBoxURIListeningOnAll(t *testing.T) {
	// A box listening on 0.0.0.0 is any of its interfaces' addresses.
	s := &Server{host: "192.0.2.5", port: 5060}
	for uri, want := range map[string]bool{
		"sip:192.0.2.5":          true, // the public host, default port
		"sip:192.0.2.5:5060":     true,
		"sip:127.0.0.1:5060":     true, // loopback is an interface of every machine
		"<sip:127.0.0.1:5060>":   true,
		"sip:[::ffff:127.0.0.1]": true,
		"sip:127.0.0.1:5070":     false,
		"sips:127.0.0.1":         false, // 5061
		"sip:192.0.2.6":          false,
		"sip:1001@127.0.0.1":     false,
		"sip:*":                  false,
		"garbage":                false,
	} {
		if got := s.isBoxURI(uri); got != want {
			t.Errorf("isBoxURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestAuthFailuresLogged(t *testing.T) {
	logs := &logBuf{}
	env := newEnv(t, nil, withLog(logs), func(c *Config) { c.nonceLifetime = 300 * time.Millisecond })
	var sent []string
	expect := func(what string, r rawRes, code int, reason, user string) {
		t.Helper()
		if r.code != code {
			t.Errorf("%s: %d, want %d", what, r.code, code)
		}
		if got := logs.lines("sip auth failed", `reason="`+reason+`"`, "user="+user); len(got) != 1 {
			t.Errorf("%s: %d log lines with reason %q and user %s, want 1\n%s", what, len(got), reason, user, logs)
		}
	}
	contact := func(u *rawUA, ext string) []string {
		return []string{fmt.Sprintf("<sip:%s@127.0.0.1:%d>", ext, u.port())}
	}

	u := newRawUA(t, env.addr)
	var resp string
	r := u.authRegister(regOpts{ext: "1001", pass: "not-the-secret", cseq: 1, contacts: contact(u, "1001"), sent: &resp})
	sent = append(sent, resp)
	expect("wrong password", r, 403, "wrong password", "1001")

	u = newRawUA(t, env.addr)
	r = u.authRegister(regOpts{ext: "7777", pass: "whatever", cseq: 1, contacts: contact(u, "7777"), sent: &resp})
	sent = append(sent, resp)
	expect("unknown user", r, 403, "unknown user", "7777") // the same 403 as a wrong password

	u = newRawUA(t, env.addr)
	r = u.authRegister(regOpts{ext: "1002", user: "1001", pass: "secret1001", cseq: 1, contacts: contact(u, "1002"), sent: &resp})
	sent = append(sent, resp)
	expect("another extension's bindings", r, 403, string(reasonNotOwnBinding), "1001")

	// An algorithm the box does not implement.
	u = newRawUA(t, env.addr)
	r = u.roundTrip(fmt.Sprintf("REGISTER sip:%[1]s SIP/2.0\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%[2]d;branch=z9hG4bKalg\nFrom: <sip:1001@%[1]s>;tag=a\nTo: <sip:1001@%[1]s>\n"+
		"Call-ID: alg@test\nCSeq: 1 REGISTER\nMax-Forwards: 70\n"+
		"Authorization: Digest username=\"1001\", realm=\"%[3]s\", nonce=\"n\", uri=\"sip:%[1]s\", response=\"00ff\", algorithm=SHA-512-256, qop=auth, nc=00000001, cnonce=\"c\"\n"+
		"Content-Length: 0\n\n", env.addr, u.port(), testRealm))
	if r.code != 401 || len(logs.lines("sip auth failed", `reason="unknown algorithm"`)) != 1 {
		t.Errorf("SHA-512-256 answer: %d, want 401 and one log line with reason unknown algorithm\n%s", r.code, logs)
	}

	// A right answer on a nonce that has expired: the phone is told stale.
	u = newRawUA(t, env.addr)
	first := u.register(regOpts{ext: "1001", cseq: 1, contacts: contact(u, "1001")})
	time.Sleep(400 * time.Millisecond)
	r = u.register(regOpts{ext: "1001", pass: "secret1001", cseq: 2, contacts: contact(u, "1001"),
		nonce: nonceRe.FindStringSubmatch(first.get("WWW-Authenticate"))[1], sent: &resp})
	sent = append(sent, resp)
	if !strings.Contains(r.get("WWW-Authenticate"), "stale=true") {
		t.Errorf("answer on an expired nonce: %d %q, want a stale=true challenge", r.code, r.get("WWW-Authenticate"))
	}
	expect("stale nonce", r, 401, "stale nonce", "1001")

	// Nothing of the credentials' answer, and no password, in the log.
	out := logs.String()
	for _, s := range append(sent, "not-the-secret", "secret1001", "response") {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the log contains %q:\n%s", s, out)
		}
	}
}

func TestAuthFailureLogRateLimited(t *testing.T) {
	logs := &logBuf{}
	env := newEnv(t, nil, withLog(logs))
	u := newRawUA(t, env.addr)
	const tries = 3 * authLogBurst
	for i := range tries {
		r := u.authRegister(regOpts{ext: "1001", pass: "guess" + fmt.Sprint(i), cseq: 2*i + 1, callID: "flood@test"})
		if r.code != 403 {
			t.Fatalf("guess %d: %d, want 403", i, r.code)
		}
	}
	// A burst, then about one line per authLogEvery: a flood is cut short.
	if n := len(logs.lines("sip auth failed")); n < authLogBurst || n > authLogBurst+1 {
		t.Errorf("%d wrong passwords gave %d log lines, want %d or %d", tries, n, authLogBurst, authLogBurst+1)
	}
	if n := env.s.AuthFailures()[mustAddr("127.0.0.1")]; n != tries {
		t.Errorf("AuthFailures = %d, want %d: every failure counts for the ban list, logged or not", n, tries)
	}
}

func TestLogLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLogLimiter(3, time.Second)
		for i := range 3 {
			if ok, n := l.allow(digest.ReasonWrong); !ok || n != 0 {
				t.Fatalf("line %d of the burst: allow = %v, %d", i, ok, n)
			}
		}
		for i := range 5 {
			if ok, _ := l.allow(digest.ReasonWrong); ok {
				t.Fatalf("line %d past the burst allowed", i)
			}
		}
		if ok, n := l.allow(digest.ReasonStale); !ok || n != 0 {
			t.Errorf("another reason has its own bucket: allow = %v, %d", ok, n)
		}
		time.Sleep(time.Second)
		if ok, n := l.allow(digest.ReasonWrong); !ok || n != 5 {
			t.Errorf("after a second: allow = %v, suppressed %d; want true, 5", ok, n)
		}
		if ok, _ := l.allow(digest.ReasonWrong); ok {
			t.Error("a second line within the second allowed")
		}
		time.Sleep(time.Hour)
		for i := range 3 {
			if ok, n := l.allow(digest.ReasonWrong); !ok || (i == 0) != (n == 1) || n > 1 {
				t.Errorf("after an hour, line %d: allow = %v, suppressed %d", i, ok, n)
			}
		}
		if ok, _ := l.allow(digest.ReasonWrong); ok {
			t.Error("the bucket holds more than its burst after an hour")
		}
	})
}

// The digest uri is the peer's text: whatever it is, isBoxURI answers
// without panicking and never takes a URI with a user part for the box
// (TestDigestURINamesTheBox and TestIsBoxURIListeningOnAll pin the rest).
func FuzzIsBoxURI(f *testing.F) {
	for _, s := range []string{"sip:127.0.0.1:5060", "sip:[::1]:5060", "<sip:192.0.2.5>", "sip:1001@127.0.0.1", "sips:x", "sip:[", "tel:+1555"} {
		f.Add(s)
	}
	s := &Server{host: "192.0.2.5", ip: mustAddr("127.0.0.1"), port: 5060}
	f.Fuzz(func(t *testing.T, uri string) {
		if !s.isBoxURI(uri) {
			return
		}
		if strings.Contains(uri, "@") {
			t.Errorf("isBoxURI(%q) = true for a URI with a user part", uri)
		}
	})
}
