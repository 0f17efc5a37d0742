package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// trunkIDSite: the carrier at 127.0.0.2:carrier, a second carrier at
// 127.0.0.3:other, and extension 101, a phone of the branch office that
// shares the carrier's address (one NAT). The DID goes to an IVR, which
// answers.
func trunkIDSite(t *testing.T, carrier, other int) string {
	return writeSite(t, fmt.Sprintf(`version: 1
system: {name: Trunk ID E2E, timezone: UTC}
extensions:
  - {number: "101", name: Branch, secret: "branch-secret-101"}
ivrs:
  - id: main
    greeting: main-menu
    options: {"1": extension:101}
    timeout: 10s
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
  - {id: other, host: "127.0.0.3:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: ivr:main}
`, carrier, other))
}

// readMetric reads one value from /metrics (the full name with its
// labels); -1 when it cannot.
func readMetric(a *appliance, name string) float64 {
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		return -1
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

// TestPhoneAtTrunkAddressIsAnExtension: a phone registered from the
// carrier's address (its own port) is challenged and routed as extension
// 101 (the echo test, *43, answers it); the carrier's own call to the DID
// still arrives unchallenged.
func TestPhoneAtTrunkAddressIsAnExtension(t *testing.T) {
	t.Parallel()
	carrier, phonePort := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: trunkIDSite(t, carrier, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	if code, out := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_register_auth.xml"), "-s", "101", "-au", "101",
		"-ap", "branch-secret-101", "-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(phonePort)); code != 0 {
		t.Fatalf("the branch phone's REGISTER: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	// uac_invite_auth expects the 407 challenge first.
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "*43", "-set", "caller", "101",
		"-au", "101", "-ap", "branch-secret-101", "-m", "1", "-d", "1000", "-i", "127.0.0.2", "-p", fmt.Sprint(phonePort),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("the branch phone's call to *43: sipp exit %d (a phone at the trunk's address must be challenged and routed as one)\n%s\n%s", code, out, a.log())
	}
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "1000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("the carrier's call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	recs := a.waitCDR(a.token("admin"), 2)
	var phone, trunk *cdrRow
	for i := range recs {
		switch recs[i].Callee {
		case "*43":
			phone = &recs[i]
		case "+15551230000":
			trunk = &recs[i]
		}
	}
	if phone == nil || phone.Caller != "101" || phone.Trunk != "" || phone.Direction == "inbound" {
		t.Errorf("the phone's call: %+v, want extension 101's, not a trunk call", phone)
	}
	if trunk == nil || trunk.Trunk != "carrier" || trunk.Direction != "inbound" {
		t.Errorf("the carrier's call: %+v, want inbound from trunk carrier", trunk)
	}
}

// TestInviteFloodHitsSetupCapAndNoAckFreesPorts: 40 INVITEs at once from
// the carrier's address, answered and never acknowledged. 30 (the default
// trunks[].max_inbound_setup) are taken, the rest get 503, counted in
// /metrics and logged with the cap; a call from the other carrier still
// goes through. After 64*T1 (32 s) the box ends the 30 with a BYE: their
// media ports come back, the CDRs say no_ack, /metrics counts them.
func TestInviteFloodHitsSetupCapAndNoAckFreesPorts(t *testing.T) {
	t.Parallel()
	carrier, other := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: trunkIDSite(t, carrier, other)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	flood := startSipp(t, 70*time.Second, box, "-sf", testdata(t, "uac_noack.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "40", "-r", "40", "-l", "40", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	const refused = `ringbox_sip_inbound_refused_total{cap="trunk_setup"}`
	a.waitFor("10 INVITEs refused for the set-up cap", func() bool { return readMetric(a, refused) == 10 })
	answered := time.Now()
	if n := activeStreams(a); n != 30 {
		t.Errorf("%d media streams during the flood, want 30 (the set-up cap)", n)
	}
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550111",
		"-m", "1", "-d", "500", "-i", "127.0.0.3", "-p", fmt.Sprint(other), "-mi", "127.0.0.3", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("the other carrier's call during the flood: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if !strings.Contains(a.log(), "calls in set-up, the most allowed (trunk_setup)") {
		t.Errorf("no refusal logged with its reason\n%s", a.log())
	}
	// No ACK: the 30 are ended with a BYE (which SIPp answers) at 32 s.
	if code, out := flood.wait(t); code != 0 {
		t.Fatalf("flood sipp exit %d: the box did not end the unacknowledged calls with a BYE\n%s\n%s", code, out, a.log())
	}
	if d := time.Since(answered); d > 40*time.Second {
		t.Errorf("the BYEs came %v after the answers, want about 32 s", d)
	}
	a.waitFor("the media ports to come back", func() bool { return activeStreams(a) == 0 })
	if n := readMetric(a, "ringbox_sip_ack_timeouts_total"); n != 30 {
		t.Errorf("ringbox_sip_ack_timeouts_total %v, want 30", n)
	}
	noAck := 0
	for _, r := range a.waitCDR(a.token("admin"), 31) {
		if r.Cause == "no_ack" && r.Trunk == "carrier" && r.Billable == 0 {
			noAck++
		}
	}
	if noAck != 30 {
		t.Errorf("%d CDRs say no_ack from carrier (not billable), want 30", noAck)
	}
}

// TestCheckRefusesBadTrunkIdentification: `ringbox check` names each bad
// identification field of a trunk, with its line.
func TestCheckRefusesBadTrunkIdentification(t *testing.T) {
	t.Parallel()
	site := writeSite(t, `version: 1
system: {name: Check, timezone: UTC, max_calls_per_source: -1}
extensions:
  - {number: "101", name: A, secret: "a-secret-101"}
trunks:
  - id: carrier
    host: 192.0.2.10:5060
    ports: [5060, 70000]
    allow: [203.0.113.0/33]
    match_header: {name: "X Carrier", value: acme}
    inbound_auth: {username: "101", password: short}
`)
	out, errOut, code := ringbox(t, "check", site)
	if code == 0 {
		t.Fatalf("check accepted the site:\n%s%s", out, errOut)
	}
	all := out + errOut
	for _, want := range []string{
		"bad port 70000",
		`bad network "203.0.113.0/33"`,
		`header name "X Carrier" has ' '`,
		`username "101" is an extension's number`,
		"password is shorter than 8 characters",
		"max_calls_per_source must be 0",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("check output does not say %q:\n%s", want, all)
		}
	}
}

// TestTrunkInboundAuthChallenges: a trunk with inbound_auth is challenged;
// its credentials make the call the trunk's (the DID's IVR answers), a
// wrong password is refused.
func TestTrunkInboundAuthChallenges(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	site := writeSite(t, fmt.Sprintf(`version: 1
system: {name: Trunk auth E2E, timezone: UTC}
ivrs:
  - {id: main, greeting: main-menu, options: {"1": hangup}, timeout: 10s}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp, inbound_auth: {username: acme-in, password: "acme-inbound-secret"}}
inbound:
  - {match: "+15551230000", to: ivr:main}
`, carrier))
	a := startServe(t, serveOpt{site: site})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	// uac_invite_auth expects the 407 challenge first.
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-au", "acme-in", "-ap", "acme-inbound-secret", "-m", "1", "-d", "500", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("the trunk's call with its credentials: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if code, _ := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-au", "acme-in", "-ap", "wrong-password", "-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 1 {
		t.Errorf("a wrong trunk password: sipp exit %d, want 1 (refused)\n%s", code, a.log())
	}
	r := a.waitCDR(a.token("admin"), 1)
	if len(r) != 1 || r[0].Trunk != "carrier" || r[0].Direction != "inbound" || r[0].Callee != "+15551230000" {
		t.Errorf("CDRs %+v, want one inbound call from trunk carrier to the DID", r)
	}
}
