package main

// Pickup and park end to end: the real appliance, baresip phones. A
// caller from the carrier waits in a queue whose offer rings Bob's phone
// (which does not answer); Carol picks it up with *8 or **101 from her
// phone. Park: Bob parks Alice with his phone's transfer key to *70
// (REFER), Carol dials 701. Audio is
// checked in what the phones recorded (transfer_e2e_test.go's hears).

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const pickCallerHz = 700

func pickupSite(t *testing.T, carrierPort int) string {
	t.Helper()
	y := fmt.Sprintf(`version: 1
system: {name: Pickup E2E, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-pick-secret-101"}
  - {number: "103", name: Carol, secret: "carol-pick-secret-103"}
agents:
  - {id: bob, name: Bob, extension: "101"}
  - {id: carol, name: Carol, extension: "103"}
queues:
  - id: service
    agents: [bob]
    agent_ring: 30s
    on_empty: hangup
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: queue:service}
`, carrierPort)
	p := filepath.Join(t.TempDir(), "pickup.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pickupQueueOffer: the queue's offer rings Bob; Carol dials code.
func pickupQueueOffer(t *testing.T, code string, rtpBase int) {
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: pickupSite(t, carrier)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresipMode(t, "101", "bob-pick-secret-101", box, rtpBase, bobHz, "manual")
	carol := startBaresip(t, "103", "carol-pick-secret-103", box, rtpBase+200, carolHz)
	for _, p := range []*baresip{bob, carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	if code, body := a.post("/api/v1/agents/bob/login", admin, "{}"); code != 200 {
		t.Fatalf("log bob in: %d %s", code, body)
	}
	caller := startBaresipCarrier(t, "127.0.0.2", rtpBase+400, pickCallerHz)
	caller.command("dial", "sip:+15551230000@"+box)
	if _, ok := bob.waitEvent("CALL_INCOMING", 15*time.Second); !ok {
		t.Fatalf("the queue never offered the call to bob\n%s", a.log())
	}
	time.Sleep(time.Second)
	carol.command("dial", "sip:"+code+"@"+box)
	if _, ok := carol.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("%s: carol's pickup was not answered\n%s", code, a.log())
	}
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Errorf("bob's phone kept ringing after the pickup")
	}
	time.Sleep(4 * time.Second) // the caller and Carol talk
	caller.command("hangup", "")
	if _, ok := caller.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("the caller's call did not close")
	}
	time.Sleep(500 * time.Millisecond)
	hears(t, caller, carolHz, "Carol")
	hears(t, carol, pickCallerHz, "the caller")
	var rec *cdrRow
	deadline := time.Now().Add(15 * time.Second)
	for rec == nil {
		var rows []cdrRow
		a.get("/api/v1/cdr", admin, &rows)
		for i, r := range rows {
			if r.Trunk == "carrier" || len(r.Path) > 0 && r.Path[0] == "queue:service" {
				rec = &rows[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CDR of the queue call: %+v", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rec.Agent != "carol" || rec.AnsweredBy != "agent:carol/ext:103" {
		t.Errorf("queue call CDR agent %q answered by %q, want carol (the picker)", rec.Agent, rec.AnsweredBy)
	}
	if !a.waitLog("pickup: picked", time.Second) {
		t.Error("the box did not log the pickup")
	}
}

func TestPickupGroupQueueOffer(t *testing.T) {
	t.Parallel()
	pickupQueueOffer(t, "*8", mediaPorts(t, 500))
}

func TestPickupDirectedQueueOffer(t *testing.T) {
	t.Parallel()
	pickupQueueOffer(t, "**101", mediaPorts(t, 500))
}

// TestParkAndRetrieve: Bob parks Alice with his phone's transfer key to
// *70 (a REFER: he hears the slot and his call ends); Carol dials 701
// and talks with Alice. (The flow's tests park with ##*70# typed.)
func TestParkAndRetrieve(t *testing.T) {
	t.Parallel()
	tc := startTransferCall(t, mediaPorts(t, 500), "auto")
	tc.bob.command("transfer", "sip:*70@"+tc.box)
	if _, ok := tc.bob.waitEvent("CALL_CLOSED", 15*time.Second); !ok {
		t.Fatalf("Bob's leg stayed up after parking\n%s", tc.a.log())
	}
	if !tc.a.waitLog("parked", 2*time.Second) {
		t.Fatalf("the box did not park the call\n%s", tc.a.log())
	}
	tc.carol.command("dial", "sip:701@"+tc.box)
	if _, ok := tc.carol.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Carol's call to 701 was not answered\n%s", tc.a.log())
	}
	time.Sleep(4 * time.Second) // Alice and Carol talk
	r := tc.hangupAll(t)
	hears(t, tc.alice, carolHz, "Carol")
	hears(t, tc.carol, aliceHz, "Alice")
	if x := r.Transfers[0]; x.Kind != "blind" || x.By != "102" || x.To != "park:701" || x.Result != "parked" {
		t.Errorf("CDR transfer = %+v, want parked on 701 by 102", x)
	}
}
