package digest

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestResponseRFCExamples(t *testing.T) {
	tests := []struct {
		name, alg, user, realm, pass, method, uri, nonce, nc, cnonce, want string
	}{
		// RFC 2617 §3.5.
		{"rfc2617 md5", MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
			"dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "6629fae49393a05397450978507c4ef1"},
		// RFC 7616 §3.9.1, both algorithms.
		{"rfc7616 md5", MD5, "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
			"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
			"8ca523f5e9506fed4657c9700eebdbec"},
		{"rfc7616 sha-256", SHA256, "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
			"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
			"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ha1 := HA1(tt.alg, tt.user, tt.realm, tt.pass)
			if got := Response(tt.alg, ha1, tt.method, tt.uri, tt.nonce, tt.nc, tt.cnonce, "auth"); got != tt.want {
				t.Errorf("Response = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	h := `Digest username="1001", realm="ringbox", nonce="abc", uri="sip:127.0.0.1:5060", ` +
		`response="ABCDEF", algorithm=sha-256, cnonce="x\"y", qop=auth, nc=00000002, opaque=""`
	c, err := ParseCredentials(h)
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{Username: "1001", Realm: "ringbox", Nonce: "abc", URI: "sip:127.0.0.1:5060",
		Response: "abcdef", Algorithm: SHA256, Cnonce: `x"y`, QOP: "auth", NC: "00000002"}
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	bad := []string{
		``, `Basic abc`, `Digest username="a"`, `Digest username="a, nonce="n", uri="u", response="r"`,
		`Digest username="a", username="b", nonce="n", uri="u", response="r"`,
		`Digest username="a", nonce="n", uri="u", response="r", qop=auth`, // no cnonce/nc (svcrack)
		`Digest username="a", nonce="n", uri="u", response="r", qop=auth-int, nc=00000001, cnonce=x`,
		`Digest username="a", nonce="n", uri="u", response="r", algorithm=SHA-512-256`,
		`Digest username="a", nonce="n", uri="u", response="r", qop=auth, cnonce=x, nc=zzzzzzzz`,
	}
	for _, b := range bad {
		_, err := ParseCredentials(b)
		if err == nil {
			t.Errorf("ParseCredentials(%q) accepted", b)
			continue
		}
		// Only the unknown algorithm is reported as such, for the log.
		if unknownAlg := strings.Contains(b, "SHA-512"); errors.Is(err, ErrAlgorithm) != unknownAlg || !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCredentials(%q) = %v: ErrAlgorithm %v, want %v (and ErrMalformed)", b, err, errors.Is(err, ErrAlgorithm), unknownAlg)
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="1001", realm="r", nonce="n", uri="sip:a", response="00", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username="a\\", nonce=n`)
	f.Add(`digest ,,,=,"`)
	f.Fuzz(func(t *testing.T, h string) {
		c, err := ParseCredentials(h)
		if err != nil {
			return
		}
		if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
			t.Fatalf("accepted incomplete credentials %+v", c)
		}
	})
}

// client answers a challenge the way a phone does.
func client(alg, user, pass, realm, method, uri, nonce, nc string) Credentials {
	ha1 := HA1(alg, user, realm, pass)
	return Credentials{Username: user, Realm: realm, Nonce: nonce, URI: uri, Algorithm: alg,
		Cnonce: "c0ffee", QOP: "auth", NC: nc,
		Response: Response(alg, ha1, method, uri, nonce, nc, "c0ffee", "auth")}
}

func TestVerify(t *testing.T) {
	const realm = "ringbox"
	src := netip.MustParseAddr("192.0.2.10")
	other := netip.MustParseAddr("192.0.2.11")
	store := func(alg string) string { return HA1(alg, "1001", realm, "secret") }
	req := Request{Method: "REGISTER", URI: "sip:pbx.example", Src: src}
	synctest.Test(t, func(t *testing.T) {
		n := NewNonces(5*time.Minute, 0)
		nonce := n.New(src)
		md5Only := req
		md5Only.Offered = []string{MD5}
		shaOnly := req
		shaOnly.Offered = []string{SHA256}
		tests := []struct {
			name string
			c    Credentials
			r    Request
			ha1  func(string) string
			want Result
			why  Reason
		}{
			{"md5 ok", client(MD5, "1001", "secret", realm, "REGISTER", req.URI, nonce, "00000001"), req, store, OK, ReasonNone},
			{"sha-256 ok", client(SHA256, "1001", "secret", realm, "REGISTER", req.URI, nonce, "00000002"), req, store, OK, ReasonNone},
			{"nc replay", client(MD5, "1001", "secret", realm, "REGISTER", req.URI, nonce, "00000002"), req, store, Rechallenge, ReasonReplay},
			{"wrong password", client(MD5, "1001", "nope", realm, "REGISTER", req.URI, nonce, "00000003"), req, store, Wrong, ReasonWrong},
			{"unknown user", client(MD5, "9999", "secret", realm, "REGISTER", req.URI, nonce, "00000004"), req, func(string) string { return "" }, Wrong, ReasonUnknownUser},
			{"wrong uri", client(MD5, "1001", "secret", realm, "REGISTER", "sip:other", nonce, "00000005"), req, store, Rechallenge, ReasonURI},
			{"wrong realm", client(MD5, "1001", "secret", "other", "REGISTER", req.URI, nonce, "00000006"), req, store, Rechallenge, ReasonRealm},
			{"other source", client(MD5, "1001", "secret", realm, "REGISTER", req.URI, nonce, "00000007"), Request{Method: "REGISTER", URI: req.URI, Src: other}, store, Rechallenge, ReasonNonce},
			{"forged nonce", client(MD5, "1001", "secret", realm, "REGISTER", req.URI, "AAAA"+nonce[4:], "00000001"), req, store, Rechallenge, ReasonNonce},
			{"wrong method", client(MD5, "1001", "secret", realm, "INVITE", req.URI, nonce, "00000008"), req, store, Wrong, ReasonWrong},
			{"md5 when only sha-256 is offered", client(MD5, "1001", "secret", realm, "REGISTER", req.URI, nonce, "00000009"), shaOnly, store, Rechallenge, ReasonAlgorithm},
			{"sha-256 when only md5 is offered", client(SHA256, "1001", "secret", realm, "REGISTER", req.URI, nonce, "0000000a"), md5Only, store, Rechallenge, ReasonAlgorithm},
			{"md5 offered, no algorithm named", client("", "1001", "secret", realm, "REGISTER", req.URI, nonce, "0000000b"), md5Only, store, OK, ReasonNone},
			{"sha-256 offered and used", client(SHA256, "1001", "secret", realm, "REGISTER", req.URI, nonce, "0000000c"), shaOnly, store, OK, ReasonNone},
		}
		for _, tt := range tests {
			if got, why := n.Verify(tt.c, realm, tt.r, tt.ha1); got != tt.want || why != tt.why {
				t.Errorf("%s: Verify = %v (%q), want %v (%q)", tt.name, got, why, tt.want, tt.why)
			}
		}
		time.Sleep(5*time.Minute + time.Second)
		if got := n.Check(nonce, src); got != NonceStale {
			t.Errorf("after 5m Check = %v, want stale", got)
		}
		c := client(MD5, "1001", "secret", realm, "REGISTER", req.URI, nonce, "00000009")
		if got, why := n.Verify(c, realm, req, store); got != Stale || why != ReasonStale {
			t.Errorf("right answer on expired nonce = %v (%q), want Stale", got, why)
		}
		c = client(MD5, "1001", "nope", realm, "REGISTER", req.URI, nonce, "0000000a")
		if got, why := n.Verify(c, realm, req, store); got != Rechallenge || why != ReasonStaleWrong {
			t.Errorf("wrong answer on expired nonce = %v (%q), want Rechallenge", got, why)
		}
		fresh := n.New(src)
		if got := n.Check(fresh, src); got != NonceValid {
			t.Errorf("fresh nonce = %v, want valid", got)
		}
	})
}

func TestUseCountBounded(t *testing.T) {
	n := NewNonces(0, 4)
	for i := range 20 {
		if !n.UseCount(strings.Repeat("x", i+1), 1) {
			t.Fatalf("first use of nonce %d refused", i)
		}
	}
	if len(n.cur)+len(n.old) > 8 {
		t.Errorf("table holds %d nonces, want at most 8", len(n.cur)+len(n.old))
	}
	// An evicted nonce cannot come back with a high count.
	if n.UseCount("x", 7) {
		t.Error("evicted nonce accepted with nc 7")
	}
}

func TestChallenge(t *testing.T) {
	got := Challenge("ringbox", "n1", SHA256, true)
	want := `Digest realm="ringbox", nonce="n1", algorithm=SHA-256, qop="auth", stale=true`
	if got != want {
		t.Errorf("Challenge = %s, want %s", got, want)
	}
}

// BenchmarkVerify measures one successful SHA-256 verification.
func BenchmarkVerify(b *testing.B) {
	n := NewNonces(0, 0)
	src := netip.MustParseAddr("192.0.2.1")
	nonce := n.New(src)
	ha1 := HA1(SHA256, "1001", "r", "s")
	req := Request{Method: "INVITE", URI: "sip:1002@pbx", Src: src}
	b.ReportAllocs()
	var nc uint32
	for b.Loop() {
		nc++
		c := client(SHA256, "1001", "s", "r", "INVITE", req.URI, nonce, fmt.Sprintf("%08x", nc))
		n.Verify(c, "r", req, func(string) string { return ha1 })
	}
}

// TestNewNonceStartsAtOne: a phone that is sent a new nonce (its old one
// went stale, or it replayed a count) answers it with nc=00000001, and is
// accepted; its counts then go on from there.
func TestNewNonceStartsAtOne(t *testing.T) {
	const realm = "ringbox"
	src := netip.MustParseAddr("192.0.2.10")
	store := func(alg string) string { return HA1(alg, "1001", realm, "secret") }
	req := Request{Method: "REGISTER", URI: "sip:pbx.example", Src: src}
	synctest.Test(t, func(t *testing.T) {
		n := NewNonces(5*time.Minute, 0)
		verify := func(nonce, nc string) (Result, Reason) {
			return n.Verify(client(MD5, "1001", "secret", realm, "REGISTER", req.URI, nonce, nc), realm, req, store)
		}
		a := n.New(src)
		for _, nc := range []string{"00000001", "00000002"} {
			if got, why := verify(a, nc); got != OK {
				t.Fatalf("nonce A nc %s = %v (%q), want OK", nc, got, why)
			}
		}
		// A phone that starts again at 1 on the same nonce is replaying:
		// it gets a new challenge, not a 403.
		if got, why := verify(a, "00000001"); got != Rechallenge || why != ReasonReplay {
			t.Fatalf("nonce A nc 1 again = %v (%q), want Rechallenge (replay)", got, why)
		}
		b := n.New(src)
		for _, nc := range []string{"00000001", "00000002", "00000003"} {
			if got, why := verify(b, nc); got != OK {
				t.Fatalf("new nonce B nc %s = %v (%q), want OK", nc, got, why)
			}
		}
		time.Sleep(5*time.Minute + time.Second)
		if got, _ := verify(b, "00000004"); got != Stale {
			t.Fatalf("nonce B after its lifetime = %v, want Stale", got)
		}
		c := n.New(src)
		if got, why := verify(c, "00000001"); got != OK {
			t.Fatalf("nonce C after stale, nc 1 = %v (%q), want OK", got, why)
		}
	})
}
