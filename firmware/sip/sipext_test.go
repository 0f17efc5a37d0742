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
	// The box's own refresh, as refresher: this carrier did not allow
	// UPDATE, so a re-INVITE with the same SDP, ACKed once answered.
	go l.sendRefresh()
	ri := u.await("INVITE", "INVITE", 3*time.Second)
	if ri.get("Session-Expires") != "90;refresher=uac" || !strings.Contains(ri.raw, "m=audio") || !strings.Contains(ri.get("To"), "tag=car") {
		t.Errorf("the box's refresh re-INVITE:\n%s", ri.raw)
	}
	f := &farEnd{t: t, c: u.c, port: u.c.LocalAddr().(*net.UDPAddr).Port}
	f.answer(ri, u.dst, 200, "OK", "Session-Expires: 90;refresher=uac\r\n", carrierSDP(0, "PCMU"))
	if ack := u.await("ACK", "ACK", 3*time.Second); ack.get("CSeq") != strings.Replace(ri.get("CSeq"), "INVITE", "ACK", 1) {
		t.Errorf("ACK of the refresh: CSeq %q for the re-INVITE's %q", ack.get("CSeq"), ri.get("CSeq"))
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

// farEnd is a hand-driven trunk answering the box's INVITEs on 127.0.0.2.
type farEnd struct {
	t    *testing.T
	c    *net.UDPConn
	port int
}

func newFarEnd(t *testing.T) *farEnd {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &farEnd{t: t, c: c, port: c.LocalAddr().(*net.UDPAddr).Port}
}

// next returns the next request from the box with this method (the
// source to answer to).
func (f *farEnd) next(method string) (rawRes, *net.UDPAddr) {
	f.t.Helper()
	buf := make([]byte, 8192)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.c.SetReadDeadline(deadline)
		n, from, err := f.c.ReadFromUDP(buf)
		if err != nil {
			f.t.Fatalf("no %s from the box: %v", method, err)
		}
		r := parseRaw(string(buf[:n]))
		if strings.HasPrefix(r.raw, method+" ") {
			return r, from
		}
	}
}

// answer sends a response to req with extra headers (and the To-tag).
func (f *farEnd) answer(req rawRes, to *net.UDPAddr, code int, reason, extra, body string) {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.hdrs["via"] {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	toHdr := req.get("To")
	if !strings.Contains(toHdr, "tag=") {
		toHdr += ";tag=far1"
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.get("From"), toHdr, req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&b, "Contact: <sip:far@127.0.0.2:%d>\r\n%s", f.port, extra)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := f.c.WriteToUDP([]byte(b.String()), to); err != nil {
		f.t.Fatal(err)
	}
}

// TestOutboundSessionTimer: the box's INVITE to a trunk offers a session
// timer; a 422 is retried with the trunk's Min-SE; a 2xx making the box
// the refresher has it refresh with UPDATE (the trunk allows it), and a
// refresh answered 481 ends the call with session_expired.
func TestOutboundSessionTimer(t *testing.T) {
	env := newEnv(t, nil)
	far := newFarEnd(t)
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: fmt.Sprintf("127.0.0.2:%d", far.port), Prack: site.PrackRequired}}})
	ctx := context.Background()
	leg, err := env.s.Dialer().Dial(ctx, call.Target{Kind: call.TargetTrunk, Trunk: "carrier", Number: "+12125550142", From: call.Party{Number: "+15551230000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Hangup(call.Normal)
	inv, src := far.next("INVITE")
	if inv.get("Session-Expires") != "1800" || inv.get("Min-SE") != "90" || !strings.Contains(inv.get("Supported"), "timer") {
		t.Errorf("INVITE: Session-Expires %q Min-SE %q Supported %q", inv.get("Session-Expires"), inv.get("Min-SE"), inv.get("Supported"))
	}
	if inv.get("Require") != "100rel" {
		t.Errorf("INVITE to a prack: required trunk: Require %q, want 100rel", inv.get("Require"))
	}
	far.answer(inv, src, 422, "Session Interval Too Small", "Min-SE: 3600\r\n", "")
	inv2, src := far.next("INVITE")
	if inv2.get("Session-Expires") != "3600" || inv2.get("CSeq") == inv.get("CSeq") {
		t.Fatalf("INVITE after 422: Session-Expires %q CSeq %q, want 3600 and a new CSeq", inv2.get("Session-Expires"), inv2.get("CSeq"))
	}
	far.answer(inv2, src, 200, "OK", "Session-Expires: 3600;refresher=uac\r\nRequire: timer\r\nAllow: INVITE, ACK, BYE, UPDATE\r\n", carrierSDP(0, "PCMU"))
	far.next("ACK")
	if err := leg.Answer(ctx); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	l := leg.(*Leg)
	if iv, box := l.sessTimer.state(); iv != time.Hour || !box {
		t.Fatalf("timer %v, box refreshes %v; want 1h, the box", iv, box)
	}
	// The refresh, at half the hour; called here rather than waited for
	// (the timing is TestSessionTimerRefreshesAtHalfTheInterval's).
	go l.sendRefresh()
	up, src := far.next("UPDATE")
	if up.get("Session-Expires") != "3600;refresher=uac" {
		t.Errorf("refresh UPDATE: Session-Expires %q, want 3600;refresher=uac", up.get("Session-Expires"))
	}
	far.answer(up, src, 200, "OK", "Session-Expires: 1800;refresher=uac\r\n", "")
	waitFor(t, 2*time.Second, "the refreshed interval", func() bool { iv, _ := l.sessTimer.state(); return iv == 1800*time.Second })

	go l.sendRefresh()
	up, src = far.next("UPDATE")
	far.answer(up, src, 481, "Call/Transaction Does Not Exist", "", "")
	bye, src := far.next("BYE")
	far.answer(bye, src, 200, "OK", "", "")
	select {
	case <-leg.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the leg did not end after its refresh got 481")
	}
	if c := call.CauseOf(leg.Err()); c != call.SessionExpired {
		t.Errorf("cause %v, want session_expired", c)
	}
}

// TestLargeInviteGoesOverTCP: an INVITE to a UDP trunk too large for a
// datagram (a long caller name) reaches the trunk over TCP (RFC 3261
// §18.1.1), with its Via and Contact saying so.
func TestLargeInviteGoesOverTCP(t *testing.T) {
	env := newEnv(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: fmt.Sprintf("127.0.0.2:%d", port)}}})
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- ""
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var all []byte
		buf := make([]byte, 8192)
		for !strings.Contains(string(all), "\r\n\r\n") {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			all = append(all, buf[:n]...)
		}
		got <- string(all)
	}()
	leg, err := env.s.Dialer().Dial(context.Background(), call.Target{Kind: call.TargetTrunk, Trunk: "carrier", Number: "+12125550142",
		From: call.Party{Number: "+15551230000", Name: strings.Repeat("Long Name ", 120)}})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Hangup(call.Normal)
	select {
	case msg := <-got:
		if !strings.HasPrefix(msg, "INVITE ") || !strings.Contains(msg, "SIP/2.0/TCP") || !strings.Contains(msg, "transport=tcp") {
			t.Errorf("over TCP the trunk got:\n%.400s", msg)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("the large INVITE never reached the trunk over TCP")
	}
}
