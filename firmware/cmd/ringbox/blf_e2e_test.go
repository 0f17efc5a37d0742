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
	remote    string // the ringing dialog's remote identity: "Name <uri>"
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
				Remote    struct {
					Identity struct {
						Display string `xml:"display,attr"`
						URI     string `xml:",chardata"`
					} `xml:"identity"`
				} `xml:"remote"`
			} `xml:"dialog"`
		}
		if err := xml.Unmarshal([]byte(strings.TrimSpace(body)), &doc); err != nil {
			t.Fatalf("NOTIFY body is not dialog-info: %v\n%s", err, msg)
		}
		n.version = doc.Version
		if len(doc.Dialogs) == 1 {
			d := doc.Dialogs[0]
			n.state, n.direction, n.callID = d.State, d.Direction, d.CallID
			if id := d.Remote.Identity; id.URI != "" {
				n.remote = id.Display + " <" + id.URI + ">"
			}
		}
		out = append(out, n)
	}
	return out
}

// blfKey is a SIPp phone's BLF key subscribed to one resource
// (uac_blf_subscribe.xml): it runs until the lamp's dialog has been in
// the three states given, in that order, then unsubscribes.
type blfKey struct {
	a    *appliance
	msgs string
	done chan blfResult
}

type blfResult struct {
	code int
	out  string
}

// startBLFKey subscribes ext's phone (SIPp, with ext's digest
// credentials) to user's lamp, and returns once the box took it. The key
// waits for the lamp to go through states (three dialog states).
func startBLFKey(t *testing.T, a *appliance, user, ext, secret string, states [3]string) *blfKey {
	t.Helper()
	k := &blfKey{a: a, msgs: filepath.Join(t.TempDir(), "blf_messages.log"), done: make(chan blfResult, 1)}
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	scen, port := testdata(t, "uac_blf_subscribe.xml"), freePort(t)
	n := strings.Count(a.log(), "subscribed")
	go func() {
		code, out := sipp(t, 90*time.Second, box, "-sf", scen, "-s", user,
			"-set", "watcher", ext, "-au", ext, "-ap", secret, "-m", "1",
			"-set", "first", states[0], "-set", "second", states[1], "-set", "third", states[2],
			"-i", "127.0.0.1", "-p", fmt.Sprint(port), "-trace_msg", "-message_file", k.msgs)
		k.done <- blfResult{code, out}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(a.log(), "subscribed") == n {
		if time.Now().After(deadline) {
			t.Fatalf("the BLF SUBSCRIBE to %s was not taken\n%s", user, a.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the first NOTIFY
	return k
}

// wait waits for SIPp to finish and returns the NOTIFYs it received.
func (k *blfKey) wait(t *testing.T) []lampNotify {
	t.Helper()
	var r blfResult
	select {
	case r = <-k.done:
	case <-time.After(100 * time.Second):
		t.Fatal("SIPp never finished")
	}
	if r.code != 0 {
		t.Fatalf("SIPp BLF key: exit %d\n%s\n%s", r.code, r.out, k.a.log())
	}
	return receivedNotifies(t, k.msgs)
}

// lampStates is what the lamp showed, in order, repeats collapsed; it
// checks the versions go up by one per NOTIFY.
func lampStates(t *testing.T, got []lampNotify) []string {
	t.Helper()
	var seq []string
	for i, n := range got {
		if n.version != i {
			t.Errorf("NOTIFY %d has version %d, want %d (one more per NOTIFY)", i, n.version, i)
		}
		if len(seq) == 0 || seq[len(seq)-1] != n.state {
			seq = append(seq, n.state)
		}
	}
	return seq
}

func TestBLFLampFollowsCall(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: blfSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-blf-secret-101", box, mediaPorts(t, 100), aliceHz)
	bob := startBaresipMode(t, "102", "bob-blf-secret-102", box, mediaPorts(t, 100), bobHz, "manual")
	for _, p := range []*baresip{alice, bob} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}

	// Carol's phone (SIPp) watches 102 with its BLF key.
	lamp := startBLFKey(t, a, "102", "103", "carol-blf-secret-103", [3]string{"early", "confirmed", "terminated"})

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

	got := lamp.wait(t)
	t.Logf("NOTIFYs: %+v", got)
	for _, n := range got {
		if n.state == "early" && (n.direction != "recipient" || !strings.HasPrefix(n.callID, "pickup-102@")) {
			t.Errorf("ringing dialog: direction %q call-id %q; want recipient and the pickup call-id", n.direction, n.callID)
		}
		if n.state == "early" && !strings.HasPrefix(n.remote, "Alice <sip:101@") {
			t.Errorf("ringing dialog's caller %q, want Alice <sip:101@…>", n.remote)
		}
	}
	if seq, want := lampStates(t, got), "terminated early confirmed terminated"; strings.Join(seq, " ") != want {
		t.Errorf("the lamp showed %v, want %s", seq, want)
	}
	if last := got[len(got)-1]; last.subState != "terminated" {
		t.Errorf("the last NOTIFY's Subscription-State is %q, want terminated (unsubscribed)", last.subState)
	}
}

// TestBLFAgentKey: Alice's phone has a key on *45, her agent's lamp. It
// blinks while she is logged in unavailable, is steady once she is
// available, and pressing it (the phone dials *45) logs her out: off.
func TestBLFAgentKey(t *testing.T) {
	t.Parallel()
	y := `version: 1
system: {name: BLF agent E2E, timezone: UTC}
extensions:
  - {number: "101", name: Alice, secret: "alice-blf-secret-101"}
agents:
  - {id: alice, name: Alice, extension: "101"}
queues:
  - {id: service, agents: [alice], on_empty: hangup}
`
	p := filepath.Join(t.TempDir(), "blf-agent.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: p})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	alice := startBaresip(t, "101", "alice-blf-secret-101", box, mediaPorts(t, 100), aliceHz)
	if !alice.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 101 did not register")
	}
	lamp := startBLFKey(t, a, "*45", "101", "alice-blf-secret-101", [3]string{"early", "confirmed", "terminated"})
	if code, body := a.post("/api/v1/agents/alice/login", admin, `{"unavailable":true,"reason":"coffee"}`); code != 200 {
		t.Fatalf("log alice in unavailable: %d %s", code, body)
	}
	time.Sleep(time.Second)
	if code, body := a.post("/api/v1/agents/alice/available", admin, "{}"); code != 200 {
		t.Fatalf("set alice available: %d %s", code, body)
	}
	time.Sleep(time.Second)
	// The key pressed: the phone dials the key's user part.
	alice.command("dial", "sip:*45@"+box)
	if _, ok := alice.waitEvent("CALL_CLOSED", 15*time.Second); !ok {
		t.Fatalf("*45 did not end\n%s", a.log())
	}
	got := lamp.wait(t)
	t.Logf("NOTIFYs: %+v", got)
	if seq, want := lampStates(t, got), "terminated early confirmed terminated"; strings.Join(seq, " ") != want {
		t.Errorf("the agent's lamp showed %v, want %s", seq, want)
	}
	var info struct {
		Status string `json:"status"`
	}
	a.get("/api/v1/agents/alice", admin, &info)
	if info.Status != "logged_out" {
		t.Errorf("after the key was pressed alice is %q, want logged_out", info.Status)
	}
}

// TestBLFPickupByReplaces: while Bob's phone rings, Carol presses her BLF
// key for 102 and her phone (SIPp) sends an INVITE with Replaces of the
// ringing dialog the lamp showed: she gets Alice's call, Bob's phone
// stops ringing.
func TestBLFPickupByReplaces(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: blfSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-blf-secret-101", box, mediaPorts(t, 100), aliceHz)
	bob := startBaresipMode(t, "102", "bob-blf-secret-102", box, mediaPorts(t, 100), bobHz, "manual")
	for _, p := range []*baresip{alice, bob} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	alice.command("dial", "sip:102@"+box)
	if _, ok := bob.waitEvent("CALL_INCOMING", 10*time.Second); !ok {
		t.Fatalf("Bob's phone never rang\n%s", a.log())
	}
	// The ringing dialog's identifiers as the lamp's NOTIFY carries them
	// (firmware/sip TestDialogInfo checks the NOTIFY side).
	replaces := "pickup-102@127.0.0.1;to-tag=caller102;from-tag=ringing102;early-only"
	code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_invite_replaces.xml"), "-s", "102",
		"-set", "caller", "103", "-set", "replaces", replaces, "-au", "103", "-ap", "carol-blf-secret-103",
		"-m", "1", "-d", "2000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if code != 0 {
		t.Fatalf("SIPp pickup by Replaces: exit %d\n%s\n%s", code, out, a.log())
	}
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 5*time.Second); !ok {
		t.Errorf("Alice's call was not answered by the pickup\n%s", a.log())
	}
	if _, ok := bob.waitEvent("CALL_CLOSED", 5*time.Second); !ok {
		t.Errorf("Bob's phone kept ringing after the pickup")
	}
	if !a.waitLog("pickup: picked", 2*time.Second) {
		t.Errorf("the box did not log the pickup\n%s", a.log())
	}
}

// TestBLFQueueKey: a key on queue-service is steady while a caller waits,
// blinks once the caller has waited past the queue's service level, and
// goes off when the caller leaves, as the box's queue LED.
func TestBLFQueueKey(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	y := fmt.Sprintf(`version: 1
system: {name: BLF queue E2E, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-blfq-secret-101"}
  - {number: "103", name: Carol, secret: "carol-blfq-secret-103"}
agents:
  - {id: bob, name: Bob, extension: "101"}
queues:
  - {id: service, agents: [bob], agent_ring: 30s, service_level: 3s, on_empty: hangup}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: queue:service}
`, carrier)
	p := filepath.Join(t.TempDir(), "blf-queue.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: p})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresipMode(t, "101", "bob-blfq-secret-101", box, mediaPorts(t, 100), bobHz, "manual") // never answers
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 101 did not register")
	}
	if code, body := a.post("/api/v1/agents/bob/login", admin, "{}"); code != 200 {
		t.Fatalf("log bob in: %d %s", code, body)
	}
	lamp := startBLFKey(t, a, "queue-service", "103", "carol-blfq-secret-103", [3]string{"confirmed", "early", "terminated"})
	caller := startBaresipCarrier(t, "127.0.0.2", mediaPorts(t, 100), pickCallerHz)
	caller.command("dial", "sip:+15551230000@"+box)
	if _, ok := bob.waitEvent("CALL_INCOMING", 15*time.Second); !ok {
		t.Fatalf("the caller never reached the queue\n%s", a.log())
	}
	time.Sleep(5 * time.Second) // past the 3 s service level
	caller.command("hangup", "")
	if _, ok := caller.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("the caller's call did not close")
	}
	got := lamp.wait(t)
	t.Logf("NOTIFYs: %+v", got)
	if seq, want := lampStates(t, got), "terminated confirmed early terminated"; strings.Join(seq, " ") != want {
		t.Errorf("the queue's lamp showed %v, want %s", seq, want)
	}
}
