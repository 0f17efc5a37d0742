package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"
)

// TestConsoleDayOneInChromium is an installer's first day done only in the
// browser (web/e2e/console.mjs drives Chromium through playwright-core)
// against the real `ringbox serve` on its defaults: first boot, two
// extensions, an agent, a ring group with two stages, a queue, business
// hours with a holiday, an IVR with an uploaded MP3 greeting, a trunk and
// the DID routed to the IVR, reviewed and applied. A SIPp carrier call then
// follows the new routing without a restart; a second change sends the DID
// to voicemail; restoring the day-one version from the history brings the
// IVR back for the next call. Then: a form with three mistakes, a manager's
// and an agent's browsers refused (403), two installers applying at once,
// screenshots of every page at 1280 and 375 px (kept with -artifacts), and
// a backup downloaded and restored through the page.
func TestConsoleDayOneInChromium(t *testing.T) {
	t.Parallel()
	node, dir := browserScripts(t)
	mp3 := filepath.Join(t.TempDir(), "greeting.mp3")
	spokenMP3(t, "Welcome to Acme. For sales press 1. For the front desk press 2.", mp3)

	a := startServe(t, serveOpt{}) // first boot: no site, no admin
	carrier := freePort(t)
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	const did = "+15551230000"
	shots := t.ArtifactDir()
	profile := filepath.Join(t.TempDir(), "profile")

	phase := func(name string, env ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "console.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append([]string{"BASE_URL=" + a.base, "PHASE=" + name, "PROFILE=" + profile, "SHOTS=" + shots,
			"GREETING_MP3=" + mp3, fmt.Sprintf("CARRIER=127.0.0.2:%d", carrier), "DID=" + did}, env...)...)
		out, err := cmd.CombinedOutput()
		t.Logf("console.mjs %s:\n%s", name, out)
		if err != nil {
			t.Fatalf("browser phase %s failed: %v\n%s", name, err, a.log())
		}
		return string(out)
	}
	appliedVersion := func(out string) string {
		m := regexp.MustCompile(`applied-version: (\d+)`).FindAllStringSubmatch(out, -1)
		if m == nil {
			t.Fatalf("no applied version in:\n%s", out)
		}
		return m[len(m)-1][1]
	}
	admin := ""
	calls := 0
	// call places a carrier call to the DID and returns where the box sent
	// it (the call record's path).
	call := func(port int) []string {
		t.Helper()
		if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", did, "-set", "caller", "+12125550100",
			"-m", "1", "-d", "1500", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(port)); code != 0 {
			t.Fatalf("carrier call: sipp exit %d\n%s\n%s", code, out, a.log())
		}
		calls++
		if admin == "" {
			admin = a.token("admin")
		}
		return a.waitCDR(admin, calls)[0].Path
	}

	v1 := appliedVersion(phase("dayone"))
	if p := call(mediaPorts(t, 4)); !slices.Contains(p, "ivr:main") {
		t.Fatalf("after day one, the DID went %v, want through ivr:main", p)
	}
	phase("change")
	if p := call(mediaPorts(t, 4)); !slices.Contains(p, "voicemail:201") || slices.Contains(p, "ivr:main") {
		t.Fatalf("after the change, the DID went %v, want voicemail:201", p)
	}
	phase("restore", "VERSION="+v1)
	if p := call(mediaPorts(t, 4)); !slices.Contains(p, "ivr:main") {
		t.Fatalf("after restoring version %s, the DID went %v, want ivr:main again", v1, p)
	}
	phase("checks")
	phase("backup")
	if !a.waitLog("restore", 5*time.Second) {
		t.Error("the serve log does not mention the restore")
	}
	t.Logf("screenshots: %s", shots)
}
