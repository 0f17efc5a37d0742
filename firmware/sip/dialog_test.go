package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/sip/digest"
)

// roundTripSeq sends msg and returns the first final response whose CSeq
// is cseq (retransmitted 2xx of other transactions are skipped).
func (u *rawUA) roundTripSeq(msg, cseq string) rawRes {
	u.t.Helper()
	for {
		r := u.roundTrip(msg)
		if r.get("CSeq") == cseq {
			return r
		}
		msg = "" // only read from now on
	}
}

func sdpBody(port int, dir string) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n", port, dir)
}

// TestInDialogRequests drives one authenticated call by hand: glare on
// re-INVITE (491), UPDATE answered locally, INFO DTMF, OPTIONS, BYE.
func TestInDialogRequests(t *testing.T) {
	digits := make(chan call.Digit, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
			return
		}
		select {
		case d := <-in.Media().Digits():
			digits <- d
		case <-in.Done():
		}
		<-in.Done()
	}))
	u := newRawUA(t, env.addr)
	ruri := "sip:1002@" + env.addr
	media := mediaPort(t)
	from := fmt.Sprintf(`"Alice" <sip:1001@127.0.0.1>;tag=alice%d`, u.port())
	msg := func(method string, cseq int, branch, to, extra, body, ctype string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n", method, ruri, u.port(), branch)
		fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: dlg%d@test\r\nCSeq: %d %s\r\n", from, to, u.port(), cseq, method)
		fmt.Fprintf(&b, "Contact: <sip:1001@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n%s", u.port(), extra)
		if body != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return b.String()
	}
	to := "<" + ruri + ">"
	offer := sdpBody(media, "sendrecv")

	r := u.roundTripSeq(msg("INVITE", 1, "i1", to, "", offer, "application/sdp"), "1 INVITE")
	if r.code != 407 {
		t.Fatalf("INVITE: %d, want 407", r.code)
	}
	u.send(msg("ACK", 1, "i1", r.get("To"), "", "", ""))
	nonce := nonceRe.FindStringSubmatch(r.get("Proxy-Authenticate"))[1]
	alg := digest.MD5 // the box's default challenge
	ha1 := digest.HA1(alg, "1001", testRealm, "secret1001")
	resp := digest.Response(alg, ha1, "INVITE", ruri, nonce, "00000001", "cn", "auth")
	auth := fmt.Sprintf("Proxy-Authorization: Digest username=\"1001\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"cn\"\r\n",
		testRealm, nonce, ruri, resp)
	r = u.roundTripSeq(msg("INVITE", 2, "i2", to, auth, offer, "application/sdp"), "2 INVITE")
	if r.code != 200 || !strings.Contains(r.raw, "a=sendrecv") {
		t.Fatalf("authenticated INVITE: %d\n%s", r.code, r.raw)
	}
	to = r.get("To")
	u.send(msg("ACK", 2, "a2", to, "", "", ""))

	// re-INVITE to hold, not yet acknowledged: a second one is glare.
	r = u.roundTripSeq(msg("INVITE", 3, "r3", to, "", sdpBody(media, "sendonly"), "application/sdp"), "3 INVITE")
	if r.code != 200 || !strings.Contains(r.raw, "a=recvonly") {
		t.Fatalf("hold re-INVITE: %d, want 200 with a=recvonly\n%s", r.code, r.raw)
	}
	r = u.roundTripSeq(msg("INVITE", 4, "r4", to, "", offer, "application/sdp"), "4 INVITE")
	if r.code != 491 {
		t.Errorf("re-INVITE while one is pending: %d, want 491", r.code)
	}
	u.send(msg("ACK", 3, "a3", to, "", "", ""))

	r = u.roundTripSeq(msg("UPDATE", 5, "u5", to, "", offer, "application/sdp"), "5 UPDATE")
	if r.code != 200 || !strings.Contains(r.raw, "a=sendrecv") {
		t.Errorf("UPDATE resume: %d, want 200 with a=sendrecv\n%s", r.code, r.raw)
	}
	r = u.roundTripSeq(msg("INFO", 6, "n6", to, "", "Signal=7\r\nDuration=160\r\n", "application/dtmf-relay"), "6 INFO")
	if r.code != 200 {
		t.Errorf("INFO: %d", r.code)
	}
	select {
	case d := <-digits:
		if d.Key != '7' || d.Duration != 160*time.Millisecond {
			t.Errorf("digit %q %v, want 7 for 160ms", d.Key, d.Duration)
		}
	case <-time.After(2 * time.Second):
		t.Error("INFO digit never reached the leg's Digits")
	}
	if r = u.roundTripSeq(msg("OPTIONS", 7, "o7", to, "", "", ""), "7 OPTIONS"); r.code != 200 {
		t.Errorf("in-dialog OPTIONS: %d", r.code)
	}
	if r = u.roundTripSeq(msg("BYE", 8, "b8", to, "", "", ""), "8 BYE"); r.code != 200 {
		t.Errorf("BYE: %d", r.code)
	}
	if r = u.roundTripSeq(msg("BYE", 9, "b9", to, "", "", ""), "9 BYE"); r.code != 481 {
		t.Errorf("BYE after the call: %d, want 481", r.code)
	}
}
