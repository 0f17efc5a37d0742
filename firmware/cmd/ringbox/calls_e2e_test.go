package main

// Call handling end to end with baresip phones on the real appliance:
// forking to two phones of one extension, hold and resume answered by the
// box, the callee hanging up, the caller cancelling, and a busy callee.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSIPForkHoldAndCalleeHangsUp(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	desk := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000)               // answers
	soft := startBaresipMode(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000, "manual") // rings
	for _, p := range []*baresip{alice, desk, soft} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	var regs []struct{ Extension string }
	// Every phone's registration: an admin's (a manager sees their team's).
	a.get("/api/v1/registrations", a.token("admin"), &regs)
	if n := strings.Count(fmt.Sprint(regs), "102"); n != 2 {
		t.Fatalf("extension 102 has %d contacts registered, want 2: %+v", n, regs)
	}

	alice.command("dial", "sip:102@"+box)
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("call not established\n%s", a.log())
	}
	if _, ok := soft.waitEvent("CALL_INCOMING", 5*time.Second); !ok {
		t.Error("the second phone of 102 never rang: the call was not forked")
	}
	if _, ok := soft.waitEvent("CALL_CLOSED", 5*time.Second); !ok {
		t.Error("the phone that lost the race kept ringing (no CANCEL)")
	}

	// Hold and resume: the box answers the re-INVITEs itself; the call
	// stays up and the desk phone is not disturbed.
	alice.command("hold", "")
	time.Sleep(1500 * time.Millisecond)
	alice.command("resume", "")
	time.Sleep(2 * time.Second)
	if alice.countEvents("CALL_CLOSED") > 0 || desk.countEvents("CALL_CLOSED") > 0 {
		t.Fatalf("hold/resume ended the call\n%s", a.log())
	}

	// The callee hangs up: the caller gets the BYE.
	desk.command("hangup", "")
	if _, ok := alice.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("the caller's call stayed up after the callee hung up")
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.HangupBy != "callee" || r.Answer.IsZero() || r.Billable < 3 {
		t.Errorf("CDR = %+v, want answered, hung up by the callee, >= 3s billable", r)
	}
}

func TestSIPCallerCancelsAndCalleeBusy(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	carol := startBaresipMode(t, "104", "intl-secret-104", box, mediaPorts(t, 100), 1000, "manual")
	for _, p := range []*baresip{alice, carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	tok := a.token("admin") // sees every call record; a manager token is nobody's manager

	// The caller gives up while it rings.
	alice.command("dial", "sip:104@"+box)
	if _, ok := carol.waitEvent("CALL_INCOMING", 10*time.Second); !ok {
		t.Fatalf("104 never rang\n%s", a.log())
	}
	time.Sleep(500 * time.Millisecond)
	alice.command("hangup", "")
	if _, ok := carol.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("104 kept ringing after the caller hung up (CANCEL not relayed)")
	}
	r := a.waitCDR(tok, 1)[0]
	if r.Cause != "cancelled" || !r.Answer.IsZero() {
		t.Errorf("cancelled call CDR = %+v", r)
	}

	// The callee refuses: the caller hears busy.
	closedBefore := alice.countEvents("CALL_CLOSED")
	alice.command("dial", "sip:104@"+box)
	deadline := time.Now().Add(10 * time.Second)
	for carol.countEvents("CALL_INCOMING") < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	carol.command("hangup", "")
	for alice.countEvents("CALL_CLOSED") <= closedBefore && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if alice.countEvents("CALL_CLOSED") <= closedBefore {
		t.Fatal("the caller's call did not end when the callee refused")
	}
	r = a.waitCDR(tok, 2)[0]
	if r.Cause != "busy" && r.Cause != "rejected" {
		t.Errorf("refused call CDR cause %q, want busy (%+v)", r.Cause, r)
	}
}
