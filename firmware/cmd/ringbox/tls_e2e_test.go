package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tlsSite has Bob, whose phone registers over TLS with SRTP, and a plain
// UDP carrier.
func tlsSite(carrier int) string {
	return fmt.Sprintf(`version: 1
system: {name: TLS office, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Bob, secret: "bob-tls-secret-101"}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
outbound:
  - {pattern: "+1212NXXXXXX", trunks: [carrier], permission: national}
inbound:
  - {match: "+15551230001", to: "extension:101"}
`, carrier)
}

// startBaresipTLS is a phone that registers over TLS and insists on SRTP
// (mediaenc=srtp-mand: it offers RTP/SAVP and refuses plain RTP). Debian's
// baresip 1.0.0 does not verify the server's certificate, so the box's
// self-signed one is taken as is; docs/security.md says what a phone that
// verifies needs.
func startBaresipTLS(t *testing.T, user, pass, box string, rtpLo int, toneHz float64) *baresip {
	t.Helper()
	acct := fmt.Sprintf("<sip:%s@%s;transport=tls>;auth_pass=%s;answermode=auto;regint=300;audio_codecs=PCMU,PCMA;mediaenc=srtp-mand\n", user, box, pass)
	return startBaresipConf(t, "127.0.0.1", user, acct, rtpLo, toneHz, 8000, "module srtp.so\n")
}

// TestTLSPhoneWithSRTPTalksToAPlainCarrier: a phone registered over TLS
// with mandatory SRTP calls out through a plain UDP carrier (a SIPp echo)
// and hears its own tone come back: its SRTP is decrypted toward the
// carrier and the carrier's plain RTP encrypted toward it. Then the
// carrier calls the phone, which the box reaches over its TLS connection,
// again with SRTP. Everything the carrier received is checked for what
// must stay inside (topology hiding): the phone's ports, Call-ID, tags,
// User-Agent, SRTP keys.
func TestTLSPhoneWithSRTPTalksToAPlainCarrier(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, tlsSite(carrier))})
	tlsBox := fmt.Sprintf("127.0.0.1:%d", a.sipPort+1) // --sip-tls's default: --sip's port + 1
	if !a.waitLog("transport=tls", 5*time.Second) {
		t.Fatalf("the box does not listen for SIP over TLS by default\n%s", a.log())
	}
	bobRTP := mediaPorts(t, 100)
	bob := startBaresipTLS(t, "101", "bob-tls-secret-101", tlsBox, bobRTP, 1200)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register over TLS")
	}
	var regs []struct{ Extension, Transport string }
	if code := a.get("/api/v1/registrations", a.token("admin"), &regs); code != 200 || len(regs) != 1 || regs[0].Transport != "TLS" {
		t.Fatalf("registrations %d %+v, want 101 over TLS", code, regs)
	}

	far := startSipp(t, 40*time.Second, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo", "-d", "0", "-m", "1")
	bob.command("dial", "sip:+12125550142@"+tlsBox) // the account's transport=tls is added
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		_, out := far.wait(t)
		t.Fatalf("bob's call over TLS was not answered\n%s\n%s", out, a.log())
	}
	time.Sleep(4 * time.Second)
	bob.command("hangup", "")
	if code, out := far.wait(t); code != 0 {
		t.Fatalf("carrier: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if !bob.outputContains("SRTP is Enabled") {
		t.Error("bob's phone did not use SRTP")
	}
	if _, ok := bob.waitEvent("CALL_CLOSED", 5*time.Second); !ok {
		t.Error("bob's call did not end")
	}
	s, rate, err := bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if !talked(s, rate, 1200, 2*time.Second) {
		t.Errorf("bob did not hear his 1200 Hz back through the plain carrier (%.0f%%): SRTP↔RTP relay broken",
			100*toneShare(s, rate, 1200))
	}
	outbound := far.messages()
	if !strings.Contains(outbound, "m=audio") || strings.Contains(outbound, "RTP/SAVP") || strings.Contains(outbound, "a=crypto") {
		t.Errorf("the carrier's SDP is not plain RTP, or carries keys:\n%s", outbound)
	}
	// The box's CDR names the call by the phone's Call-ID.
	cid := a.waitCDR(a.token("admin"), 1)[0].CallID
	hidden(t, "outbound call", outbound, bob, bobRTP, cid, a.sipPort)

	// The carrier calls Bob: the box reaches him on his TLS connection.
	in := startSipp(t, 40*time.Second, "127.0.0.1:"+fmt.Sprint(a.sipPort), "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230001",
		"-set", "caller", "+12125550100", "-m", "1", "-d", "3000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo")
	if code, out := in.wait(t); code != 0 {
		t.Fatalf("carrier call to bob over TLS: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if n := bob.countEvents("CALL_ESTABLISHED"); n != 2 {
		t.Fatalf("bob answered %d calls, want 2 (the carrier's call did not reach him over TLS)", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for bob.countEvents("CALL_CLOSED") < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The carrier echoes: Bob hears his tone only if the box decrypted
	// his SRTP and encrypted the echo with the keys it offered him.
	if s, rate, err := bob.received(); err != nil || !talked(s, rate, 1200, time.Second) {
		t.Errorf("on the carrier's call bob did not hear his 1200 Hz back (%v): SRTP toward a TLS phone broken", err)
	}
	hidden(t, "inbound call", in.messages(), bob, bobRTP, cid, a.sipPort)
}

// hidden checks that nothing of the inside phone shows in what a carrier
// received: its SIP and RTP ports, its User-Agent, its Call-ID, its SRTP
// keys; its Contact and Via name the box's SIP port only.
func hidden(t *testing.T, what, msgs string, phone *baresip, phoneRTP int, callID string, boxPort int) {
	t.Helper()
	received := receivedMessages(msgs)
	if received == "" {
		t.Fatalf("%s: the carrier's log has no received message:\n%s", what, msgs)
	}
	if callID == "" {
		t.Fatal("no Call-ID in the CDR")
	}
	for _, leak := range []string{
		callID, "baresip", "a=crypto", "RTP/SAVP", "transport=tls", "127.0.0.1:" + fmt.Sprint(phone.sip),
		":" + fmt.Sprint(phone.sip+1),
	} {
		if strings.Contains(received, leak) {
			t.Errorf("%s: the carrier received %q (the inside leaks):\n%s", what, leak, received)
		}
	}
	// The phone's RTP ports (baresip's range of 100), as whole numbers: a
	// timestamp's digits may hold any of them.
	for p := phoneRTP; p < phoneRTP+100; p++ {
		if regexp.MustCompile(fmt.Sprintf(`\b%d\b`, p)).MatchString(received) {
			t.Errorf("%s: the carrier received the phone's RTP port %d (the inside leaks):\n%s", what, p, received)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(Contact|Via|Record-Route|Route):.*$`).FindAllString(received, -1) {
		if strings.Contains(m, "127.0.0.2") {
			continue // the carrier's own Via in its responses
		}
		if !strings.Contains(m, fmt.Sprintf("127.0.0.1:%d", boxPort)) || strings.Contains(m, "Record-Route") || strings.Contains(m, "Route:") {
			t.Errorf("%s: the carrier received %q: want the box's own address only", what, strings.TrimSpace(m))
		}
	}
}

// receivedMessages keeps the messages SIPp logged as received.
func receivedMessages(log string) string {
	var out strings.Builder
	for _, blk := range regexp.MustCompile(`(?m)^-{20,}`).Split(log, -1) {
		if strings.Contains(blk, "message received") {
			out.WriteString(blk)
		}
	}
	return out.String()
}
