package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/sip/digest"
)

// readRequest reads until a request of method arrives and answers it 200.
func (u *rawUA) readRequest(method string) rawRes {
	u.t.Helper()
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no %s (%v)", method, err)
		}
		s := string(buf[:n])
		if !strings.HasPrefix(s, method+" ") {
			continue
		}
		r := parseRaw(s)
		var b strings.Builder
		b.WriteString("SIP/2.0 200 OK\r\n")
		for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
			for _, v := range r.hdrs[strings.ToLower(h)] {
				fmt.Fprintf(&b, "%s: %s\r\n", h, v)
			}
		}
		b.WriteString("Content-Length: 0\r\n\r\n")
		u.conn.WriteToUDP([]byte(b.String()), &net.UDPAddr{IP: from.IP, Port: from.Port})
		return r
	}
}

// TestReferInDialog drives REFER by hand in an answered call: refusals
// with their status, then a transfer handed to the flow's side (the
// handler here) whose reports come back as NOTIFY sipfrag.
func TestReferInDialog(t *testing.T) {
	got := make(chan call.Transfer, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
			return
		}
		select {
		case x := <-in.(call.Transferor).Transfers():
			got <- x
			x.Report(200, "OK")
		case <-in.Done():
		}
		<-in.Done()
	}))
	u := newRawUA(t, env.addr)
	ruri := "sip:1002@" + env.addr
	from := fmt.Sprintf(`"Alice" <sip:1001@127.0.0.1>;tag=alice%d`, u.port())
	msg := func(method string, cseq int, branch, to, extra, body, ctype string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n", method, ruri, u.port(), branch)
		fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: refer%d@test\r\nCSeq: %d %s\r\n", from, to, u.port(), cseq, method)
		fmt.Fprintf(&b, "Contact: <sip:1001@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n%s", u.port(), extra)
		if body != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return b.String()
	}
	to := "<" + ruri + ">"
	offer := sdpBody(mediaPort(t), "sendrecv")

	// REFER outside any dialog.
	if r := u.roundTripSeq(msg("REFER", 1, "x1", to+";tag=nope", "Refer-To: <sip:1003@box>\r\n", "", ""), "1 REFER"); r.code != 481 {
		t.Errorf("REFER outside a dialog: %d, want 481", r.code)
	}

	r := u.roundTripSeq(msg("INVITE", 2, "i2", to, "", offer, "application/sdp"), "2 INVITE")
	if r.code != 407 {
		t.Fatalf("INVITE: %d, want 407", r.code)
	}
	u.send(msg("ACK", 2, "i2", r.get("To"), "", "", ""))
	nonce := nonceRe.FindStringSubmatch(r.get("Proxy-Authenticate"))[1]
	ha1 := digest.HA1(digest.MD5, "1001", testRealm, "secret1001")
	resp := digest.Response(digest.MD5, ha1, "INVITE", ruri, nonce, "00000001", "cn", "auth")
	auth := fmt.Sprintf("Proxy-Authorization: Digest username=\"1001\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"cn\"\r\n",
		testRealm, nonce, ruri, resp)
	r = u.roundTripSeq(msg("INVITE", 3, "i3", to, auth, offer, "application/sdp"), "3 INVITE")
	if r.code != 200 {
		t.Fatalf("authenticated INVITE: %d\n%s", r.code, r.raw)
	}
	to = r.get("To")
	u.send(msg("ACK", 3, "a3", to, "", "", ""))

	for _, tc := range []struct {
		extra string
		code  int
	}{
		{"", 400}, // no Refer-To
		{"Refer-To: <sip:box.example>\r\n", 400},
		{"Refer-To: <sip:1003@box?Replaces=unknown%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n", 481},
	} {
		if r := u.roundTripSeq(msg("REFER", 4, fmt.Sprintf("f%d", tc.code), to, tc.extra, "", ""), "4 REFER"); r.code != tc.code {
			t.Errorf("REFER with %q: %d, want %d", tc.extra, r.code, tc.code)
		}
	}

	if r := u.roundTripSeq(msg("REFER", 5, "r5", to, "Refer-To: <sip:1003@127.0.0.1>\r\n", "", ""), "5 REFER"); r.code != 202 {
		t.Fatalf("REFER: %d, want 202\n%s", r.code, r.raw)
	}
	select {
	case x := <-got:
		if x.To != "1003" || x.Replaces != "" {
			t.Errorf("transfer = %+v, want blind to 1003", x)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the transfer never reached the leg's Transfers")
	}
	for _, want := range []struct{ state, frag string }{
		{"active", "SIP/2.0 100 Trying"},
		{"terminated", "SIP/2.0 200 OK"},
	} {
		n := u.readRequest("NOTIFY")
		_, body, _ := strings.Cut(n.raw, "\r\n\r\n")
		if !strings.HasPrefix(n.get("Subscription-State"), want.state) || !strings.HasPrefix(body, want.frag) ||
			!strings.HasPrefix(n.get("Event"), "refer") || !strings.HasPrefix(n.get("Content-Type"), "message/sipfrag") {
			t.Errorf("NOTIFY state %q event %q type %q body %q; want %s, %q", n.get("Subscription-State"), n.get("Event"),
				n.get("Content-Type"), body, want.state, want.frag)
		}
	}
	if r := u.roundTripSeq(msg("BYE", 6, "b6", to, "", "", ""), "6 BYE"); r.code != 200 {
		t.Errorf("BYE: %d", r.code)
	}
}
