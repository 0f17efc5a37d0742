package main

// Voicemail by phone end to end: the owner records a greeting from their
// own phone, a caller hears it and leaves a message, and a colleague
// listens to the box with *98, the box number and the PIN.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/voicemail/smtptest"
)

// Tones of the three phones.
const (
	vmSueHz   = 900 // the greeting Sue records
	vmSteveHz = 700 // the message Steve leaves
	vmBobHz   = 500
)

// sendKeys sends DTMF keys from p (RFC 4733), one every 400 ms.
func sendKeys(p *baresip, keys string) {
	for _, k := range keys {
		p.command("sndcode", string(k))
		time.Sleep(400 * time.Millisecond)
	}
}

// bestShare is the largest share of hz over the 1-second windows of s:
// whether hz was heard at all, wherever it came in the call.
func bestShare(s []int16, rate int, hz float64) float64 {
	best := 0.0
	for off := 0; off+rate <= len(s); off += rate / 2 {
		best = max(best, toneShare(s[off:off+rate], rate, hz))
	}
	return best
}

// TestVoicemailGreetingByPhoneAndStar98: on the demo site, Sue (102,
// manual answer) dials *97, presses 0 2, lets her phone's 900 Hz tone be
// recorded as her busy greeting, '#', and keeps it with 1. Steve (103)
// calls Sue, who declines (busy): Steve hears the 900 Hz busy greeting and
// leaves 700 Hz. Bob (101) dials *98, 102#, Sue's PIN 1357# and hears
// Steve's 700 Hz message.
func TestVoicemailGreetingByPhoneAndStar98(t *testing.T) {
	// Not parallel: its sleeps assume the greeting plays on time, and
	// under the load of the tests beside it the message came out too
	// short and was discarded.
	a := startServe(t, serveOpt{site: demoSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	sue := startBaresipMode(t, "102", "demo-102-secret", box, mediaPorts(t, 100), vmSueHz, "manual")
	steve := startBaresip(t, "103", "demo-103-secret", box, mediaPorts(t, 100), vmSteveHz)
	bob := startBaresip(t, "101", "demo-101-secret", box, mediaPorts(t, 100), vmBobHz)
	for _, p := range []*baresip{bob, steve, sue} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("%s did not register", p.user)
		}
	}

	// Sue records her busy greeting.
	sue.command("dial", "sip:*97@"+box)
	if _, ok := sue.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("*97 not answered\n%s", a.log())
	}
	time.Sleep(time.Second)
	sendKeys(sue, "02")
	// "Speak after the tone", the beep, then about 9 s of tone: a
	// greeting long enough to outlast the first seconds of the call,
	// which baresip's decoded-audio dump leaves out.
	time.Sleep(11 * time.Second)
	sendKeys(sue, "#")
	time.Sleep(11 * time.Second) // the take played back, "keep: 1"
	sendKeys(sue, "1")
	if !a.waitLog("greeting recorded by phone", 10*time.Second) {
		t.Fatalf("the greeting was not kept\n%s", a.log())
	}
	sue.command("hangup", "")
	sue.waitEvent("CALL_CLOSED", 5*time.Second)

	// Steve calls Sue, who declines: the busy greeting, the beep, a
	// message. (Letting it ring would outlast the phones' 30 s tone.)
	steve.command("dial", "sip:102@"+box)
	if _, ok := sue.waitEvent("CALL_INCOMING", 10*time.Second); !ok {
		t.Fatalf("Sue's phone did not ring\n%s", a.log())
	}
	time.Sleep(500 * time.Millisecond)
	sue.command("hangup", "")
	if _, ok := steve.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Steve's call to 102 never reached voicemail\n%s", a.log())
	}
	time.Sleep(14 * time.Second) // the ~9 s greeting, the beep, ~4 s of message
	steve.command("hangup", "")
	steve.waitEvent("CALL_CLOSED", 5*time.Second)
	if !a.waitLog("message left", 10*time.Second) {
		t.Fatalf("no message left\n%s", a.log())
	}
	got, rate, err := steve.received()
	if err != nil {
		t.Fatal(err)
	}
	if share := bestShare(got, rate, vmSueHz); share < 0.5 {
		t.Errorf("Steve did not hear Sue's recorded busy greeting: %d Hz share at best %.2f", vmSueHz, share)
	} else {
		t.Logf("Steve hears Sue's busy greeting: %d Hz share %.2f", vmSueHz, share)
	}

	// Bob opens Sue's box with *98, the box number and the PIN.
	bob.command("dial", "sip:*98@"+box)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("*98 not answered\n%s", a.log())
	}
	time.Sleep(time.Second)
	sendKeys(bob, "102#")
	time.Sleep(time.Second)
	sendKeys(bob, "1357#")
	if !a.waitLog("mailbox login", 10*time.Second) {
		t.Fatalf("Bob was not logged in to 102\n%s", a.log())
	}
	time.Sleep(12 * time.Second) // "you have 1 new message", "options: 0", the message
	bob.command("hangup", "")
	bob.waitEvent("CALL_CLOSED", 5*time.Second)
	got, rate, err = bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if share := bestShare(got, rate, vmSteveHz); share < 0.5 {
		t.Errorf("Bob did not hear Steve's message: %d Hz share at best %.2f\n%s", vmSteveHz, share, a.log())
	} else {
		t.Logf("Bob hears Steve's message: %d Hz share %.2f", vmSteveHz, share)
	}
}

// TestVoicemailEmailWaitsForTheRelayAcrossARestart: the site's relay is
// down when Sue leaves Bob a message: the outbox API shows the e-mail
// pending after a failed try. The box stops, the relay comes up, the box
// starts again on the same data and the e-mail arrives with the message.
func TestVoicemailEmailWaitsForTheRelayAcrossARestart(t *testing.T) {
	// Not parallel: its 9 s sleep assumes the greeting and beep play on
	// time; under the load of the tests beside it the message came out
	// under the 2 s minimum and was discarded.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relay := ln.Addr().String()
	ln.Close() // down
	y := fmt.Sprintf(`version: 1
system:
  name: Outbox
  timezone: UTC
  smtp: {host: "%s", from: pbx@example.com}
extensions:
  - {number: "101", name: Bob, secret: "bob-secret-101", voicemail: true, email: bob@example.com}
  - {number: "102", name: Sue, secret: "sue-secret-102"}
`, relay)
	sf := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(sf, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	a := startServe(t, serveOpt{site: sf, data: data})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	sue := startBaresip(t, "102", "sue-secret-102", box, mediaPorts(t, 100), vmSteveHz)
	if !sue.waitRegistered(10 * time.Second) {
		t.Fatal("Sue's phone did not register")
	}
	// Bob's phone is not registered: the call goes to his mailbox at once.
	sue.command("dial", "sip:101@"+box)
	if _, ok := sue.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Sue's call to 101 never reached voicemail\n%s", a.log())
	}
	time.Sleep(9 * time.Second) // the greeting, the beep, a message
	sue.command("hangup", "")
	sue.waitEvent("CALL_CLOSED", 5*time.Second)
	if !a.waitLog("voicemail e-mail not sent, will retry", 10*time.Second) {
		t.Fatalf("no failed try logged\n%s", a.log())
	}
	admin := a.token("admin")
	type item struct {
		State     string `json:"state"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
		To        string `json:"to"`
		Box       string `json:"box"`
	}
	var out struct{ Items []item }
	if code := a.get("/api/v1/voicemail/outbox", admin, &out); code != 200 || len(out.Items) != 1 ||
		out.Items[0].State != "pending" || out.Items[0].Attempts != 1 || out.Items[0].LastError == "" || out.Items[0].To != "bob@example.com" {
		t.Fatalf("outbox with the relay down: %d %+v", code, out)
	}
	if err := a.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	ln, err = net.Listen("tcp", relay)
	if err != nil {
		t.Fatalf("bring the relay up on %s: %v", relay, err)
	}
	got := smtptest.Serve(t, ln)
	b := startServe(t, serveOpt{data: data})
	select {
	case msg := <-got:
		if !strings.Contains(msg, "To: bob@example.com") || !strings.Contains(msg, `filename="voicemail-101.wav"`) {
			t.Errorf("the relay got:\n%.600s", msg)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the e-mail did not arrive after the restart\n%s", b.log())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out.Items = nil
		b.get("/api/v1/voicemail/outbox", admin, &out)
		if len(out.Items) == 1 && out.Items[0].State == "sent" && out.Items[0].Attempts == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox after the delivery: %+v, want sent at the second try", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
