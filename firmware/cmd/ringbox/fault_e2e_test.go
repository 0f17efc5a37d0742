package main

// Fault injection end to end (issue 15 part 9): the real box with real
// peers, some of them on the far side of a link (netem_test.go) that
// loses and delays packets or is cut. Every caller must end in a state a
// user can name: answered and hung up, taken by another agent, refused
// with a SIP status, or ended by the media timeout with a CDR saying so;
// and nothing is left behind: no live call, no media port, no agent
// stuck ringing.

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startServeOn starts the box listening for SIP on the link's near
// address, where the far side can reach it (the web port stays on
// loopback); it returns the box's SIP host:port.
func startServeOn(t *testing.T, l *farLink, site string) (*appliance, string) {
	t.Helper()
	port := freePort(t)
	box := fmt.Sprintf("%s:%d", l.BoxIP, port)
	a := startServe(t, serveOpt{site: writeSite(t, site), extra: []string{"--sip", box}})
	a.sipPort = port
	return a, box
}

// farPhone is a softphone on the far side of l, registered to the box as
// user, with its media on ports rtpLo..rtpLo+99 (the far namespace is the
// test's own: no other test's ports there); it sends a tone at toneHz and
// answers as baresip's answermode says ("auto" at once, "manual" rings).
func farPhone(t *testing.T, l *farLink, user, pass, box string, rtpLo int, toneHz float64, answer string) *baresip {
	t.Helper()
	acct := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;answermode=%s;regint=300;audio_codecs=PCMU,PCMA\n", user, box, pass, answer)
	var p *baresip
	l.in(func() { p = startBaresipAt(t, l.FarIP, user, acct, rtpLo, toneHz) })
	return p
}

// localPhone is startBaresip with its media ports picked free, so that
// tests running at once never share them.
func localPhone(t *testing.T, user, pass, box string, toneHz float64) *baresip {
	t.Helper()
	return startBaresip(t, user, pass, box, freePorts(t, 100), toneHz)
}

// liveCalls is the number of calls the dashboard shows in progress.
func liveCalls(a *appliance, tok string) int {
	var calls []map[string]any
	if code := a.get("/api/v1/calls/live", tok, &calls); code != 200 {
		a.t.Fatalf("GET /api/v1/calls/live = %d", code)
	}
	return len(calls)
}

// queueLog returns the queue log as text (Asterisk's queue_log lines).
func queueLog(a *appliance, tok string) string {
	req, _ := http.NewRequest("GET", a.base+"/api/v1/queuelog?from=1h", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// nothingLeft waits until no call is live and no media port is open: a
// fault must not leave either behind.
func nothingLeft(t *testing.T, a *appliance, tok string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		calls, streams := liveCalls(a, tok), activeStreams(a)
		if calls == 0 && streams == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after the calls ended: %d live calls and %d media streams left open\n%s", calls, streams, a.log())
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFaultAgentPhoneVanishesMidOffer: a caller in the queue is offered
// to Bob first; Bob's phone rings, and then its link dies (unplugged,
// Wi-Fi gone): no answer, no 486, nothing, not even to the CANCEL. The
// offer lapses at the queue's agent_ring, Bob is set unavailable
// (max_no_answer), and Sue takes the caller. Nothing stays ringing.
func TestFaultAgentPhoneVanishesMidOffer(t *testing.T) {
	t.Parallel()
	l := newFarLink(t)
	carrier := freePort(t)
	a, box := startServeOn(t, l, fmt.Sprintf(`version: 1
system: {name: Faults, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-fault-secret-101"}
  - {number: "102", name: Sue, secret: "sue-fault-secret-102"}
agents:
  - {id: bob, name: Bob, extension: "101"}
  - {id: sue, name: Sue, extension: "102"}
queues:
  - {id: service, strategy: linear, agents: [bob, sue], agent_ring: 4s, max_no_answer: 1, wrapup: 1s, on_empty: hangup}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: queue:service}
`, carrier))
	admin := a.token("admin")
	bob := farPhone(t, l, "101", "bob-fault-secret-101", box, 20000, 1000, "manual")
	sue := localPhone(t, "102", "sue-fault-secret-102", box, 1200)
	if !bob.waitRegistered(10*time.Second) || !sue.waitRegistered(10*time.Second) {
		t.Fatal("the agents' phones did not register")
	}
	for _, id := range []string{"bob", "sue"} {
		if code, body := a.post("/api/v1/agents/"+id+"/login", admin, "{}"); code != 200 {
			t.Fatalf("log %s in: %d %s", id, code, body)
		}
	}
	// The queue answers the caller at once (music); the caller stays 10 s,
	// long enough for bob's 4 s offer to lapse and sue to take the call.
	// Bob's phone vanishes as soon as it rings.
	cutWhenRinging := make(chan bool, 1)
	go func() {
		_, ok := bob.waitEvent("CALL_INCOMING", 10*time.Second)
		if ok {
			l.Cut()
		}
		cutWhenRinging <- ok
	}()
	if code, out := sipp(t, 40*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "10000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(freePorts(t, 4))); code != 0 {
		t.Fatalf("the caller's call failed: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if !<-cutWhenRinging {
		t.Fatalf("bob's phone never rang\n%s", a.log())
	}
	if n := sue.countEvents("CALL_ESTABLISHED"); n != 1 {
		t.Errorf("sue answered %d calls, want the one bob's phone never saw", n)
	}
	var bobNow struct {
		Status, Reason, State string
		Missed                int
	}
	a.waitFor("bob's missed offer to make him unavailable", func() bool {
		a.get("/api/v1/agents/bob", admin, &bobNow)
		return bobNow.Status == "unavailable"
	})
	if bobNow.Reason != "missed calls" || bobNow.State != "idle" || bobNow.Missed != 1 {
		t.Errorf("bob = %+v, want unavailable for missed calls, idle (not left ringing), 1 missed", bobNow)
	}
	ql := queueLog(a, admin)
	for _, want := range []string{"|service|bob|RINGNOANSWER|", "|service|sue|CONNECT|", "|service|sue|COMPLETE"} {
		if !strings.Contains(ql, want) {
			t.Errorf("queue log lacks %q:\n%s", want, ql)
		}
	}
	if r := a.waitCDR(admin, 1)[0]; r.Agent != "sue" || r.Answer.IsZero() || r.Cause != "normal" {
		t.Errorf("CDR = %+v, want answered by sue, ended normally", r)
	}
	nothingLeft(t, a, admin)
}

// TestFaultLossyDelayedCarrier: the carrier is behind a link that loses
// 8% of packets each way and delays them 100 to 200 ms (150 ± 50). Calls
// still connect (SIP retransmits what was lost), the people on them hear
// each other, and every call has a complete record.
func TestFaultLossyDelayedCarrier(t *testing.T) {
	t.Parallel()
	l := newFarLink(t)
	a, box := startServeOn(t, l, fmt.Sprintf(`version: 1
system: {name: Faults, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-fault-secret-101"}
trunks:
  - {id: carrier, host: "%s:5060", transport: udp}
inbound:
  - {match: "+15551230000", to: extension:101}
  - {match: "+15551230001", to: voicemail:general}
voicemail:
  - {box: general}
`, l.FarIP))
	admin := a.token("admin")
	bob := localPhone(t, "101", "bob-fault-secret-101", box, 1200)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	l.Impair(0.08, 150*time.Millisecond, 50*time.Millisecond)

	// Five callers leave messages (SIPp, from the carrier's address) while
	// one talks to bob.
	type result struct {
		code int
		out  string
	}
	sippDone := make(chan result, 1)
	go func() {
		var r result
		defer func() { sippDone <- r }()
		l.in(func() {
			r.code, r.out = sipp(t, 60*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230001", "-set", "caller", "+12125550100",
				"-m", "5", "-r", "2", "-l", "5", "-d", "3000", "-i", l.FarIP, "-p", "5060", "-mi", l.FarIP, "-mp", "30000")
		})
	}()
	var caller *baresip
	l.in(func() { caller = startBaresipCarrier(t, l.FarIP, 20000, 700) })
	caller.command("dial", "sip:+15551230000@"+box)
	if _, ok := caller.waitEvent("CALL_ESTABLISHED", 20*time.Second); !ok {
		t.Fatalf("the carrier's call to bob did not connect over the lossy link\n%s", a.log())
	}
	time.Sleep(5 * time.Second) // the conversation
	caller.command("hangup", "")
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Error("bob's phone never heard the caller hang up")
	}
	caller.heard(t, 1200, 3)
	bob.heard(t, 700, 3)
	r := <-sippDone
	if r.code != 0 {
		t.Errorf("the five callers to voicemail: sipp exit %d, want every call set up and ended cleanly\n%s", r.code, r.out)
	}
	if !l.netem && l.Dropped() == 0 {
		t.Error("the link dropped nothing: the test proved nothing about loss")
	}
	rows := a.waitCDR(admin, 6)
	for _, r := range rows {
		if r.Answer.IsZero() || r.Cause != "normal" || r.Trunk != "carrier" {
			t.Errorf("CDR %+v, want an answered carrier call ended normally", r)
		}
	}
	nothingLeft(t, a, admin)
}

// trunkState reads a trunk's registration state from the API.
func trunkState(a *appliance, tok, id string) string {
	var trunks []struct{ ID, State string }
	a.get("/api/v1/trunks", tok, &trunks)
	for _, tr := range trunks {
		if tr.ID == id {
			return tr.State
		}
	}
	return ""
}

// waitUntil polls cond every 200 ms for at most d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// TestFaultFarSideVanishes: a branch office's link (its carrier, with the
// box registered to it, and a desk phone) goes dead in the middle of
// calls: no BYE, no ICMP, nothing. Every call ends in a state a user can
// name, within the product's default timers (so this test takes about 75
// seconds: the 60 s media timeout, the 32 s trunk timeout, the 30 s
// registration retry):
//   - the carrier's inbound call to bob and sue's call to the branch phone
//     end by the media timeout; bob's and sue's phones get a BYE and the
//     CDRs say media_timeout;
//   - an outbound call routed [far, backup] fails over to the backup
//     trunk and is answered; one routed to the dead trunk alone is refused
//     with 503 and a CDR saying congestion;
//   - the box's registration to the carrier notices it is gone and
//     registers again when it comes back;
//   - nothing is left: no live call, no media port.
func TestFaultFarSideVanishes(t *testing.T) {
	t.Parallel()
	l := newFarLink(t)
	backup := freePort(t)
	a, box := startServeOn(t, l, fmt.Sprintf(`version: 1
system: {name: Faults, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Bob, secret: "bob-fault-secret-101"}
  - {number: "102", name: Sue, secret: "sue-fault-secret-102"}
  - {number: "103", name: Max, secret: "max-fault-secret-103", permission: international}
  - {number: "201", name: Branch, secret: "branch-fault-secret-201"}
trunks:
  - {id: far, host: "%s:5060", transport: udp, username: trunkuser, password: trunkpass, register: true}
  - {id: backup, host: "127.0.0.3:%d", transport: udp}
outbound:
  - {pattern: "+1NXXNXXXXXX", trunks: [far, backup], permission: national}
  - {pattern: "+44.", trunks: [far], permission: international}
inbound:
  - {match: "+15551230000", to: extension:101}
`, l.FarIP, backup))
	admin := a.token("admin")
	// The far side: the carrier's registrar, a caller at the carrier, the
	// branch's phone.
	l.in(func() {
		sippBackground(t, "-sf", testdata(t, "uas_registrar_short.xml"), "-inf", testdata(t, "trunk_users.csv"), "-infindex", "trunk_users.csv", "0",
			"-deadcall_wait", "500", "-i", l.FarIP, "-p", "5060")
	})
	var caller *baresip
	l.in(func() { caller = startBaresipCarrier(t, l.FarIP, 20200, 700) })
	branch := farPhone(t, l, "201", "branch-fault-secret-201", box, 20000, 900, "auto")
	// Here: bob, sue, and the backup carrier that answers.
	bob := localPhone(t, "101", "bob-fault-secret-101", box, 1200)
	sue := localPhone(t, "102", "sue-fault-secret-102", box, 1500)
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.3", "-p", fmt.Sprint(backup),
		"-mi", "127.0.0.3", "-mp", fmt.Sprint(freePorts(t, 4)), "-d", "0")
	for _, p := range []*baresip{bob, sue, branch} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("phone %s did not register", p.user)
		}
	}
	if !waitUntil(15*time.Second, func() bool { return trunkState(a, admin, "far") == "registered" }) {
		t.Fatalf("the box never registered to the far carrier\n%s", a.log())
	}

	// Two calls across the link, talking. Bob and sue talk for longer
	// than the 30 s their microphones hold by default (baresip hangs up
	// when its sound file ends): the box, not their phones, must end
	// these calls.
	writeToneWAV(t, filepath.Join(bob.dir, "mic.wav"), 1200, 120)
	writeToneWAV(t, filepath.Join(sue.dir, "mic.wav"), 1500, 120)
	caller.command("dial", "sip:+15551230000@"+box)
	sue.command("dial", "sip:201@"+box)
	for _, p := range []*baresip{caller, bob, sue, branch} {
		if _, ok := p.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
			t.Fatalf("%s's call did not connect\n%s", p.user, a.log())
		}
	}
	time.Sleep(2 * time.Second)

	l.Cut()
	cut := time.Now()
	// Outbound calls while the carrier is gone.
	type result struct {
		code int
		out  string
	}
	failover, refused := make(chan result, 1), make(chan result, 1)
	outbound := func(number string, res chan<- result) {
		var r result
		defer func() { res <- r }()
		r.code, r.out = sipp(t, 60*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", number, "-set", "caller", "103",
			"-au", "103", "-ap", "max-fault-secret-103", "-m", "1", "-d", "1000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)),
			"-mi", "127.0.0.1", "-mp", fmt.Sprint(freePorts(t, 4)))
	}
	go outbound("+12125550199", failover)
	go outbound("+442071234567", refused)

	// The registration notices, then recovers once the carrier is back.
	if !waitUntil(50*time.Second, func() bool { return trunkState(a, admin, "far") == "failed" }) {
		t.Errorf("%v after the carrier vanished the trunk still shows %q, want failed", time.Since(cut).Round(time.Second), trunkState(a, admin, "far"))
	}
	// Both calls across the link end by the media timeout; the phones on
	// this side are told (BYE).
	for _, p := range []*baresip{bob, sue} {
		if _, ok := p.waitEvent("CALL_CLOSED", 75*time.Second-time.Since(cut)); !ok {
			t.Errorf("%s's phone was never told its call across the dead link ended", p.user)
		}
	}
	if d := time.Since(cut); d < 55*time.Second {
		t.Errorf("the calls across the dead link ended %v after it died, before the 60 s media timeout: who ended them?", d.Round(time.Second))
	}
	l.Restore()
	if !waitUntil(40*time.Second, func() bool { return trunkState(a, admin, "far") == "registered" }) {
		t.Errorf("the trunk did not register again after the carrier came back: %q", trunkState(a, admin, "far"))
	}

	if r := <-failover; r.code != 0 {
		t.Errorf("the call routed [far, backup] did not fail over to the backup trunk: sipp exit %d\n%s", r.code, r.out)
	}
	if r := <-refused; r.code == 0 || !strings.Contains(r.out, "SIP/2.0 503") {
		t.Errorf("the call routed to the dead trunk alone: sipp exit %d, want it refused with 503\n%s", r.code, r.out)
	}
	rows := a.waitCDR(admin, 4)
	causes := map[string]string{}
	for _, r := range rows {
		switch {
		case r.Direction == "inbound":
			causes["carrier to bob"] = r.Cause
		case r.Callee == "201":
			causes["sue to the branch"] = r.Cause
		case r.NumberSent == "+12125550199" || r.Callee == "+12125550199":
			causes["failover"] = r.Cause + " via " + r.Trunk
		case r.Callee == "+442071234567":
			causes["dead trunk alone"] = r.Cause
		}
	}
	for call, want := range map[string]string{
		"carrier to bob":    "media_timeout",
		"sue to the branch": "media_timeout",
		"failover":          "normal via backup",
		"dead trunk alone":  "congestion",
	} {
		if causes[call] != want {
			t.Errorf("CDR of %s: %q, want %q (all: %+v)", call, causes[call], want, rows)
		}
	}
	nothingLeft(t, a, admin)
}
