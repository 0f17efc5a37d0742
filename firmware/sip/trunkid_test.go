package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

// inviteFrom builds an INVITE as it arrives from src, with extra header
// lines ("Name: value").
func inviteFrom(t *testing.T, src string, extra ...string) *sipgosip.Request {
	t.Helper()
	msg := "INVITE sip:+15551230000@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP " + src + ";branch=z9hG4bK1\r\n" +
		"From: <sip:+12125550100@x>;tag=a\r\nTo: <sip:+15551230000@x>\r\nCall-ID: id@test\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:c@" + src + ">\r\n"
	for _, h := range extra {
		msg += h + "\r\n"
	}
	msg += "Content-Length: 0\r\n\r\n"
	m, err := sipgosip.ParseMessage([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sipgosip.Request)
	req.SetSource(src)
	return req
}

// Identification tells a trunk's calls from a phone's at the same address.
func TestTrunkIdentification(t *testing.T) {
	s, err := New(Config{ListenAddr: "127.0.0.1:0", Realm: testRealm})
	if err != nil {
		t.Fatal(err)
	}
	// A phone of the branch office registered from 127.0.0.2:40002.
	s.reg.bindings["101"] = []*Registration{{Extension: "101", Source: "127.0.0.2:40002", Expires: time.Now().Add(time.Hour)}}
	carrier := site.Trunk{ID: "carrier", Host: "127.0.0.2:5060"}
	strict := site.Trunk{ID: "strict", Host: "127.0.0.3", Ports: []int{5070}}
	pool := site.Trunk{ID: "pool", Host: "sbc.invalid:5060", Allow: []string{"203.0.113.0/28", "198.51.100.7"}}
	tagged := site.Trunk{ID: "tagged", Host: "127.0.0.4:5060", MatchHeader: &site.HeaderMatch{Name: "X-Carrier-Id", Value: "acme-7"}}
	authed := site.Trunk{ID: "authed", Host: "127.0.0.5:5060", InboundAuth: &site.InboundAuth{Username: "carrier-in", Password: "inbound-secret"}}
	st := &site.Site{Trunks: []site.Trunk{carrier, strict, pool, tagged, authed, {ID: "pstn", FXO: 1}}}
	creds := `Proxy-Authorization: Digest username="101", realm="` + testRealm + `", nonce="n", uri="sip:x", response="r"`
	for _, c := range []struct {
		name   string
		src    string
		extra  []string
		want   string // trunk id, "" for a phone
		wantCh bool   // challenged as a trunk (inbound_auth)
	}{
		{"trunk's own port", "127.0.0.2:5060", nil, "carrier", false},
		{"other port, no phone registered there: the carrier's", "127.0.0.2:40001", nil, "carrier", false},
		{"other port where a phone registered: the phone", "127.0.0.2:40002", nil, "", false},
		{"other port with credentials: a phone", "127.0.0.2:40003", []string{creds}, "", false},
		{"other address", "127.0.0.9:5060", nil, "", false},
		{"strict ports: the listed port", "127.0.0.3:5070", nil, "strict", false},
		{"strict ports: the host's default port is not listed", "127.0.0.3:5060", nil, "", false},
		{"strict ports: another port", "127.0.0.3:40001", nil, "", false},
		{"allow network, any port", "203.0.113.5:1234", nil, "pool", false},
		{"allow address", "198.51.100.7:5060", nil, "pool", false},
		{"outside the allow network", "203.0.113.16:5060", nil, "", false},
		{"header matches", "127.0.0.4:5060", []string{"x-carrier-id:  acme-7 "}, "tagged", false},
		{"header in a list", "127.0.0.4:5060", []string{"X-Carrier-Id: other, acme-7"}, "tagged", false},
		{"header missing: a phone", "127.0.0.4:5060", nil, "", false},
		{"header with another value: a phone", "127.0.0.4:5060", []string{"X-Carrier-Id: acme-70"}, "", false},
		{"inbound_auth: challenged", "127.0.0.5:5060", nil, "authed", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := s.identifyTrunk(context.Background(), st, inviteFrom(t, c.src, c.extra...))
			if c.want == "" {
				if ok {
					t.Errorf("from %s: trunk %q, want a phone", c.src, got.trunk.ID)
				}
				return
			}
			if !ok || got.trunk.ID != c.want || got.auth != c.wantCh {
				t.Errorf("from %s: trunk %q (%v) challenged %v, want %q challenged %v", c.src, got.trunk.ID, ok, got.auth, c.want, c.wantCh)
			}
		})
	}
}

// phoneInvite is an INVITE from u (any address) with optional credentials.
func phoneInvite(u *rawUA, id string, cseq int, auth string) string {
	me := u.conn.LocalAddr().String()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29990 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	return fmt.Sprintf("INVITE sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s%d\r\nFrom: <sip:101@127.0.0.2>;tag=%s\r\n"+
		"To: <sip:+15551230000@%s>\r\nCall-ID: %s@test\r\nCSeq: %d INVITE\r\nContact: <sip:c@%s>\r\nMax-Forwards: 70\r\n%s"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", u.server, me, id, cseq, id, u.server, id, cseq, me, auth, len(sdp), sdp)
}

// proxyAuth answers a 407's challenge for user/pass.
func proxyAuth(t *testing.T, r rawRes, ruri, user, pass string) string {
	t.Helper()
	m := nonceRe.FindStringSubmatch(r.get("Proxy-Authenticate"))
	if m == nil {
		t.Fatalf("no challenge in %d %q", r.code, r.get("Proxy-Authenticate"))
	}
	ha1 := digest.HA1(digest.MD5, user, testRealm, pass)
	resp := digest.Response(digest.MD5, ha1, "INVITE", ruri, m[1], "00000001", "cn", "auth")
	return fmt.Sprintf("Proxy-Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"cn\"\r\n",
		user, testRealm, m[1], ruri, resp)
}

func newUAAt(t *testing.T, env *testEnv, ip string) *rawUA {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUA{t: t, conn: c, server: env.addr}
}

// A trunk with inbound_auth is challenged: its credentials make the call
// the trunk's, a phone's at the same address the phone's, and a wrong
// secret is refused (403) and counted as an authentication failure.
func TestTrunkInboundAuth(t *testing.T) {
	got := make(chan CallInfo, 4)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		got <- info
		in.Hangup(call.Busy)
	}))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060",
		InboundAuth: &site.InboundAuth{Username: "carrier-in", Password: "inbound-secret"}}}})
	ruri := "sip:+15551230000@" + env.addr
	call := func(u *rawUA, id, user, pass string) (rawRes, CallInfo) {
		t.Helper()
		r := u.roundTrip(phoneInvite(u, id, 1, ""))
		if r.code != 407 {
			t.Fatalf("%s: unauthenticated INVITE from the trunk's address: %d, want 407", id, r.code)
		}
		r = u.roundTrip(phoneInvite(u, id, 2, proxyAuth(t, r, ruri, user, pass)))
		if r.code == 403 {
			// Refused before any call was made: nothing can reach the handler.
			select {
			case info := <-got:
				return r, info
			default:
				return r, CallInfo{}
			}
		}
		// The handler's 486 is the final response: it has the call.
		select {
		case info := <-got:
			return r, info
		case <-time.After(10 * time.Second):
			return r, CallInfo{}
		}
	}
	u := newUAAt(t, env, "127.0.0.2")
	if r, info := call(u, "trunk1", "carrier-in", "inbound-secret"); info.Trunk != "carrier" || info.Extension != "" || info.DID != "+15551230000" {
		t.Errorf("the trunk's credentials: %d, call %+v, want trunk carrier's call", r.code, info)
	}
	if r, info := call(u, "phone1", "101", "secret101"); info.Extension != "101" || info.Trunk != "" {
		t.Errorf("a phone's credentials at the trunk's address: %d, call %+v, want extension 101's call", r.code, info)
	}
	before := env.s.AuthFailures()[netip.MustParseAddr("127.0.0.2")]
	if r, info := call(u, "wrong1", "carrier-in", "not-the-secret"); r.code != 403 || info.CallID != "" {
		t.Errorf("a wrong trunk secret: %d, call %+v, want 403 and no call", r.code, info)
	}
	if after := env.s.AuthFailures()[netip.MustParseAddr("127.0.0.2")]; after != before+1 {
		t.Errorf("auth failures from 127.0.0.2: %d then %d, want one more", before, after)
	}
	// The trunk's credentials are no extension's: they cannot register.
	reg := u.register(regOpts{ext: "carrier-in", cseq: 1})
	if reg.code != 401 {
		t.Fatalf("REGISTER: %d, want 401", reg.code)
	}
	m := nonceRe.FindStringSubmatch(reg.get("WWW-Authenticate"))
	if r := u.register(regOpts{ext: "carrier-in", pass: "inbound-secret", nonce: m[1], cseq: 2}); r.code != 403 {
		t.Errorf("REGISTER with the trunk's inbound credentials: %d, want 403", r.code)
	}
}

// A phone registered behind the trunk's NAT (same address, its own port)
// is challenged and routed as the extension; the trunk's calls from its
// port still arrive unchallenged.
func TestPhoneAtTrunkAddress(t *testing.T) {
	got := make(chan CallInfo, 4)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		got <- info
		in.Hangup(call.Busy)
	}))
	phone := newUAAt(t, env, "127.0.0.2")
	carrier := newTrunkUA(t, env)
	_, cport, _ := net.SplitHostPort(carrier.me)
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:" + cport}}})
	if r := phone.authRegister(regOpts{ext: "101", pass: "secret101", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:101@%s>", phone.conn.LocalAddr())}, expires: "300"}); r.code != 200 {
		t.Fatalf("phone REGISTER: %d", r.code)
	}
	r := phone.roundTrip(phoneInvite(phone, "ph1", 1, ""))
	if r.code != 407 {
		t.Fatalf("the phone's INVITE: %d, want 407 (a phone is challenged)", r.code)
	}
	phone.roundTrip(phoneInvite(phone, "ph1", 2, proxyAuth(t, r, "sip:+15551230000@"+env.addr, "101", "secret101")))
	if info := <-got; info.Extension != "101" || info.Trunk != "" {
		t.Errorf("the phone's call: %+v, want extension 101's", info)
	}
	if r := carrier.roundTrip(carrier.invite("tr1")); r.code != 486 {
		t.Errorf("the trunk's call: %d, want it taken (486 from the handler)", r.code)
	}
	if info := <-got; info.Trunk != "carrier" {
		t.Errorf("the trunk's call: %+v, want trunk carrier's", info)
	}
}

// A trunk's calls in set-up and in progress are capped: past the cap a new
// INVITE gets 503 with Retry-After, counted; another source still calls.
func TestTrunkInboundCaps(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		calls.Add(1)
		if strings.HasPrefix(info.CallID, "hold") {
			select { // rings until released: in set-up
			case <-release:
			case <-in.Done():
			}
			in.Hangup(call.Busy)
			return
		}
		if err := in.Answer(ctx); err != nil {
			return
		}
		<-in.Done()
	}))
	env.setSite(&site.Site{Trunks: []site.Trunk{
		{ID: "carrier", Host: "127.0.0.2:5060", MaxInboundSetup: 2, MaxInboundCalls: 3},
		{ID: "other", Host: "127.0.0.3:5060"},
	}})
	u := newTrunkUA(t, env)
	u.send(u.invite("hold1"))
	u.send(u.invite("hold2"))
	waitFor(t, 5*time.Second, "two calls in set-up", func() bool { s, _ := env.s.caps.usage("trunk carrier"); return s == 2 })
	r := u.roundTrip(u.invite("hold3"))
	if r.code != 503 || r.get("Retry-After") == "" {
		t.Errorf("third call in set-up: %d Retry-After %q, want 503 with Retry-After", r.code, r.get("Retry-After"))
	}
	if n := env.s.InboundStats().Refused[CapTrunkSetup]; n != 1 {
		t.Errorf("refused for the set-up cap: %d, want 1", n)
	}
	// Another trunk's source is not held up.
	o := &trunkUA{rawUA: newUAAt(t, env, "127.0.0.3")}
	o.me = o.conn.LocalAddr().String()
	o.answered("other1")
	close(release)
	for range 2 {
		if r := u.roundTrip(""); r.code != 486 {
			t.Errorf("a held call ended with %d, want 486", r.code)
		}
	}
	waitFor(t, 5*time.Second, "the held calls to end", func() bool { s, c := env.s.caps.usage("trunk carrier"); return s == 0 && c == 0 })
	// Answered and acknowledged calls leave set-up but stay in progress.
	// Each ACK is taken on a goroutine of its own, after answered has
	// sent it: the next INVITE waits for it, or it could still count as
	// in set-up (two of them reach the set-up cap of 2).
	for _, id := range []string{"up1", "up2", "up3"} {
		u.answered(id)
		waitFor(t, 5*time.Second, id+" acknowledged", func() bool { s, _ := env.s.caps.usage("trunk carrier"); return s == 0 })
	}
	waitFor(t, 5*time.Second, "three acknowledged calls: none in set-up, three in progress", func() bool {
		s, c := env.s.caps.usage("trunk carrier")
		return s == 0 && c == 3
	})
	if r := u.roundTrip(u.invite("up4")); r.code != 503 {
		t.Errorf("fourth call in progress: %d, want 503", r.code)
	}
	if n := env.s.InboundStats().Refused[CapTrunkCalls]; n != 1 {
		t.Errorf("refused for the calls cap: %d, want 1", n)
	}
}

func TestInboundCapsCount(t *testing.T) {
	c := newInboundCaps()
	a, _, _ := c.admit("source 192.0.2.1", false, 2, 3)
	b, _, _ := c.admit("source 192.0.2.1", false, 2, 3)
	if h, name, why := c.admit("source 192.0.2.1", false, 2, 3); h != nil || name != CapSourceSetup || !strings.Contains(why, "2 calls in set-up") {
		t.Errorf("third in set-up: %v %q %q, want refused for %s", h, name, why, CapSourceSetup)
	}
	if h, _, _ := c.admit("source 192.0.2.2", false, 2, 3); h == nil {
		t.Error("another source refused")
	}
	a.endSetup()
	a.endSetup() // twice: counted once
	d, _, _ := c.admit("source 192.0.2.1", false, 2, 3)
	if d == nil {
		t.Fatal("a call refused after one left set-up")
	}
	d.endSetup()
	if h, name, _ := c.admit("source 192.0.2.1", false, 2, 3); h != nil || name != CapSourceCalls {
		t.Errorf("fourth call: %v %q, want refused for %s", h, name, CapSourceCalls)
	}
	a.end()
	b.end()
	d.end()
	d.end()
	if s, n := c.usage("source 192.0.2.1"); s != 0 || n != 0 {
		t.Errorf("after the calls: %d in set-up, %d in progress", s, n)
	}
	if c.refused[2].Load() != 1 || c.refused[3].Load() != 1 {
		t.Errorf("refusals counted %d set-up, %d calls, want 1 and 1", c.refused[2].Load(), c.refused[3].Load())
	}
}

// The 2xx is retransmitted at T1 doubling to T2 and given up at 64*T1
// (32 s) exactly; an ACK stops it at once.
func TestAwaitAckTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var sent []time.Duration
		_, err := awaitAck(nil, nil, nil, false, func() { sent = append(sent, time.Since(start)) })
		if !errors.Is(err, errNoAck) || time.Since(start) != 64*sipgosip.T1 {
			t.Errorf("no ACK: %v after %v, want errNoAck after %v", err, time.Since(start), 64*sipgosip.T1)
		}
		want := []time.Duration{500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}
		if len(sent) != len(want) {
			t.Fatalf("retransmissions at %v, want %d", sent, len(want))
		}
		for i, w := range want {
			if sent[i] != w*time.Millisecond {
				t.Errorf("retransmission %d at %v, want %v", i+1, sent[i], w*time.Millisecond)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ackC := make(chan struct{})
		go func() {
			time.Sleep(10 * time.Second)
			close(ackC)
		}()
		start := time.Now()
		if _, err := awaitAck(ackC, nil, nil, true, func() { t.Error("retransmitted over a reliable transport") }); err != nil || time.Since(start) != 10*time.Second {
			t.Errorf("ACK at 10 s: %v after %v", err, time.Since(start))
		}
	})
}

// BenchmarkIdentifyTrunk: the cost per INVITE of telling a trunk from a
// phone, for a phone's INVITE (every trunk tried) at a site of five
// trunks with allow networks and a header match.
func BenchmarkIdentifyTrunk(b *testing.B) {
	s, err := New(Config{ListenAddr: "127.0.0.1:0", Realm: testRealm})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		s.reg.bindings[fmt.Sprint(100+i)] = []*Registration{{Source: fmt.Sprintf("192.0.2.%d:5060", i), Expires: time.Now().Add(time.Hour)}}
	}
	st := &site.Site{Trunks: []site.Trunk{
		{ID: "a", Host: "127.0.0.2:5060"},
		{ID: "b", Host: "127.0.0.3:5060", Ports: []int{5060, 5080}},
		{ID: "c", Host: "127.0.0.4:5060", Allow: []string{"203.0.113.0/28", "198.51.100.0/24", "2001:db8::/32"}},
		{ID: "d", Host: "127.0.0.5:5060", MatchHeader: &site.HeaderMatch{Name: "X-Carrier-Id", Value: "acme-7"}},
		{ID: "e", Host: "127.0.0.6:5060", InboundAuth: &site.InboundAuth{Username: "in", Password: "inbound-secret"}},
	}}
	t := &testing.T{}
	phone := inviteFrom(t, "127.0.0.2:40002")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.identifyTrunk(ctx, st, phone)
	}
}

// BenchmarkInboundCapsAdmit: taking and giving back a place under a cap.
func BenchmarkInboundCapsAdmit(b *testing.B) {
	c := newInboundCaps()
	b.ReportAllocs()
	for b.Loop() {
		h, _, _ := c.admit("trunk carrier", true, 30, 200)
		h.endSetup()
		h.end()
	}
}
