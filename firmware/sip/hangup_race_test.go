package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
)

// TestHangupAsTheFarEndAnswers: a ring group hangs up its losing legs at
// the moment they may answer too. An outbound leg hung up while ringing
// whose 200 OK arrives at that moment must still end (ACK, BYE) and give
// its media ports back. Before the fix the ring goroutine took the answer
// as a win after the Hangup had left ending the leg to it, and the leg
// stayed up for good: the soak test's RTP sockets grew by one pair per
// ring group call. The race is hit by doing both at once, many times.
func TestHangupAsTheFarEndAnswers(t *testing.T) {
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) { in.Hangup(call.NotFound) }))
	phone := newRawUA(t, env.addr)
	if r := phone.authRegister(regOpts{ext: "1002", pass: "secret1002", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:1002@127.0.0.1:%d>", phone.port())}, expires: "3600"}); r.code != 200 {
		t.Fatalf("REGISTER 1002: %d", r.code)
	}
	// The phone: INVITEs are handed to the test, BYE and CANCEL answered.
	invites := make(chan rawRes, 1)
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := phone.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r := parseRaw(string(buf[:n]))
			switch method, _, _ := strings.Cut(r.raw, " "); method {
			case "INVITE":
				invites <- r
			case "BYE", "CANCEL":
				phone.conn.WriteToUDP([]byte(reply(r, "200 OK", "", "")), from)
			}
		}
	}()
	for i := range 30 {
		out, err := env.s.Dialer().Dial(context.Background(), call.Target{Kind: call.TargetExtension, Number: "1002", From: call.Party{Number: "1001"}})
		if err != nil {
			t.Fatal(err)
		}
		var inv rawRes
		select {
		case inv = <-invites:
		case <-time.After(5 * time.Second):
			t.Fatal("no INVITE reached the phone")
		}
		sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n", 30000+2*i)
		go out.Hangup(call.AnsweredElsewhere)
		phone.send(reply(inv, "200 OK", fmt.Sprintf("Contact: <sip:1002@127.0.0.1:%d>\r\nContent-Type: application/sdp\r\n", phone.port()), sdp))
		select {
		case <-out.Done():
		case <-time.After(15 * time.Second):
			t.Fatalf("call %d: the leg hung up as the phone answered is still up", i)
		}
	}
	waitFor(t, 10*time.Second, "media ports back", func() bool { return env.s.cfg.Media.Active() == 0 })
}

// reply is a response to r with the extra headers and body given.
func reply(r rawRes, status, extra, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %s\r\n", status)
	for _, v := range r.hdrs["via"] {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := r.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=phone"
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n%sContent-Length: %d\r\n\r\n%s",
		r.get("From"), to, r.get("Call-ID"), r.get("CSeq"), extra, len(body), body)
	return b.String()
}
