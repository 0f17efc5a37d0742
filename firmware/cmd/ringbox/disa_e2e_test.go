package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// disaSite: calls to +15551230009 reach disa; Bob's agent mobile is
// +12125550101; outside numbers leave through trunk out (127.0.0.3),
// dialled 9 + ten digits from a phone or a mobile's keypad.
func disaSite(carrier, out int) string {
	return fmt.Sprintf(`version: 1
system: {name: DISA, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Bob, secret: "bob-disa-secret-101"}
  - {number: "102", name: Sue, secret: "sue-disa-secret-102", mobile: "+12125550102", disa_pin: "8642"}
agents:
  - {id: bob, name: Bob, extension: "101", mobile: "+12125550101"}
queues:
  - {id: service, number: "600", agents: [bob], agent_ring: 15s, on_empty: hangup}
  - {id: sales, number: "601", agents: [bob], agent_ring: 15s, on_empty: hangup}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
  - {id: out, host: "127.0.0.3:%d", transport: udp}
outbound:
  - {pattern: "+1NXXNXXXXXX", trunks: [out], permission: national}
  - {pattern: "9NXXNXXXXXX", strip: 1, prepend: "+1", trunks: [out], permission: national}
inbound:
  - {match: "+15551230009", to: disa}
users:
  - {login: bob, role: agent, agent: bob, password: Bob-Agent-Pass-2026}
`, carrier, out)
}

// disaScenario writes a SIPp carrier call that keys digits by SIP INFO
// (application/dtmf-relay) once answered, holds -d ms, then hangs up.
func disaScenario(t *testing.T, digits string) string {
	t.Helper()
	b, err := os.ReadFile(testdata(t, "uac_carrier.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// After the ACK: a second of dial tone, then one INFO per key.
	var infos strings.Builder
	infos.WriteString("  <pause milliseconds=\"1000\"/>\n")
	for i, d := range digits {
		sig := string(d)
		if d == '#' {
			sig = "11"
		}
		fmt.Fprintf(&infos, `  <send retrans="500">
    <![CDATA[

      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=%s
      Duration=160

    ]]>
  </send>
  <recv response="200"/>
  <pause milliseconds="150"/>
`, 2+i, sig)
	}
	const hold = "  <!-- call hold time = -d <ms> -->\n  <pause/>\n"
	if !strings.Contains(s, hold) || !strings.Contains(s, "CSeq: 2 BYE") {
		t.Fatal("uac_carrier.xml changed: update disaScenario")
	}
	s = strings.Replace(s, hold, infos.String()+hold, 1)
	s = strings.Replace(s, "CSeq: 2 BYE", fmt.Sprintf("CSeq: %d BYE", 2+len(digits)), 1)
	p := filepath.Join(t.TempDir(), "uac_disa.xml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDISAKnownMobileCallsOutAsTheOffice: Bob's mobile calls the disa
// number from a carrier, hears dial tone, keys 9 2125550199 #: the call
// leaves through the other carrier showing the office number (From and
// P-Asserted-Identity), and the CDR names Bob's extension.
func TestDISAKnownMobileCallsOutAsTheOffice(t *testing.T) {
	t.Parallel()
	carrier, out := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, disaSite(carrier, out))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	msgs := invites(t, out, 37000)
	if code, sout := sipp(t, 40*time.Second, box, "-sf", disaScenario(t, "92125550199#"), "-s", "+15551230009", "-set", "caller", "+12125550101",
		"-m", "1", "-d", "3000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("disa call: sipp exit %d\n%s\n%s", code, sout, a.log())
	}
	inv := lastInvite(t, msgs)
	if !strings.HasPrefix(inv, "INVITE sip:+12125550199@") {
		t.Errorf("the far carrier got %q, want +12125550199", strings.SplitN(inv, "\n", 2)[0])
	}
	if from := header(inv, "From"); !strings.Contains(from, "sip:+15551230000@") {
		t.Errorf("From: %s, want the office number", from)
	}
	if p := header(inv, "P-Asserted-Identity"); !strings.Contains(p, "+15551230000") {
		t.Errorf("P-Asserted-Identity: %q, want the office number", p)
	}
	if d := header(inv, "Diversion"); d != "" {
		t.Errorf("Diversion: %q, want none (the call is the office's own)", d)
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if !slices.Contains(r.Path, "disa:101") || r.Answer.IsZero() {
		t.Errorf("CDR %+v, want answered, through disa as extension 101", r)
	}
}

// TestDISAWrongPINHangsUp: a stranger keys Sue's extension with wrong
// PINs three times: the box hangs up (SIPp gets the BYE) and dials nobody.
func TestDISAWrongPINHangsUp(t *testing.T) {
	t.Parallel()
	carrier, out := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, disaSite(carrier, out))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	msgs := invites(t, out, 37400)
	// The box hangs up on the third wrong PIN: SIPp, waiting to send its
	// own BYE, sees the box's and fails the scenario; what counts is what
	// the box did.
	sipp(t, 40*time.Second, box, "-sf", disaScenario(t, "102#1111#102#2222#102#3333#92125550199#"), "-s", "+15551230009",
		"-set", "caller", "+13125550999", "-m", "1", "-d", "15000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	a.waitFor("the refusal in the log", func() bool {
		return strings.Contains(a.log(), "disa: wrong extension or pin") && strings.Contains(a.log(), "try=3")
	})
	if b, _ := os.ReadFile(msgs); strings.Contains(string(b), "INVITE sip:") {
		t.Errorf("a call left after three wrong PINs:\n%s", b)
	}
	if strings.Contains(a.log(), "3333") || strings.Contains(a.log(), "2222") {
		t.Error("the log shows a PIN that was tried")
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.Cause != "forbidden" {
		t.Errorf("CDR cause %q, want forbidden", r.Cause)
	}
}

// agentCookie logs in as an agent user and returns the session cookie.
func (a *appliance) agentCookie(login, password string) string {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.base+"/api/v1/session", strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "rbx_session" {
			return c.Name + "=" + c.Value
		}
	}
	a.t.Fatalf("login %s: %d, no session cookie", login, resp.StatusCode)
	return ""
}

// postAs posts body with a session cookie, as the agent page does.
func (a *appliance) postAs(cookie, path, body string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.base+path, strings.NewReader(body))
	req.Header.Set("Cookie", cookie)
	req.Header.Set("X-Requested-With", "ringbox")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestCallMeBack: Bob asks his page to call him back: the box rings his
// mobile through the outside carrier, then (answered) the number, both
// showing the office number; a number his permission refuses is a 403 and
// another agent's call back a 403 too.
func TestCallMeBack(t *testing.T) {
	t.Parallel()
	carrier, out := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, disaSite(carrier, out))})
	msgs := invites(t, out, 37800)
	bob := a.agentCookie("bob", "Bob-Agent-Pass-2026")
	if code, body := a.postAs(bob, "/api/v1/agents/bob/callback", `{"number":"0114420794600"}`); code != http.StatusUnprocessableEntity && code != http.StatusForbidden {
		t.Errorf("call back to a number without a route: %d %s", code, body)
	}
	if code, body := a.postAs(bob, "/api/v1/agents/sue/callback", `{"number":"+12125550199"}`); code != http.StatusForbidden {
		t.Errorf("call back for another agent: %d %s, want 403", code, body)
	}
	code, body := a.postAs(bob, "/api/v1/agents/bob/callback", `{"number":"+12125550199"}`)
	if code != http.StatusAccepted {
		t.Fatalf("call back: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	var log string
	for {
		b, _ := os.ReadFile(msgs)
		log = string(b)
		if strings.Count(log, "INVITE sip:") >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	first, second := strings.Index(log, "INVITE sip:+12125550101@"), strings.Index(log, "INVITE sip:+12125550199@")
	if first < 0 || second < 0 || second < first {
		t.Fatalf("the far end saw (mobile at %d, number at %d), want the mobile first, then the number:\n%s", first, second, log)
	}
	for _, inv := range []string{log[first:], log[second:]} {
		if j := strings.Index(inv, "\n\n"); j > 0 {
			inv = inv[:j]
		}
		if from := header(inv, "From"); !strings.Contains(from, "sip:+15551230000@") {
			t.Errorf("%s: From %s, want the office number", strings.SplitN(inv, "\n", 2)[0], from)
		}
	}
	// The two are connected: end the call from the dashboard's API and
	// find it in the CDR as Bob's outside call.
	var started struct{ Call string }
	if err := json.Unmarshal([]byte(body), &started); err != nil || started.Call == "" {
		t.Fatalf("call back answer %s: %v", body, err)
	}
	admin := a.token("admin")
	a.waitFor("the call back to be connected", func() bool {
		code, _ := a.post("/api/v1/calls/"+started.Call+"/hangup", admin, "")
		return code/100 == 2
	})
	r := a.waitCDR(admin, 1)[0]
	if r.CallID != started.Call || r.Answer.IsZero() || r.Callee != "+12125550199" || r.Trunk != "out" {
		t.Errorf("CDR %+v, want the answered call back to +12125550199 through trunk out", r)
	}
}

// TestFeatureLoginOneQueueByPhone: Bob's phone dials *45601: he is logged
// in to sales alone (the agent API says so); *45600 adds service;
// *45601 takes him out of sales alone.
func TestFeatureLoginOneQueueByPhone(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: writeSite(t, disaSite(freePort(t), freePort(t)))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	phone := startBaresip(t, "101", "bob-disa-secret-101", box, mediaPorts(t, 100), 1000)
	if !phone.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	type agentState struct {
		Status    string
		QueuesOut []string `json:"queues_out"`
	}
	check := func(code, status string, out []string) {
		t.Helper()
		phone.command("dial", "sip:"+code+"@"+box)
		var ag agentState
		a.waitFor(code, func() bool {
			ag = agentState{}
			a.get("/api/v1/agents/bob", admin, &ag)
			return ag.Status == status && slices.Equal(ag.QueuesOut, out)
		})
		phone.waitEvent("CALL_CLOSED", 10*time.Second)
	}
	check("*45601", "available", []string{"service"})
	check("*45600", "available", nil)
	check("*45601", "available", []string{"sales"})
	// The API by queue number does the same.
	if code, body := a.post("/api/v1/agents/bob/queues/601/login", admin, ""); code != 200 || strings.Contains(body, `"queues_out":["sales"]`) {
		t.Errorf("login to 601 by number: %d %s", code, body)
	}
}

// TestDISAStrangerWithPIN: an unknown number keys Sue's extension and DISA
// PIN, then an outside number: it leaves as the office, and the CDR names
// Sue's extension.
func TestDISAStrangerWithPIN(t *testing.T) {
	t.Parallel()
	carrier, out := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, disaSite(carrier, out))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	msgs := invites(t, out, 38400)
	if code, sout := sipp(t, 40*time.Second, box, "-sf", disaScenario(t, "102#8642#92125550188#"), "-s", "+15551230009", "-set", "caller", "+13125550999",
		"-m", "1", "-d", "3000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("disa call: sipp exit %d\n%s\n%s", code, sout, a.log())
	}
	inv := lastInvite(t, msgs)
	if !strings.HasPrefix(inv, "INVITE sip:+12125550188@") || !strings.Contains(header(inv, "From"), "sip:+15551230000@") {
		t.Errorf("the far carrier got %q from %q, want +12125550188 from the office", strings.SplitN(inv, "\n", 2)[0], header(inv, "From"))
	}
	if r := a.waitCDR(a.token("admin"), 1)[0]; !slices.Contains(r.Path, "disa:102") {
		t.Errorf("CDR path %v, want disa:102", r.Path)
	}
	if strings.Contains(a.log(), "8642") {
		t.Error("the log shows the PIN")
	}
}
