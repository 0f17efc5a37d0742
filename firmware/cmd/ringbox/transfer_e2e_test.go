package main

// Call transfer end to end: the real appliance, baresip phones. Alice
// (101) calls Bob (102); Bob transfers her with REFER (baresip's
// "transfer" command) or with the ## feature code typed during the call.
// Audio after the transfer is checked in what the phones recorded: each
// phone sends its own tone, so the share of the other party's tone in the
// last seconds of a recording says who it was talking to.

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Tones of the phones of the transfer tests.
const (
	aliceHz = 440
	bobHz   = 1000
	carolHz = 1500
)

// transferSite: three phones, an international-only route, and a short
// transfer recall so the decline test is quick.
func transferSite(t *testing.T, livePort int) string {
	t.Helper()
	y := fmt.Sprintf(`version: 1
system: {name: E2E, timezone: UTC, office_number: "+15551230000", transfer_recall: 8s}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
  - {number: "102", name: Bob, secret: "bob-secret-102"}
  - {number: "103", name: Carol, secret: "carol-secret-103"}
trunks:
  - {id: live, host: "127.0.0.2:%d", transport: udp}
outbound:
  - {pattern: "011.", trunks: [live], permission: international}
`, livePort)
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// transferCDR is a record as the API gives it, with its transfers.
type transferCDR struct {
	CallID     string `json:"call_id"`
	TransferOf string `json:"transfer_of"`
	Cause      string `json:"cause"`
	Transfers  []struct {
		Kind     string `json:"kind"`
		By       string `json:"by"`
		To       string `json:"to"`
		Leg      string `json:"leg"`
		Call     string `json:"call"`
		Result   string `json:"result"`
		Recalled bool   `json:"recalled"`
	} `json:"transfers"`
	Legs []struct {
		ID         string `json:"id"`
		Target     string `json:"target"`
		TransferBy string `json:"transfer_by"`
	} `json:"legs"`
}

type transferCall struct {
	a                 *appliance
	box               string
	alice, bob, carol *baresip
}

// startTransferCall starts the box and three phones, and has Alice call
// Bob; Carol answers by herself unless carolMode says "manual".
func startTransferCall(t *testing.T, rtpBase int, carolMode string) *transferCall {
	t.Helper()
	a := startServe(t, serveOpt{site: transferSite(t, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	tc := &transferCall{a: a, box: box,
		alice: startBaresip(t, "101", "alice-secret-101", box, rtpBase, aliceHz),
		bob:   startBaresip(t, "102", "bob-secret-102", box, rtpBase+200, bobHz),
		carol: startBaresipMode(t, "103", "carol-secret-103", box, rtpBase+400, carolHz, carolMode),
	}
	for _, p := range []*baresip{tc.alice, tc.bob, tc.carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	tc.alice.command("dial", "sip:102@"+box)
	if _, ok := tc.bob.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Alice's call to Bob not established\n%s", a.log())
	}
	time.Sleep(2 * time.Second) // they talk
	return tc
}

// lastSeconds is the tail of a recording.
func lastSeconds(s []int16, rate int, secs float64) []int16 {
	n := int(secs * float64(rate))
	if len(s) < n {
		return s
	}
	return s[len(s)-n:]
}

// hears checks that p's recording ends with the tone hz: the share of hz
// in the last three seconds is above 0.3 (it is near 0 for another tone).
func hears(t *testing.T, p *baresip, hz float64, who string) {
	t.Helper()
	got, rate, err := p.received()
	if err != nil {
		t.Fatalf("%s: %v", p.user, err)
	}
	if share := toneShare(lastSeconds(got, rate, 3), rate, hz); share < 0.3 {
		t.Errorf("%s does not hear %s at the end of the call: %.0f Hz share %.2f (%d samples)", p.user, who, hz, share, len(got))
	} else {
		t.Logf("%s hears %s: %.0f Hz share %.2f", p.user, who, hz, share)
	}
}

func (tc *transferCall) cdr(t *testing.T) transferCDR {
	t.Helper()
	tok := tc.a.token("admin")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var rows []transferCDR
		tc.a.get("/api/v1/cdr", tok, &rows)
		for _, r := range rows {
			if len(r.Transfers) > 0 {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CDR with a transfer: %+v\n%s", rows, tc.a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hangupAll ends the call from Alice's side and waits for the CDR.
func (tc *transferCall) hangupAll(t *testing.T) transferCDR {
	t.Helper()
	tc.alice.command("hangup", "")
	if _, ok := tc.alice.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("Alice's call did not close")
	}
	r := tc.cdr(t)
	time.Sleep(500 * time.Millisecond) // the phones close their recordings
	return r
}

func TestTransferBlindREFER(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "auto")
	tc.bob.command("transfer", "sip:103@"+tc.box)
	if _, ok := tc.carol.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("Carol never got the transferred call\n%s", tc.a.log())
	}
	if _, ok := tc.bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Errorf("Bob's leg stayed up after the transfer completed")
	}
	time.Sleep(4 * time.Second) // Alice and Carol talk
	r := tc.hangupAll(t)
	hears(t, tc.alice, carolHz, "Carol")
	hears(t, tc.carol, aliceHz, "Alice")
	x := r.Transfers[0]
	if x.Kind != "blind" || x.By != "102" || x.To != "103" || x.Result != "completed" || x.Leg == "" {
		t.Errorf("CDR transfer = %+v", x)
	}
	linked := false
	for _, l := range r.Legs {
		if l.ID == x.Leg && l.TransferBy == "102" {
			linked = true
		}
	}
	if !linked {
		t.Errorf("CDR legs %+v: no leg %s transferred by 102", r.Legs, x.Leg)
	}
	if !tc.a.waitLog("transfer asked", time.Second) {
		t.Error("the box did not log the REFER")
	}
}

func TestTransferRecallAfterDecline(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "manual")
	tc.bob.command("transfer", "sip:103@"+tc.box)
	if _, ok := tc.carol.waitEvent("CALL_INCOMING", 10*time.Second); !ok {
		t.Fatalf("Carol never rang\n%s", tc.a.log())
	}
	// A blind transfer: Bob is gone by the time Carol decides.
	if tc.bob.countEvents("CALL_CLOSED") == 0 {
		tc.bob.command("hangup", "")
	}
	if _, ok := tc.bob.waitEvent("CALL_CLOSED", 5*time.Second); !ok {
		t.Fatal("Bob's call did not close")
	}
	time.Sleep(time.Second)
	declined := time.Now()
	tc.carol.command("hangup", "") // decline
	deadline := declined.Add(8 * time.Second)
	// Bob answers by himself: his second established call is the recall.
	for tc.bob.countEvents("CALL_ESTABLISHED") < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if tc.bob.countEvents("CALL_ESTABLISHED") < 2 {
		t.Fatalf("Bob was not rung back within transfer_recall (8s) of Carol's decline\n%s", tc.a.log())
	}
	t.Logf("recall rang Bob %v after the decline", time.Since(declined).Round(10*time.Millisecond))
	// Bob answers (auto), hears the busy tone briefly, then has Alice back.
	time.Sleep(6 * time.Second)
	r := tc.hangupAll(t)
	hears(t, tc.alice, bobHz, "Bob again")
	x := r.Transfers[0]
	if !x.Recalled || x.Result == "completed" || x.To != "103" {
		t.Errorf("CDR transfer = %+v, want failed and recalled", x)
	}
}

func TestTransferForbiddenOutsideNumber(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "auto")
	// 102 has the default (national) permission; 011... needs international.
	tc.bob.command("transfer", "sip:01144201234567@"+tc.box)
	if !tc.a.waitLog("outbound call forbidden", 10*time.Second) {
		t.Fatalf("the box did not refuse the outside number\n%s", tc.a.log())
	}
	if !tc.bob.outputContains("403") {
		// baresip prints the sipfrag's status it got in the NOTIFY.
		time.Sleep(2 * time.Second)
	}
	if !tc.bob.outputContains("403") {
		t.Errorf("Bob's phone was not told 403 (NOTIFY sipfrag)")
	}
	// baresip ends its call when told its transfer failed; the box then
	// rings Bob back (as after a decline), so Alice's call stays up and
	// ends with Bob either way.
	time.Sleep(4 * time.Second)
	if tc.alice.countEvents("CALL_CLOSED") > 0 {
		t.Fatalf("the refused transfer ended Alice's call\n%s", tc.a.log())
	}
	if tc.bob.countEvents("CALL_CLOSED") > 0 && tc.bob.countEvents("CALL_ESTABLISHED") < 2 {
		t.Fatalf("Bob hung up on the refusal and was not rung back\n%s", tc.a.log())
	}
	r := tc.hangupAll(t)
	hears(t, tc.alice, bobHz, "Bob")
	if x := r.Transfers[0]; x.Result != "forbidden" || x.To != "01144201234567" {
		t.Errorf("CDR transfer = %+v, want forbidden", x)
	}
}

func TestTransferFeatureCodeBlind(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "auto")
	for _, k := range "##103#" {
		tc.bob.command("sndcode", string(k))
		time.Sleep(400 * time.Millisecond)
	}
	if _, ok := tc.carol.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("## 103 # did not transfer to Carol\n%s", tc.a.log())
	}
	if _, ok := tc.bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Errorf("Bob's leg stayed up after the transfer")
	}
	time.Sleep(4 * time.Second)
	r := tc.hangupAll(t)
	hears(t, tc.alice, carolHz, "Carol")
	hears(t, tc.carol, aliceHz, "Alice")
	if x := r.Transfers[0]; x.Kind != "blind" || x.By != "102" || x.To != "103" || x.Result != "completed" {
		t.Errorf("CDR transfer = %+v", x)
	}
}

// *2 + number: Bob talks to Carol first while Alice waits, then hangs up
// to hand Alice over.
func TestTransferFeatureCodeAttended(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "auto")
	for _, k := range "*2103#" {
		tc.bob.command("sndcode", string(k))
		time.Sleep(400 * time.Millisecond)
	}
	if _, ok := tc.carol.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("*2 103 # did not ring Carol\n%s", tc.a.log())
	}
	time.Sleep(2 * time.Second) // Bob and Carol talk; Alice waits
	if tc.alice.countEvents("CALL_CLOSED") > 0 {
		t.Fatal("Alice's call ended during the consultation")
	}
	tc.bob.command("hangup", "")
	time.Sleep(4 * time.Second) // Alice and Carol talk
	if tc.carol.countEvents("CALL_CLOSED") > 0 {
		t.Fatalf("Carol's call ended when Bob hung up\n%s", tc.a.log())
	}
	r := tc.hangupAll(t)
	hears(t, tc.alice, carolHz, "Carol")
	hears(t, tc.carol, aliceHz, "Alice")
	if x := r.Transfers[0]; x.Kind != "attended" || x.By != "102" || x.To != "103" || x.Result != "completed" {
		t.Errorf("CDR transfer = %+v", x)
	}
}

// The caller transfers: Bob calls Alice, then transfers her to Carol.
// Alice goes on in a call of her own, whose record names Bob's call.
func TestTransferByTheCallerREFER(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: transferSite(t, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), aliceHz)
	bob := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), bobHz)
	carol := startBaresip(t, "103", "carol-secret-103", box, mediaPorts(t, 100), carolHz)
	for _, p := range []*baresip{alice, bob, carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	bob.command("dial", "sip:101@"+box)
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Bob's call to Alice not established\n%s", a.log())
	}
	time.Sleep(2 * time.Second)
	bob.command("transfer", "sip:103@"+box)
	if _, ok := carol.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("Carol never got the transferred call\n%s", a.log())
	}
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Errorf("Bob's leg stayed up after the transfer completed")
	}
	time.Sleep(4 * time.Second)
	alice.command("hangup", "")
	if _, ok := carol.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("Carol's call did not end with Alice's")
	}
	time.Sleep(500 * time.Millisecond)
	hears(t, alice, carolHz, "Carol")
	hears(t, carol, aliceHz, "Alice")

	rows := waitCDRs[transferCDR](a, a.token("admin"), 2)
	var orig, split *transferCDR
	for i := range rows {
		if rows[i].TransferOf != "" {
			split = &rows[i]
		} else {
			orig = &rows[i]
		}
	}
	if orig == nil || split == nil || split.TransferOf != orig.CallID || len(split.Transfers) != 1 || len(orig.Transfers) != 1 {
		t.Fatalf("CDRs = %+v", rows)
	}
	if x := split.Transfers[0]; x.By != "102" || x.To != "103" || x.Result != "completed" {
		t.Errorf("split call's transfer = %+v", x)
	}
	if x := orig.Transfers[0]; x.Call != split.CallID || x.Result != "handed_off" {
		t.Errorf("original call's transfer = %+v", x)
	}
}
