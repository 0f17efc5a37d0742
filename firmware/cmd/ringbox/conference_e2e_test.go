package main

// Meet-me conference end to end: the real appliance, three baresip
// phones (two G.711, one G.722), each sending its own tone. They dial the
// room's number and its PIN; each must then hear the other two and not
// itself (the mixer's N-1 mix).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func conferenceSite(t *testing.T) string {
	t.Helper()
	y := `version: 1
system: {name: E2E, timezone: UTC}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
  - {number: "102", name: Bob, secret: "bob-secret-102"}
  - {number: "103", name: Carol, secret: "carol-secret-103"}
conferences:
  - {id: team, number: "800", pin: "4321"}
`
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// notHears checks that p does not hear the tone hz in its last seconds.
func notHears(t *testing.T, p *baresip, hz float64, who string) {
	t.Helper()
	got, rate, err := p.received()
	if err != nil {
		t.Fatalf("%s: %v", p.user, err)
	}
	if share := toneShare(lastSeconds(got, rate, 3), rate, hz); share > 0.1 {
		t.Errorf("%s hears %s: %.0f Hz share %.2f, want none", p.user, who, hz, share)
	}
}

// conferenceRoom is the box and three registered phones: Alice and Bob on
// G.711, Carol on G.722 only (the room mixes at 16 kHz for her).
type conferenceRoom struct {
	a                 *appliance
	box               string
	alice, bob, carol *baresip
}

func startConferenceRoom(t *testing.T, rtpBase int) *conferenceRoom {
	t.Helper()
	a := startServe(t, serveOpt{site: conferenceSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	r := &conferenceRoom{a: a, box: box,
		alice: startBaresip(t, "101", "alice-secret-101", box, rtpBase, aliceHz),
		bob:   startBaresip(t, "102", "bob-secret-102", box, rtpBase+200, bobHz),
		carol: startBaresipRate(t, "127.0.0.1", "103",
			fmt.Sprintf("<sip:103@%s>;auth_pass=carol-secret-103;answermode=auto;regint=300;audio_codecs=G722/16000/1\n", box),
			rtpBase+400, carolHz, 16000),
	}
	for _, p := range []*baresip{r.alice, r.bob, r.carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	return r
}

// typeKeys types s on p's keypad.
func typeKeys(p *baresip, s string) {
	for _, k := range s {
		p.command("sndcode", string(k))
		time.Sleep(300 * time.Millisecond)
	}
}

// join dials the room and types the PINs given (each after the tone).
func (r *conferenceRoom) join(t *testing.T, p *baresip, pins ...string) {
	t.Helper()
	p.command("dial", "sip:800@"+r.box)
	if _, ok := p.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("%s: the room did not answer\n%s", p.user, r.a.log())
	}
	time.Sleep(500 * time.Millisecond) // the PIN tone starts
	for i, pin := range pins {
		if i > 0 {
			time.Sleep(3 * time.Second) // "invalid option", then the tone again
		}
		typeKeys(p, pin+"#")
	}
}

// hangupAll hangs the three up together and waits for their recordings.
func (r *conferenceRoom) hangupAll(t *testing.T) {
	t.Helper()
	all := []*baresip{r.alice, r.bob, r.carol}
	for _, p := range all {
		if p.countEvents("CALL_CLOSED") > 0 {
			t.Fatalf("%s's call ended in the room\n%s", p.user, r.a.log())
		}
	}
	for _, p := range all {
		p.command("hangup", "")
	}
	for _, p := range all {
		if _, ok := p.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
			t.Fatalf("%s's call did not close", p.user)
		}
	}
	time.Sleep(500 * time.Millisecond) // the phones close their recordings
}

func TestConferenceMeetMe(t *testing.T) {
	t.Parallel()
	r := startConferenceRoom(t, mediaPorts(t, 500))
	a, alice, bob, carol := r.a, r.alice, r.bob, r.carol
	r.join(t, alice, "4321")
	r.join(t, bob, "1111", "4321") // a wrong PIN first: asked again
	r.join(t, carol, "4321")
	time.Sleep(5 * time.Second) // all three talk
	r.hangupAll(t)
	if !strings.Contains(a.log(), "conference: wrong pin") {
		t.Errorf("Bob's wrong PIN was not refused\n%s", a.log())
	}

	hears(t, alice, bobHz, "Bob")
	hears(t, alice, carolHz, "Carol")
	notHears(t, alice, aliceHz, "herself")
	hears(t, bob, aliceHz, "Alice")
	hears(t, bob, carolHz, "Carol")
	notHears(t, bob, bobHz, "himself")
	hears(t, carol, aliceHz, "Alice")
	hears(t, carol, bobHz, "Bob")
	notHears(t, carol, carolHz, "herself")
}

// TestThreeWayCall: Alice calls Bob; Bob consults Carol with *2 103 #,
// then merges the three with *3: each hears the two others. Bob hangs
// up: Alice and Carol go on talking; Alice hanging up ends it.
func TestThreeWayCall(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "auto")
	typeKeys(tc.bob, "*2103#")
	if _, ok := tc.carol.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("*2 103 # did not ring Carol\n%s", tc.a.log())
	}
	time.Sleep(2 * time.Second) // Bob and Carol talk; Alice waits
	typeKeys(tc.bob, "*3")
	time.Sleep(4 * time.Second) // the three talk
	tc.bob.command("hangup", "")
	if _, ok := tc.bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("Bob's call did not close")
	}
	time.Sleep(500 * time.Millisecond) // Bob's phone closes its recording
	hears(t, tc.bob, aliceHz, "Alice")
	hears(t, tc.bob, carolHz, "Carol")
	time.Sleep(4 * time.Second) // Alice and Carol without Bob
	for _, p := range []*baresip{tc.alice, tc.carol} {
		if p.countEvents("CALL_CLOSED") > 0 {
			t.Fatalf("%s's call ended when Bob left the three-way call\n%s", p.user, tc.a.log())
		}
	}
	r := tc.hangupAll(t)
	if _, ok := tc.carol.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("Carol's call did not end with the three-way call")
	}
	time.Sleep(500 * time.Millisecond)
	hears(t, tc.alice, carolHz, "Carol")
	hears(t, tc.carol, aliceHz, "Alice")
	notHears(t, tc.alice, bobHz, "Bob after he left")
	if x := r.Transfers[0]; x.Kind != "attended" || x.By != "102" || x.To != "103" || x.Result != "three-way" {
		t.Errorf("CDR transfer = %+v", x)
	}
}

// TestConferenceMute: Carol types the mute key (*6): Alice and Bob no
// longer hear her, and she still hears them.
func TestConferenceMute(t *testing.T) {
	// Mostly waiting on real-time audio and timers: it runs beside the
	// other such tests (their RTP ports are apart), which keeps make test
	// short on two cores.
	t.Parallel()
	r := startConferenceRoom(t, mediaPorts(t, 500))
	r.join(t, r.alice, "4321")
	r.join(t, r.bob, "4321")
	r.join(t, r.carol, "4321")
	time.Sleep(time.Second)
	typeKeys(r.carol, "*6")
	time.Sleep(5 * time.Second)
	r.hangupAll(t)
	hears(t, r.alice, bobHz, "Bob")
	notHears(t, r.alice, carolHz, "Carol, muted")
	hears(t, r.bob, aliceHz, "Alice")
	notHears(t, r.bob, carolHz, "Carol, muted")
	hears(t, r.carol, aliceHz, "Alice")
	hears(t, r.carol, bobHz, "Bob")
}
