package main

// Toll fraud end to end (issue 15): a baresip phone with the default
// permission class dials the toll-fraud dial strings through a "9." prefix
// route; a listening SIPp carrier logs every INVITE it gets. Nothing but
// the national number may reach it.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func tollFraudSite(t *testing.T, carrier int) string {
	t.Helper()
	y := fmt.Sprintf(`version: 1
system: {name: Toll fraud E2E, timezone: UTC, tone_zone: us, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
outbound:
  - {pattern: "911", trunks: [carrier], emergency: true}
  - {pattern: "9.", strip: 1, trunks: [carrier], permission: national}
`, carrier)
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTollFraudDialStringsLeakNothing(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: tollFraudSite(t, carrier)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	msgs := filepath.Join(t.TempDir(), "carrier-messages.log")
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-d", "0", "-trace_msg", "-message_file", msgs)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	if !alice.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 101 did not register")
	}
	// 101 has the default class, national.
	for i, dial := range []string{
		"9011442071234567",    // 9 + 011: international
		"9*011442071234567",   // '.' never matches *
		"9%23011442071234567", // nor # (escaped in the URI)
		"9*67",
		"919005550100", // 9 + 1-900: premium
		"99765550100",  // 9 + 976: premium
		"9005550100",   // "900..." through 9.: 005550100, no such national number
		"918095550100", // 9 + 1-809: the Dominican Republic, billed as international
	} {
		alice.command("dial", "sip:"+dial+"@"+box)
		deadline := time.Now().Add(10 * time.Second)
		for alice.countEvents("CALL_CLOSED") < i+1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alice.countEvents("CALL_CLOSED") < i+1 {
			// Answered: it left (the code before the fix failed here).
			t.Fatalf("the call to %s did not end; the carrier got INVITEs for %v\n%s", dial, carrierInvites(t, msgs), a.log())
		}
	}
	if got := carrierInvites(t, msgs); len(got) != 0 {
		t.Errorf("the carrier got INVITEs for %v; want none\n%s", got, a.log())
	}
	// A national number does leave, as sent after the strip.
	alice.command("dial", "sip:912125550100@"+box)
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("the national call was not established\n%s", a.log())
	}
	alice.command("hangup", "")
	time.Sleep(500 * time.Millisecond)
	if got := carrierInvites(t, msgs); len(got) != 1 || got[0] != "12125550100" {
		t.Errorf("the carrier got INVITEs for %v; want exactly 12125550100", got)
	}
	// The refusals are counted in /metrics.
	r, err := http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if m := regexp.MustCompile(`ringbox_tollfraud_refused_total (\d+)`).FindStringSubmatch(string(body)); m == nil || m[1] == "0" {
		t.Errorf("/metrics: refused %v, want the refusals counted", m)
	}
}

// carrierInvites are the request-URI users of the INVITEs in a SIPp message log.
func carrierInvites(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^INVITE sip:([^@ ]*)@`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	return out
}

// ringbox check warns about the "9." route (line 9 of the site), names a
// number it would refuse, and still passes.
func TestCheckWarnsAboutAWidePrefixRoute(t *testing.T) {
	t.Parallel()
	out, errOut, code := ringbox(t, "check", tollFraudSite(t, 5060))
	if code != 0 || !strings.Contains(out, ": ok (") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	want := regexp.MustCompile(`warning: \S+site.yaml:9: outbound\[1\]: route "9\." \(permission national\) matches .*9011442071234567, sent as 011442071234567 \(international\)`)
	if !want.MatchString(errOut) {
		t.Errorf("check stderr:\n%s\nwant a warning about 9011… on line 9", errOut)
	}
	if n := strings.Count(errOut, "warning:"); n != 1 {
		t.Errorf("%d warnings, want 1 (911 is exact):\n%s", n, errOut)
	}
}
