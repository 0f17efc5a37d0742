package main

// Routing by the caller end to end: a SIPp carrier's callers on a blocked
// list are refused busy (486) or declined (603) before any DID route, and
// a VIP skips the IVR straight to an extension.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestCallerRoutingFromCarrier(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	y := fmt.Sprintf(`version: 1
system: {name: Callers E2E, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-callers-secret-101"}
ivrs:
  - {id: main, greeting: main-menu, options: {"1": extension:101}, timeout: 10s}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
caller_lists:
  - {id: blocked, numbers: ["+12125550666"]}
  - {id: rude, numbers: ["+1900."]}
  - {id: vip, numbers: ["+12125550777"]}
inbound:
  - {match: "+15551230000", to: ivr:main}
  - {match: "+15551230000", caller: list:vip, to: extension:101}
  - {caller: list:blocked, to: busy}
  - {caller: list:rude, to: reject}
`, carrier)
	site := filepath.Join(t.TempDir(), "callers.yaml")
	if err := os.WriteFile(site, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: site})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	tok := a.token("admin")

	refused := func(caller, status string, n int, cause string) {
		t.Helper()
		code, out := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_carrier_refused.xml"), "-s", "+15551230000", "-set", "caller", caller,
			"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
		if code != 0 {
			t.Fatalf("%s: sipp exit %d\n%s\n%s", caller, code, out, a.log())
		}
		// SIPp's counts: the expected final response arrived once.
		if !regexp.MustCompile(status + ` <-+\s+1\b`).MatchString(out) {
			t.Errorf("%s: no %s in SIPp's counts:\n%s", caller, status, out)
		}
		r := a.waitCDR(tok, n)[0]
		if r.Caller != caller || r.Cause != cause || !r.Answer.IsZero() {
			t.Errorf("%s: CDR %+v, want cause %s, unanswered", caller, r, cause)
		}
	}
	refused("+12125550666", "486", 1, "busy")
	refused("+19005550100", "603", 2, "rejected")

	// The VIP skips the IVR: Bob's phone rings at once.
	bob := startBaresip(t, "101", "bob-callers-secret-101", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550777",
		"-m", "1", "-d", "1500", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("VIP call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	rows := a.waitCDR(tok, 3)
	if r := rows[0]; !slices.Equal(r.Path, []string{"extension:101"}) || r.Answer.IsZero() {
		t.Errorf("VIP CDR path %v answered %v, want extension:101 without the IVR", r.Path, r.Answer)
	}
}
