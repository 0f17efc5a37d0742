package main

// Busy lamps end to end: the real appliance, a SIPp phone whose BLF key
// watches extension 102 (the dialog event package, RFC 4235, with digest
// authentication), and baresip phones calling each other. The lamp must
// go ringing (early, recipient), busy (confirmed) and idle (terminated)
// as Alice calls Bob, Bob answers and hangs up.

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func blfSite(t *testing.T) string {
	t.Helper()
	y := `version: 1
system: {name: BLF E2E, timezone: UTC}
extensions:
  - {number: "101", name: Alice, secret: "alice-blf-secret-101"}
  - {number: "102", name: Bob, secret: "bob-blf-secret-102"}
  - {number: "103", name: Carol, secret: "carol-blf-secret-103"}
agents:
  - {id: carol, name: Carol, extension: "103"}
queues:
  - {id: service, agents: [carol], on_empty: hangup}
`
	p := filepath.Join(t.TempDir(), "blf.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// lampNotify is one dialog-info NOTIFY as the phone received it.
type lampNotify struct {
	version   int
	state     string
	direction string
	callID    string
	subState  string
}

// receivedNotifies reads the NOTIFYs SIPp received from its -trace_msg
// file, in order.
func receivedNotifies(t *testing.T, path string) []lampNotify {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("SIPp message trace: %v", err)
	}
	var out []lampNotify
	for _, part := range strings.Split(string(raw), "message received")[1:] {
		i := strings.Index(part, "NOTIFY sip:")
		if i < 0 || strings.Contains(part[:i], "SIP/2.0 ") {
			continue
		}
		msg := part[i:]
		if j := strings.Index(msg, "\n----"); j >= 0 {
			msg = msg[:j]
		}
		msg = strings.ReplaceAll(msg, "\r\n", "\n")
		head, body, _ := strings.Cut(msg, "\n\n")
		var n lampNotify
		for _, line := range strings.Split(head, "\n") {
			if v, ok := strings.CutPrefix(line, "Subscription-State: "); ok {
				n.subState = strings.TrimSpace(v)
			}
		}
		var doc struct {
			XMLName xml.Name `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
			Version int      `xml:"version,attr"`
			Dialogs []struct {
				CallID    string `xml:"call-id,attr"`
				Direction string `xml:"direction,attr"`
				State     string `xml:"state"`
			} `xml:"dialog"`
		}
		if err := xml.Unmarshal([]byte(strings.TrimSpace(body)), &doc); err != nil {
			t.Fatalf("NOTIFY body is not dialog-info: %v\n%s", err, msg)
		}
		n.version = doc.Version
		if len(doc.Dialogs) == 1 {
			d := doc.Dialogs[0]
			n.state, n.direction, n.callID = d.State, d.Direction, d.CallID
		}
		out = append(out, n)
	}
	return out
}

func TestBLFLampFollowsCall(t *testing.T) {
	a := startServe(t, serveOpt{site: blfSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-blf-secret-101", box, 39200, aliceHz)
	bob := startBaresipMode(t, "102", "bob-blf-secret-102", box, 39400, bobHz, "manual")
	for _, p := range []*baresip{alice, bob} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}

	// Carol's phone (SIPp) watches 102 with its BLF key.
	msgs := filepath.Join(t.TempDir(), "blf_messages.log")
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	sippPort := freePort(t)
	go func() {
		code, out := sipp(t, 90*time.Second, box, "-sf", testdata(t, "uac_blf_subscribe.xml"), "-s", "102",
			"-set", "watcher", "103", "-au", "103", "-ap", "carol-blf-secret-103", "-m", "1",
			"-i", "127.0.0.1", "-p", fmt.Sprint(sippPort), "-trace_msg", "-message_file", msgs)
		done <- result{code, out}
	}()
	if !a.waitLog("subscribed", 15*time.Second) {
		t.Fatalf("the BLF SUBSCRIBE was not taken\n%s", a.log())
	}
	time.Sleep(500 * time.Millisecond)

	alice.command("dial", "sip:102@"+box)
	if _, ok := bob.waitEvent("CALL_INCOMING", 10*time.Second); !ok {
		t.Fatalf("Bob's phone never rang\n%s", a.log())
	}
	time.Sleep(2 * time.Second) // the lamp blinks
	bob.command("accept", "")
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Bob's answer did not reach Alice\n%s", a.log())
	}
	time.Sleep(2 * time.Second) // the lamp is steady
	bob.command("hangup", "")
	if _, ok := alice.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatalf("the call did not end\n%s", a.log())
	}

	var r result
	select {
	case r = <-done:
	case <-time.After(100 * time.Second):
		t.Fatal("SIPp never finished")
	}
	if r.code != 0 {
		t.Fatalf("SIPp BLF subscriber: exit %d\n%s\n%s", r.code, r.out, a.log())
	}
	got := receivedNotifies(t, msgs)
	// Collapse repeats (a NOTIFY may be resent with the same state); what
	// the lamp showed, in order:
	var seq []string
	for i, n := range got {
		if n.version != i {
			t.Errorf("NOTIFY %d has version %d, want %d (one more per NOTIFY)", i, n.version, i)
		}
		if n.state == "early" && (n.direction != "recipient" || !strings.HasPrefix(n.callID, "pickup-102@")) {
			t.Errorf("ringing dialog: direction %q call-id %q; want recipient and the pickup call-id", n.direction, n.callID)
		}
		if len(seq) == 0 || seq[len(seq)-1] != n.state {
			seq = append(seq, n.state)
		}
	}
	t.Logf("NOTIFYs: %+v", got)
	if want := []string{"terminated", "early", "confirmed", "terminated"}; strings.Join(seq, " ") != strings.Join(want, " ") {
		t.Errorf("the lamp showed %v, want %v\n%+v", seq, want, got)
	}
	if last := got[len(got)-1]; last.subState != "terminated" {
		t.Errorf("the last NOTIFY's Subscription-State is %q, want terminated (unsubscribed)", last.subState)
	}
}
