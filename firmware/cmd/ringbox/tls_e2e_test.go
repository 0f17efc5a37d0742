package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"ringbox/firmware/tlscert"
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

// tlsTrunkSite has Alice on a plain phone and a carrier reached over TLS
// at 127.0.0.2:port, with srtp as given ("" for the default).
func tlsTrunkSite(port int, srtp string) string {
	media := ""
	if srtp != "" {
		media = ", srtp: " + srtp
	}
	return fmt.Sprintf(`version: 1
system: {name: TLS trunk, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: tls%s}
outbound:
  - {pattern: "+1212NXXXXXX", trunks: [carrier], permission: national}
inbound:
  - {match: "+15551230001", to: "extension:101"}
`, port, media)
}

// startBaresipTLSCarrier is a carrier on 127.0.0.2 that takes calls to
// +12125550142 and makes calls over TLS with the certificate in certFile
// (certificate and key), its audio as mediaenc says ("srtp-mand", or ""
// for plain RTP).
func startBaresipTLSCarrier(t *testing.T, certFile, mediaenc string, rtpLo int, toneHz float64) *baresip {
	t.Helper()
	enc := ""
	if mediaenc != "" {
		enc = ";mediaenc=" + mediaenc
	}
	// baresip answers only calls to its own user: the number called.
	acct := fmt.Sprintf("<sip:+12125550142@127.0.0.2;transport=tls>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA%s\n", enc)
	return startBaresipConf(t, "127.0.0.2", "carrier", acct, rtpLo, toneHz, 8000, "module srtp.so\nsip_certificate "+certFile+"\n")
}

// carrierCertificate makes the carrier's certificate for 127.0.0.2 and
// returns the file baresip serves it from (certificate and key) and the
// file the box trusts it from (the certificate alone: the box's system
// roots, as SSL_CERT_FILE).
func carrierCertificate(t *testing.T) (served, trusted string) {
	t.Helper()
	certPEM, keyPEM, err := tlscert.Generate([]string{"carrier.example"}, []netip.Addr{netip.MustParseAddr("127.0.0.2")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	served, trusted = filepath.Join(dir, "carrier.pem"), filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(served, append(append([]byte{}, certPEM...), keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trusted, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return served, trusted
}

// TestTLSTrunkWithBaresipCarrier: a carrier reached over TLS (baresip,
// its certificate verified by the box), both ways. With the default srtp
// the call out is SRTP to the carrier and plain RTP to the office phone,
// and both hear each other; the carrier's call in over TLS reaches the
// phone. A carrier that encrypts signalling only refuses the default
// RTP/SAVP offer, and is called with plain RTP once the trunk says
// srtp: off.
func TestTLSTrunkWithBaresipCarrier(t *testing.T) {
	t.Parallel()
	served, trusted := carrierCertificate(t)
	for _, tc := range []struct {
		srtp, mediaenc string
		works          bool
	}{{"", "srtp-mand", true}, {"", "", false}, {"off", "", true}} {
		t.Run(fmt.Sprintf("srtp=%q,carrier=%q", tc.srtp, tc.mediaenc), func(t *testing.T) {
			carrier := startBaresipTLSCarrier(t, served, tc.mediaenc, mediaPorts(t, 100), 1200)
			a := startServe(t, serveOpt{site: writeSite(t, tlsTrunkSite(carrier.sip+1, tc.srtp)), env: []string{"SSL_CERT_FILE=" + trusted}})
			box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
			alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 700)
			if !alice.waitRegistered(10 * time.Second) {
				t.Fatal("alice's phone did not register")
			}

			alice.command("dial", "sip:+12125550142@"+box)
			if !tc.works {
				if _, ok := alice.waitEvent("CALL_CLOSED", 15*time.Second); !ok {
					t.Fatal("alice's call to a carrier refusing SRTP did not end")
				}
				if r := a.waitCDR(a.token("admin"), 1)[0]; !r.Answer.IsZero() || r.Trunk != "carrier" {
					t.Errorf("CDR %+v, want an unanswered call through carrier", r)
				}
				return
			}
			if _, ok := carrier.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
				t.Fatalf("the call over the TLS trunk was not answered\n%s", a.log())
			}
			time.Sleep(4 * time.Second)
			alice.command("hangup", "")
			if _, ok := carrier.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
				t.Error("the carrier never heard alice hang up")
			}
			time.Sleep(500 * time.Millisecond) // sndfile closes its files
			alice.heard(t, 1200, 2)
			carrier.heard(t, 700, 2)
			if srtp := carrier.outputContains("SRTP is Enabled"); srtp != (tc.srtp == "") {
				t.Errorf("the carrier's SRTP in use: %v, want %v", srtp, tc.srtp == "")
			}
			if r := a.waitCDR(a.token("admin"), 1)[0]; r.Trunk != "carrier" || r.Cause != "normal" {
				t.Errorf("CDR trunk %q cause %q, want carrier, normal (%+v)", r.Trunk, r.Cause, r)
			}

			// The carrier calls the office's number over TLS.
			carrier.command("dial", fmt.Sprintf("sip:+15551230001@127.0.0.1:%d;transport=tls", a.sipPort+1))
			if _, ok := alice.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
				t.Fatalf("the carrier's call over TLS did not reach alice\n%s", a.log())
			}
			carrier.command("hangup", "")
			if _, ok := alice.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
				t.Error("alice never heard the carrier hang up")
			}
		})
	}
}
