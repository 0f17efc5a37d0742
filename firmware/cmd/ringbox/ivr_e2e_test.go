package main

// The virtual receptionist end to end: a carrier's caller hears the menu,
// presses 1 (RFC 2833) and is put through to an extension's phone.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIVRPressOneReachesExtension(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	y := fmt.Sprintf(`version: 1
system: {name: IVR E2E, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-ivr-secret-101"}
ivrs:
  - id: main
    greeting: main-menu
    options: {"1": extension:101}
    timeout: 10s
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: ivr:main}
`, carrier)
	site := filepath.Join(t.TempDir(), "ivr.yaml")
	os.WriteFile(site, []byte(y), 0o600)
	a := startServe(t, serveOpt{site: site})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "101", "bob-ivr-secret-101", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	code, out := sipp(t, 40*time.Second, box, "-sf", testdata(t, "uac_carrier_dtmf.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "3000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if code != 0 {
		t.Fatalf("carrier call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 5*time.Second); !ok {
		t.Fatalf("pressing 1 did not put the caller through to 101\n%s", a.log())
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if !slices.Equal(r.Path, []string{"ivr:main", "extension:101"}) {
		t.Errorf("call path %v, want ivr:main then extension:101", r.Path)
	}
}
