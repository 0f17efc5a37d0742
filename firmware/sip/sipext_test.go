package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// carrierUA is a hand-driven carrier on 127.0.0.2 (a trunk's address, so
// its INVITEs are not challenged).
type carrierUA struct {
	t    *testing.T
	c    *net.UDPConn
	dst  *net.UDPAddr
	me   string
	box  string
	from string
	cid  string
}

func newCarrierUA(t *testing.T, env *testEnv, callID string) *carrierUA {
	t.Helper()
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dst, _ := net.ResolveUDPAddr("udp", env.addr)
	return &carrierUA{t: t, c: c, dst: dst, me: c.LocalAddr().String(), box: env.addr,
		from: "<sip:+12125550100@127.0.0.2>;tag=car" + callID, cid: callID + "@test"}
}

// send sends a request in the carrier's call; to is the To header value.
func (u *carrierUA) send(method string, cseq int, branch, to, extra, body string) {
	u.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n", method, u.box, u.me, branch)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", u.from, to, u.cid, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:c@%s>\r\nMax-Forwards: 70\r\n%s", u.me, extra)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := u.c.WriteToUDP([]byte(b.String()), u.dst); err != nil {
		u.t.Fatal(err)
	}
}

// await returns the first message from the box whose start line begins
// with start (e.g. "SIP/2.0 183", "BYE") and whose CSeq ends with method.
func (u *carrierUA) await(start, method string, d time.Duration) rawRes {
	u.t.Helper()
	deadline := time.Now().Add(d)
	buf := make([]byte, 8192)
	for {
		u.c.SetReadDeadline(deadline)
		n, _, err := u.c.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no %q for %s from the box: %v", start, method, err)
		}
		r := parseRaw(string(buf[:n]))
		if strings.HasPrefix(r.raw, start) && strings.HasSuffix(r.get("CSeq"), method) {
			return r
		}
	}
}

func carrierSDP(pt int, name string) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29990 RTP/AVP %d\r\na=rtpmap:%d %s/8000\r\n", pt, pt, name)
}

// TestLateOfferMediaFromTheAck: the 200 to an INVITE without SDP offers
// every codec the box has; the codec the ACK's answer picks (PCMA, not
// the first offered) is what the leg then speaks.
func TestLateOfferMediaFromTheAck(t *testing.T) {
	legs := make(chan call.Leg, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
		}
		legs <- in
		<-in.Done()
	}))
	u := newCarrierUA(t, env, "late1")
	u.send("INVITE", 1, "lo1", "<sip:+15551230000@127.0.0.1>", "", "")
	ok := u.await("SIP/2.0 200", "INVITE", 5*time.Second)
	if !strings.Contains(ok.raw, "m=audio") || !strings.Contains(ok.raw, "PCMU/8000") || !strings.Contains(ok.raw, "PCMA/8000") {
		t.Fatalf("the 200 to a late offer carries no offer of the box's codecs:\n%s", ok.raw)
	}
	u.send("ACK", 1, "lo2", ok.get("To"), "", carrierSDP(8, "PCMA"))
	var in call.Leg
	select {
	case in = <-legs:
	case <-time.After(5 * time.Second):
		t.Fatal("Answer did not return after the ACK")
	}
	if c := in.Media().Codec(); c != "PCMA" {
		t.Errorf("the leg speaks %s, want PCMA from the ACK's answer", c)
	}
	u.send("BYE", 2, "lo3", ok.get("To"), "", "")
	if r := u.await("SIP/2.0", "BYE", 5*time.Second); r.code != 200 {
		t.Errorf("BYE: %d", r.code)
	}
}

// TestReliableProvisionalOnTheWire: a carrier requiring 100rel gets its
// 183 with Require: 100rel and an RSeq, retransmitted until the PRACK; a
// PRACK naming another RSeq gets 481; the right one 200, and only then
// the 200 to the INVITE comes.
func TestReliableProvisionalOnTheWire(t *testing.T) {
	progressed := make(chan error, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		progressed <- in.Progress(ctx)
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
		}
		<-in.Done()
	}))
	u := newCarrierUA(t, env, "rel1")
	u.send("INVITE", 1, "rp1", "<sip:+15551230000@127.0.0.1>", "Require: 100rel\r\nSupported: 100rel\r\n", carrierSDP(0, "PCMU"))
	p := u.await("SIP/2.0 183", "INVITE", 5*time.Second)
	rseq := p.get("RSeq")
	if !strings.Contains(p.get("Require"), "100rel") || rseq == "" {
		t.Fatalf("183 not reliable:\n%s", p.raw)
	}
	// Unacknowledged, it comes again (T1 = 500 ms) with the same RSeq.
	if again := u.await("SIP/2.0 183", "INVITE", 2*time.Second); again.get("RSeq") != rseq {
		t.Errorf("retransmitted 183 has RSeq %q, want %q", again.get("RSeq"), rseq)
	}
	select {
	case err := <-progressed:
		t.Fatalf("Progress returned (%v) before the PRACK", err)
	default:
	}
	to := p.get("To")
	u.send("PRACK", 2, "pr2", to, "RAck: 999 1 INVITE\r\n", "")
	if r := u.await("SIP/2.0", "PRACK", 3*time.Second); r.code != 481 {
		t.Errorf("PRACK for an RSeq never sent: %d, want 481", r.code)
	}
	u.send("PRACK", 3, "pr3", to, "RAck: "+rseq+" 1 INVITE\r\n", "")
	if r := u.await("SIP/2.0", "PRACK", 3*time.Second); r.code != 200 {
		t.Errorf("PRACK: %d, want 200", r.code)
	}
	select {
	case err := <-progressed:
		if err != nil {
			t.Errorf("Progress: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Progress did not return after the PRACK")
	}
	ok := u.await("SIP/2.0 200", "INVITE", 5*time.Second)
	u.send("ACK", 1, "rp4", ok.get("To"), "", "")
	u.send("BYE", 4, "rp5", ok.get("To"), "", "")
	if r := u.await("SIP/2.0", "BYE", 5*time.Second); r.code != 200 {
		t.Errorf("BYE: %d", r.code)
	}
}

// TestSessionTimerOnTheWire: 422 with Min-SE for an interval under 90 s;
// the agreed interval and refresher in the 200 (with Require: timer when
// the carrier refreshes); the carrier's refreshes (UPDATE, re-INVITE)
// answered with the timer they set, which the leg then runs.
func TestSessionTimerOnTheWire(t *testing.T) {
	legs := make(chan *Leg, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
		}
		legs <- in.(*Leg)
		<-in.Done()
	}))
	u := newCarrierUA(t, env, "st1")
	sdp := carrierSDP(0, "PCMU")
	u.send("INVITE", 1, "st1", "<sip:+15551230000@127.0.0.1>", "Supported: timer\r\nSession-Expires: 60\r\n", sdp)
	r := u.await("SIP/2.0", "INVITE", 5*time.Second)
	if r.code != 422 || r.get("Min-SE") != "90" {
		t.Fatalf("Session-Expires 60: %d Min-SE %q, want 422 with Min-SE 90", r.code, r.get("Min-SE"))
	}
	u.send("ACK", 1, "st1", r.get("To"), "", "")

	u.send("INVITE", 2, "st2", "<sip:+15551230000@127.0.0.1>", "Supported: timer\r\nSession-Expires: 90;refresher=uac\r\nMin-SE: 90\r\n", sdp)
	ok := u.await("SIP/2.0 200", "INVITE", 5*time.Second)
	if ok.get("Session-Expires") != "90;refresher=uac" || !strings.Contains(ok.get("Require"), "timer") {
		t.Errorf("200: Session-Expires %q Require %q, want 90;refresher=uac and timer", ok.get("Session-Expires"), ok.get("Require"))
	}
	to := ok.get("To")
	u.send("ACK", 2, "st3", to, "", "")
	l := <-legs
	waitFor(t, 2*time.Second, "the session timer", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.sessTimer != nil
	})
	if iv, box := l.sessTimer.state(); iv != 90*time.Second || box {
		t.Errorf("timer %v, box refreshes %v; want 90s, the carrier refreshes", iv, box)
	}

	u.send("UPDATE", 3, "st4", to, "Supported: timer\r\nSession-Expires: 120;refresher=uac\r\n", "")
	if r := u.await("SIP/2.0", "UPDATE", 3*time.Second); r.code != 200 || r.get("Session-Expires") != "120;refresher=uac" {
		t.Errorf("UPDATE refresh: %d Session-Expires %q, want 200 with 120;refresher=uac", r.code, r.get("Session-Expires"))
	}
	if iv, _ := l.sessTimer.state(); iv != 120*time.Second {
		t.Errorf("after the UPDATE the interval is %v, want 120s", iv)
	}
	// A re-INVITE handing the refresh to the box.
	u.send("INVITE", 4, "st5", to, "Supported: timer\r\nSession-Expires: 90;refresher=uas\r\n", sdp)
	re := u.await("SIP/2.0 200", "INVITE", 3*time.Second)
	if re.get("Session-Expires") != "90;refresher=uas" || re.get("Require") != "" {
		t.Errorf("re-INVITE refresh: Session-Expires %q Require %q, want 90;refresher=uas and no Require", re.get("Session-Expires"), re.get("Require"))
	}
	u.send("ACK", 4, "st6", to, "", "")
	if iv, box := l.sessTimer.state(); iv != 90*time.Second || !box {
		t.Errorf("after the re-INVITE: %v, box refreshes %v; want 90s, the box", iv, box)
	}
	u.send("UPDATE", 5, "st7", to, "Session-Expires: 30\r\n", "")
	if r := u.await("SIP/2.0", "UPDATE", 3*time.Second); r.code != 422 {
		t.Errorf("UPDATE with 30 s: %d, want 422", r.code)
	}
	u.send("BYE", 6, "st8", to, "", "")
	if r := u.await("SIP/2.0", "BYE", 5*time.Second); r.code != 200 {
		t.Errorf("BYE: %d", r.code)
	}
}
