package main

// End-to-end SIP tests: the real `ringbox serve` on loopback, with SIPp and
// baresip as the phones, the carrier and the carrier's registrar.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// e2eSite is a site with four extensions, a dead and a live trunk, and one
// DID. deadPort takes nothing; livePort is where the live carrier listens.
// Trunks are told apart from phones by source address, so the carriers live
// on 127.0.0.2 (live) and 127.0.0.3 (dead) while phones use 127.0.0.1.
func e2eSite(t *testing.T, deadPort, livePort int, liveRegister bool) string {
	t.Helper()
	reg := ""
	if liveRegister {
		reg = ", username: trunkuser, password: trunkpass, register: true"
	}
	y := fmt.Sprintf(`version: 1
system: {name: E2E, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Alice, secret: "alice-secret-101"}
  - {number: "102", name: Bob, secret: "bob-secret-102"}
  - {number: "104", name: Intl, secret: "intl-secret-104", permission: international}
  - {number: "105", name: Local, secret: "local-secret-105", permission: local}
trunks:
  - {id: dead, host: "127.0.0.3:%d", transport: udp}
  - {id: live, host: "127.0.0.2:%d", transport: udp%s}
outbound:
  - {pattern: "+1NXXNXXXXXX", trunks: [dead, live], permission: national}
  - {pattern: "011.", trunks: [live], permission: international}
inbound:
  - {match: "+15551230000", to: extension:101}
`, deadPort, livePort, reg)
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sippBackground runs a SIPp instance (a UAS or registrar) until the test
// ends.
func sippBackground(t *testing.T, args ...string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sipp", append(args, "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "err.log"))...)
	cmd.Dir = filepath.Dir(testdata(t, "uas_answer.xml"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			e, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			t.Logf("background sipp %v:\n%s\n%s", args, out.String(), e)
		}
	})
	time.Sleep(300 * time.Millisecond) // let it bind
}

// cdrRow is a record as GET /api/v1/cdr gives it: snake_case names,
// durations in seconds, like the rest of the API.
type cdrRow struct {
	CallID     string    `json:"call_id"`
	Direction  string    `json:"direction"`
	Caller     string    `json:"caller"`
	CallerName string    `json:"caller_name"`
	Callee     string    `json:"callee"`
	Trunk      string    `json:"trunk"`
	NumberSent string    `json:"number_sent"`
	Agent      string    `json:"agent"`
	AnsweredBy string    `json:"answered_by"`
	Cause      string    `json:"cause"`
	HangupBy   string    `json:"hangup_by"`
	Billable   int       `json:"billable_seconds"`
	Duration   int       `json:"duration_seconds"`
	Answer     time.Time `json:"answer"`
	Recording  string    `json:"recording"`
	Legs       []struct {
		Target     string    `json:"target"`
		Cause      string    `json:"cause"`
		Agent      string    `json:"agent"`
		Trunk      string    `json:"trunk"`
		NumberSent string    `json:"number_sent"`
		Answer     time.Time `json:"answer"`
	} `json:"legs"`
	Path []string `json:"path"`
}

// waitCDR polls the CDR API until n records exist.
func (a *appliance) waitCDR(tok string, n int) []cdrRow {
	a.t.Helper()
	return waitCDRs[cdrRow](a, tok, n)
}

// waitCDRs polls the CDR API until n records exist, read as T (tests
// that look at other fields of the records than cdrRow has).
func waitCDRs[T any](a *appliance, tok string, n int) []T {
	a.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var rows []T
		a.get("/api/v1/cdr", tok, &rows)
		if len(rows) >= n {
			return rows
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("waited for %d CDRs, have %d\n%s", n, len(rows), a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSIPRegisterDigest(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	reg := testdata(t, "uac_register_auth.xml")
	if code, out := sipp(t, 20*time.Second, box, "-sf", reg, "-s", "101", "-au", "101", "-ap", "alice-secret-101", "-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 0 {
		t.Errorf("REGISTER with the right password: sipp exit %d\n%s", code, out)
	}
	if code, _ := sipp(t, 20*time.Second, box, "-sf", reg, "-s", "102", "-au", "102", "-ap", "wrong-password", "-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 1 {
		t.Errorf("REGISTER with a wrong password: sipp exit %d, want 1 (refused)", code)
	}
	// An unknown extension gets the same answer as a wrong password.
	if code, _ := sipp(t, 20*time.Second, box, "-sf", reg, "-s", "999", "-au", "999", "-ap", "whatever", "-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 1 {
		t.Errorf("REGISTER of an unknown user: sipp exit %d, want 1", code)
	}
	// An admin's list: a manager sees only their team's phones.
	tok := a.token("admin")
	var regs []struct{ Extension string }
	a.get("/api/v1/registrations", tok, &regs)
	if len(regs) != 1 || regs[0].Extension != "101" {
		t.Errorf("registrations = %+v, want only 101", regs)
	}
	if strings.Contains(a.log(), "alice-secret-101") {
		t.Error("the SIP secret appears in the log")
	}
}

func TestSIPCallRelaysAudioBothWays(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	bob := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000)
	for _, p := range []*baresip{alice, bob} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register\n%s", p.user, a.log())
		}
	}
	alice.command("dial", "sip:102@"+box)
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("call 101 -> 102 not established\n%s", a.log())
	}
	time.Sleep(4 * time.Second)
	alice.command("hangup", "")
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("bob's call did not close after alice hung up (BYE not relayed)")
	}
	time.Sleep(500 * time.Millisecond) // sndfile closes its files
	alice.heard(t, 1000, 2)
	bob.heard(t, 440, 2)
	rows := a.waitCDR(a.token("admin"), 1)
	r := rows[0]
	if r.Direction != "internal" || r.Caller != "101" || r.Callee != "102" || r.Answer.IsZero() || r.HangupBy != "caller" || r.Cause != "normal" {
		t.Errorf("CDR = %+v", r)
	}
	// The same record as CSV, for spreadsheets.
	req, _ := http.NewRequest("GET", a.base+"/api/v1/cdr?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+a.token("admin"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "call_id,start,answer,end,direction,caller") || !strings.Contains(lines[1], ",internal,101,") {
		t.Errorf("CDR CSV:\n%s", body)
	}
	// Metrics from loopback need no token and count the relayed media.
	resp, err = http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"ringbox_sip_registrations 2", "ringbox_media_streams", "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^ringbox_media_packets_out_total [1-9]`).Match(m) {
		t.Errorf("/metrics does not count the relayed packets:\n%s", m)
	}
}

func TestSIPOutboundFailoverAndPermissions(t *testing.T) {
	t.Parallel()
	dead, live := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: e2eSite(t, dead, live, false), extra: []string{"--trunk-timeout", "2s"}})
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(live), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-d", "0")
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	call := testdata(t, "uac_invite_auth.xml")
	// 104 may call national numbers: the dead trunk times out, the live one answers.
	if code, out := sipp(t, 40*time.Second, box, "-sf", call, "-s", "+12125551234", "-set", "caller", "104", "-au", "104", "-ap", "intl-secret-104",
		"-m", "1", "-d", "1000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("outbound call with failover: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	// 105 is local only: no trunk is ever tried and the call is refused.
	if code, _ := sipp(t, 20*time.Second, box, "-sf", call, "-s", "+12125551234", "-set", "caller", "105", "-au", "105", "-ap", "local-secret-105",
		"-m", "1", "-d", "1000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4))); code == 0 {
		t.Error("a local-only extension reached a national number")
	}
	rows := a.waitCDR(a.token("admin"), 2)
	// Newest first.
	if rows[0].Cause != "forbidden" || len(rows[0].Legs) != 1 {
		t.Errorf("refused call CDR = %+v", rows[0])
	}
	ok := rows[1]
	if ok.Direction != "outbound" || ok.Answer.IsZero() {
		t.Errorf("outbound CDR = %+v", ok)
	}
}

func TestSIPInboundDIDFromCarrier(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), carrier, false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	if !alice.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 101 did not register")
	}
	// The carrier sends from its trunk address and is not challenged.
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "1500", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("inbound DID call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.Direction != "inbound" || r.Trunk != "live" || r.Callee != "+15551230000" || r.Answer.IsZero() {
		t.Errorf("inbound CDR = %+v", r)
	}
	// The same INVITE from an address that is not a trunk must authenticate.
	if code, _ := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "500", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4))); code == 0 {
		t.Error("an unauthenticated INVITE from a non-trunk address was put through")
	}
}

func TestSIPTrunkRegistersWithDigest(t *testing.T) {
	t.Parallel()
	live := freePort(t)
	sippBackground(t, "-sf", testdata(t, "uas_registrar_auth.xml"), "-inf", testdata(t, "trunk_users.csv"), "-infindex", "trunk_users.csv", "0",
		"-i", "127.0.0.2", "-p", fmt.Sprint(live))
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), live, true)})
	tok := a.token("manager")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var trunks []struct{ ID, State, LastError string }
		a.get("/api/v1/trunks", tok, &trunks)
		for _, tr := range trunks {
			if tr.ID == "live" && tr.State == "registered" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("trunk never registered: %+v\n%s", trunks, a.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestSIPMediaTimeoutEndsDeadCall(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false), extra: []string{"--media-timeout", "2s"}})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 102 did not register")
	}
	// SIPp calls bob and then vanishes: it sends no RTP at all.
	sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "102", "-set", "caller", "101", "-au", "101", "-ap", "alice-secret-101",
		"-m", "1", "-d", "8000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("the box did not end the call whose caller sent no RTP")
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.Cause != "media_timeout" {
		t.Errorf("CDR cause %q, want media_timeout (%+v)", r.Cause, r)
	}
}

// TestSiteMediaTimeoutAppliesLive: the installer shortens the media
// timeout in the site file while the box runs (the default is 60 s); the
// next call whose caller sends no RTP is ended after the new timeout.
func TestSiteMediaTimeoutAppliesLive(t *testing.T) {
	t.Parallel()
	sitePath := e2eSite(t, freePort(t), freePort(t), false)
	a := startServe(t, serveOpt{site: sitePath})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	y, err := os.ReadFile(sitePath)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(y), `system: {name: E2E,`, `system: {media_timeout: 10s, name: E2E,`, 1)
	if !importSite(context.Background(), a, a.token("admin"), changed) {
		t.Fatal("the site with media_timeout: 10s was refused")
	}
	bob := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 102 did not register")
	}
	// SIPp calls bob, sends no RTP, and would hang up after 40 s.
	done := make(chan struct{})
	go func() {
		defer close(done)
		sipp(t, 60*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "102", "-set", "caller", "101", "-au", "101", "-ap", "alice-secret-101",
			"-m", "1", "-d", "40000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	}()
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatal("bob never answered")
	}
	answered := time.Now()
	if _, ok := bob.waitEvent("CALL_CLOSED", 30*time.Second); !ok {
		t.Fatal("the silent call was not ended within 30 s, with media_timeout: 10s")
	}
	if d := time.Since(answered); d < 8*time.Second {
		t.Errorf("the silent call ended %v after the answer, before the 10 s timeout", d.Round(time.Second))
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.Cause != "media_timeout" {
		t.Errorf("CDR cause %q, want media_timeout (%+v)", r.Cause, r)
	}
	<-done
}

// `ringbox serve` on its default address forms (--sip :PORT, --http
// :PORT, as `make run` passes them) comes up and answers SIP.
func TestServeOnEveryAddress(t *testing.T) {
	t.Parallel()
	sipPort, httpPort := freePort(t), freePort(t)
	cmd := exec.Command(binPath, "serve", "--data", t.TempDir(), "--site", demoSite(t),
		"--sip", fmt.Sprintf(":%d", sipPort), "--http", fmt.Sprintf(":%d", httpPort))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		<-exited
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("ringbox serve --sip :%d exited: %v\n%s", sipPort, err, out.String())
		default:
		}
		if r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/health", httpPort)); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ringbox serve on :%d did not come up\n%s", httpPort, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// SIP answers on the loopback address too: an OPTIONS gets 200.
	if code, o := sipp(t, 15*time.Second, fmt.Sprintf("127.0.0.1:%d", sipPort), "-sf", testdata(t, "uac_options.xml"),
		"-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 0 {
		t.Errorf("OPTIONS to the box on :%d: sipp exit %d\n%s", sipPort, code, o)
	}
}
