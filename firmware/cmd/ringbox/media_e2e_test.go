package main

// End-to-end media tests: the feature codes that exercise the box's own
// RTP (the *44 tone test with DTMF reporting, the *43 echo test) against
// the real `ringbox serve` with the demo site, SIPp and baresip as phones.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dtmfLogged is what the serve log reports of the digits pressed on *44:
// the flow logs each as msg=dtmf digit=K.
var dtmfLogged = regexp.MustCompile(`msg=dtmf .*?digit="?([0-9A-D*#])"?`)

func loggedDigits(log string) string {
	var b strings.Builder
	for _, m := range dtmfLogged.FindAllStringSubmatch(log, -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

// TestToneTestReportsRFC2833Digits: extension 101 (SIPp, digest with the
// 407 challenge) calls *44 and presses 1 2 3 # as RFC 2833 events; the box
// reports exactly those digits.
func TestToneTestReportsRFC2833Digits(t *testing.T) {
	t.Parallel()
	// On the defaults: SIPp 3.6 answers only the first challenge, in MD5,
	// and signs sip:remote_ip:remote_port rather than the Request-URI.
	a := startServe(t, serveOpt{site: demoSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	code, out := sipp(t, 25*time.Second, box, "-sf", testdata(t, "uac_dtmf_auth.xml"), "-s", "*44",
		"-set", "caller", "101", "-au", "101", "-ap", "demo-101-secret", "-m", "1",
		"-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if code != 0 {
		t.Fatalf("sipp call to *44 exited %d\n%s", code, out)
	}
	deadline := time.Now().Add(3 * time.Second)
	for loggedDigits(a.log()) != "123#" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := loggedDigits(a.log()); got != "123#" {
		t.Errorf("box reported digits %q, want \"123#\"", got)
	}
}

// TestToneAndEchoTestsHeard: a softphone registered as 102 hears the 1004 Hz
// test tone on *44, and its own tone echoed back on *43.
func TestToneAndEchoTestsHeard(t *testing.T) {
	t.Parallel()
	// On the defaults: baresip 1.0 fails its REGISTER (ENOSYS) when any
	// challenge is SHA-256, and the box offers MD5 alone unless told.
	a := startServe(t, serveOpt{site: demoSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	tests := []struct {
		code string
		user string
		send float64 // the phone's microphone tone
		hear float64 // what it must hear
	}{
		{"*44", "102", 440, 1004},
		{"*43", "103", 700, 700},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			p := startBaresip(t, tt.user, "demo-"+tt.user+"-secret", box, mediaPorts(t, 100), tt.send)
			// Its REGISTER_OK event may come before the control connection.
			registered := tt.user + "@127.0.0.1: {0/UDP/v4} 200 OK"
			deadline := time.Now().Add(10 * time.Second)
			for !p.outputContains(registered) {
				if time.Now().After(deadline) {
					t.Fatalf("baresip %s did not register", tt.user)
				}
				time.Sleep(50 * time.Millisecond)
			}
			p.command("dial", "sip:"+tt.code+"@"+box)
			if _, ok := p.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
				t.Fatalf("call to %s not established\n%s", tt.code, a.log())
			}
			time.Sleep(3 * time.Second)
			p.command("hangup", "")
			if _, ok := p.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
				t.Fatalf("call to %s did not close", tt.code)
			}
			time.Sleep(500 * time.Millisecond) // sndfile closes its files
			p.heard(t, tt.hear, 2)
		})
	}
}
