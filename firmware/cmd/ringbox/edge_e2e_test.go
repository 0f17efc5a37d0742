package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/store"
)

// edgeSite has two extensions and no trunk: every address is a stranger.
const edgeSite = `version: 1
system: {name: Edge, timezone: UTC}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
  - {number: "102", name: Bob, secret: "bob-secret-102"}
`

// sipvicious runs one of sipvicious's tools (Debian's svwar, svcrack, at
// bin) with a time limit and returns what it printed. agent, when set, replaces the tools' User-Agent
// (friendly-scanner), as an attacker who knows scanners are dropped would.
func sipvicious(ctx context.Context, dir, agent, bin string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// The tools wait 10 s on a silent socket before they give up; they
	// are made to wait 2 s, which is plenty on loopback. With agent, the
	// User-Agent their svhelper.makeRequest writes (friendly-scanner)
	// is replaced.
	script := `import sys, runpy, socket
_settimeout = socket.socket.settimeout
socket.socket.settimeout = lambda self, t: _settimeout(self, None if t is None else min(t, 2))
sys.path.insert(0, "/usr/share/sipvicious")
from sipvicious.libs import svhelper
agent = sys.argv.pop(1)
if agent:
    d = list(svhelper.makeRequest.__defaults__)
    d[d.index("friendly-scanner")] = agent
    svhelper.makeRequest.__defaults__ = tuple(d)
sys.argv[0] = sys.argv.pop(1)
runpy.run_path(sys.argv[0], run_name="__main__")
`
	cmd := exec.CommandContext(ctx, "python3", append([]string{"-c", script, agent, bin}, args...)...)
	cmd.Dir = dir // the tools keep session files in ~/.sipvicious
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run() // a non-zero exit is normal: the tools give up on silence
	return out.String()
}

// metric reads one value of the box's /metrics; the test fails when it
// is not there.
func metric(t *testing.T, a *appliance, name string) int {
	t.Helper()
	v := readMetric(a, name)
	if v < 0 {
		t.Fatalf("/metrics lacks %s", name)
	}
	return int(v)
}

// TestSipviciousFindsNothingAndIsBanned: on its defaults the box gives
// sipvicious's svwar no extension and svcrack no answer (their agent is a
// scanner's); svcrack disguised as a phone is banned within 5 guesses and
// its further guesses get no answer; a registered phone on another
// address keeps registering and calling throughout.
func TestSipviciousFindsNothingAndIsBanned(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(edgeSite), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: p})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	port := strconv.Itoa(a.sipPort)

	// The phone: extension 101 at 127.0.0.2 registers and calls the echo
	// test (*43), answered and hung up after a second.
	phone := func(what string) {
		t.Helper()
		if code, out := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_register_auth.xml"), "-s", "101", "-au", "101", "-ap", "alice-secret-101",
			"-m", "1", "-i", "127.0.0.2", "-p", strconv.Itoa(freePort(t))); code != 0 {
			t.Errorf("%s: the phone's REGISTER: sipp exit %d\n%s", what, code, out)
		}
		if code, out := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "*43", "-set", "caller", "101",
			"-au", "101", "-ap", "alice-secret-101", "-d", "1000", "-m", "1", "-i", "127.0.0.2", "-p", strconv.Itoa(freePort(t)),
			"-mi", "127.0.0.2", "-mp", strconv.Itoa(mediaPorts(t, 4))); code != 0 {
			t.Errorf("%s: the phone's call: sipp exit %d\n%s", what, code, out)
		}
	}
	phone("before the attack")

	// svwar and svcrack as shipped, together: their requests carry
	// friendly-scanner and get no answer at all. (Debian's svcrack 0.3.3
	// ignores -b, so every attacker here is 127.0.0.1.)
	type result struct{ name, out string }
	results := make(chan result, 3)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	attack := func(name, agent, tool string, args ...string) {
		bin, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is required (make test installs sipvicious): %v", tool, err)
		}
		dir := t.TempDir()
		wg.Go(func() { results <- result{name, sipvicious(ctx, dir, agent, bin, args...)} })
	}
	attack("svwar", "", "svwar", "-x", "127.0.0.1", "-e100-110", "-m", "REGISTER", "-p", port, "127.0.0.1")
	attack("svcrack", "", "svcrack", "-x", "127.0.0.1", "--maximumtime", "2", "-u101", "-r1-20", "-p", port, "127.0.0.1")
	outs := map[string]string{}
	for range 2 {
		r := <-results
		outs[r.name] = r.out
	}
	if n := metric(t, a, `ringbox_sip_drops_total{reason="scanner"}`); n == 0 {
		t.Errorf("no scanner drops counted\n%s\n%s", outs["svwar"], outs["svcrack"])
	}
	if n := metric(t, a, "ringbox_sip_auth_failures_total"); n != 0 {
		t.Errorf("the scanners' guesses were checked: %d failures", n)
	}

	// svcrack disguised as a phone guesses 101's password while the
	// phone goes on working.
	attack("disguised svcrack", "Yealink SIP-T46S", "svcrack", "-x", "127.0.0.1", "--maximumtime", "2", "-u101", "-r1000-1200", "-p", port, "127.0.0.1")
	for deadline := time.Now().Add(60 * time.Second); metric(t, a, "ringbox_sip_bans_active") == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the guesser was never banned\n%s", a.log())
		}
	}
	phone("during the attack")
	r := <-results
	outs[r.name] = r.out
	if regexp.MustCompile(`\|\s*10[0-9]\s*\|`).MatchString(outs["svwar"]) || !strings.Contains(outs["svwar"], "found nothing") {
		t.Errorf("svwar found extensions:\n%s", outs["svwar"])
	}
	for name, out := range outs {
		if strings.Contains(out, "alice-secret-101") || strings.Contains(out, "cracked") {
			t.Errorf("%s found the password:\n%s", name, out)
		}
	}
	if !strings.Contains(outs["svcrack"], "no server response") {
		t.Errorf("svcrack as shipped got an answer:\n%s", outs["svcrack"])
	}
	if n := metric(t, a, "ringbox_sip_auth_failures_total"); n > 5 {
		t.Errorf("%d guesses were checked, want at most 5\n%s", n, outs["disguised svcrack"])
	}
	if n := metric(t, a, `ringbox_sip_drops_total{reason="banned"}`); n == 0 {
		t.Errorf("the disguised svcrack's further guesses were not dropped as banned\n%s", outs["disguised svcrack"])
	}
	var bans []struct{ Key, Reason string }
	a.get("/api/v1/bans", a.token("admin"), &bans)
	keys := []string{}
	for _, b := range bans {
		keys = append(keys, b.Key)
	}
	if k := strings.Join(keys, " "); k != "127.0.0.1 ext:101" && k != "ext:101 127.0.0.1" {
		t.Errorf("bans %v, want the guesser's address and the extension guessed, nothing else", keys)
	}
	phone("after the attack")

	// The admin lifts the address's ban; the ban and the lift are in the
	// audit log, and the extension's ban is kept across a restart.
	if code, body := a.send("DELETE", "/api/v1/bans/127.0.0.1", a.token("admin"), "", nil); code != http.StatusOK {
		t.Fatalf("lift: %d %s", code, body)
	}
	if err := a.stop(); err != nil {
		t.Fatalf("serve exited with %v", err)
	}
	st, err := store.Open(context.Background(), a.data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.ListAudit(context.Background(), time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var audit []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "sip.") {
			audit = append(audit, e.Actor+" "+e.Action+" "+e.Object)
		}
	}
	for _, want := range []string{"system sip.ban 127.0.0.1", "system sip.ban ext:101", "sip.ban_lift 127.0.0.1"} {
		if !slices.ContainsFunc(audit, func(s string) bool { return strings.HasSuffix(s, want) || strings.HasPrefix(s, want) }) {
			t.Errorf("audit log %q lacks %q", audit, want)
		}
	}
	kept, err := st.LoadBans(context.Background())
	if err != nil || len(kept) != 1 || kept[0].Key != "ext:101" {
		t.Errorf("stored bans %+v (%v), want ext:101 alone", kept, err)
	}
}

// banPolicySite is edgeSite with the installer's ban rules: three
// failures ban, and the given networks are trusted.
func banPolicySite(trusted string) string {
	return strings.Replace(edgeSite, "system: {name: Edge, timezone: UTC}",
		"system: {name: Edge, timezone: UTC, sip_ban_failures: 3, sip_trusted: ["+trusted+"]}", 1)
}

// TestSiteBanPolicy: the ban rules in the site file apply. A guesser is
// banned on its third wrong password (sip_ban_failures: 3); a phone on
// the trusted office network with a stale password is never banned and
// registers once it has the right one; and trusting the guesser's
// address in a site change lifts its ban at once.
func TestSiteBanPolicy(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(banPolicySite("127.0.0.2")), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: p})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)

	office := newDigestUAAt(t, box, "127.0.0.2")
	for i := range 10 {
		if _, code, _ := office.register("101", "stale-password", "MD5"); code == 200 || code == 0 {
			t.Fatalf("the office phone's wrong password %d: %d", i+1, code)
		}
	}
	if _, code, _ := office.register("101", "alice-secret-101", "MD5"); code != 200 {
		t.Fatalf("the office phone with the right password after 10 failures: %d, want 200 (trusted)", code)
	}

	guesser := newDigestUAAt(t, box, "127.0.0.3")
	for i := range 3 {
		if _, code, _ := guesser.register("102", fmt.Sprintf("guess-%d", i), "MD5"); code == 200 || code == 0 {
			t.Fatalf("guess %d: %d", i+1, code)
		}
	}
	if code, _ := guesser.try("102", "", 2*time.Second); code != 0 {
		t.Errorf("the guesser's REGISTER after 3 failures answered %d; want silence (banned)", code)
	}
	tok := a.token("admin")
	var bans []struct {
		Key   string
		Count int
	}
	a.get("/api/v1/bans", tok, &bans)
	var keys []string
	for _, b := range bans {
		keys = append(keys, fmt.Sprintf("%s/%d", b.Key, b.Count))
	}
	slices.Sort(keys)
	if strings.Join(keys, " ") != "127.0.0.3/3 ext:102/3" {
		t.Errorf("bans %v, want the guesser's address and extension 102 after 3 failures each, not the office", keys)
	}
	if n := metric(t, a, "ringbox_sip_auth_failures_total"); n != 13 {
		t.Errorf("auth failures = %d, want 13 (the office's 10 are counted, never banned)", n)
	}

	// The installer trusts the guesser's address after all: its ban is
	// lifted with the change, no restart.
	if !importSite(context.Background(), a, tok, banPolicySite("127.0.0.2, 127.0.0.3/32")) {
		t.Fatal("the site change was refused")
	}
	code := 0
	for deadline := time.Now().Add(10 * time.Second); code == 0 && time.Now().Before(deadline); {
		code, _ = guesser.try("102", "", time.Second)
	}
	if code != 401 {
		t.Errorf("the newly trusted address: %d, want a challenge", code)
	}
}
