package main

// One call path, end to end against the real binary: a queue call is a
// whole call (CDR with the agent leg, answer time, billable seconds, a
// recording that holds both voices), an unavailable agent is not rung by
// a ring group, an agent's mobile sees the caller's number, an outside
// call from an extension shows the office number, and a SIGTERM during
// calls loses none of their records.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/store"
)

func writeSite(t *testing.T, y string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readStereoWAV splits a 16-bit stereo WAV into its channels.
func readStereoWAV(path string) (left, right []int16, rate int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" {
		return nil, nil, 0, fmt.Errorf("%s: not a WAV file", path)
	}
	channels := 0
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(binary.LittleEndian.Uint32(data[p+4:]))
		body := data[p+8:]
		size = min(size, len(body))
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			if channels != 2 {
				return nil, nil, 0, fmt.Errorf("%s: %d channels, want 2", path, channels)
			}
			for i := 0; i+4 <= size; i += 4 {
				left = append(left, int16(binary.LittleEndian.Uint16(body[i:])))
				right = append(right, int16(binary.LittleEndian.Uint16(body[i+2:])))
			}
			return left, right, rate, nil
		}
		p += 8 + size + size%2
	}
	return nil, nil, 0, fmt.Errorf("%s: no data chunk", path)
}

func callPathSite(carrier, mobile int) string {
	return fmt.Sprintf(`version: 1
system: {name: Call path, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Bob, secret: "bob-path-secret-101"}
  - {number: "102", name: Sue, secret: "sue-path-secret-102"}
  - {number: "103", name: Max, secret: "max-path-secret-103"}
agents:
  - {id: bob, name: Bob, extension: "101"}
  - {id: sue, name: Sue, extension: "102"}
  - {id: ann, name: Ann, mobile: "+12125550177"}
queues:
  - {id: service, agents: [bob], agent_ring: 15s, on_empty: hangup}
ring_groups:
  - id: front
    stages: [{ring: [bob, sue], for: 20s}]
    no_answer: hangup
  - id: mobiles
    stages: [{ring: [ann], for: 20s}]
    cid_prefix: "Office: "
    no_answer: hangup
announcements:
  - {id: recorded, prompt: recording-notice, record: true, next: "ivr:main"}
ivrs:
  - id: main
    greeting: main-menu
    options: {"2": "queue:service"}
    timeout: 10s
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
  - {id: mobile, host: "127.0.0.3:%d", transport: udp}
outbound:
  - {pattern: "+1NXXNXXXXXX", trunks: [mobile], permission: national}
inbound:
  - {match: "+15551230000", to: "announce:recorded"}
  - {match: "+15551230001", to: "ringgroup:front"}
  - {match: "+15551230002", to: "ringgroup:mobiles"}
`, carrier, mobile)
}

// TestQueueCallIsRecordedWithTheAgentLeg: DID -> announcement (record) ->
// IVR -> press 2 -> queue -> Bob answers. The CDR shows Bob's leg, the
// answer time and billable seconds, and the recording holds both voices.
func TestQueueCallIsRecordedWithTheAgentLeg(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, callPathSite(carrier, freePort(t)))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresip(t, "101", "bob-path-secret-101", box, mediaPorts(t, 100), 1200)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	if code, body := a.post("/api/v1/agents/bob/login", admin, "{}"); code != 200 {
		t.Fatalf("log bob in: %d %s", code, body)
	}
	caller := startBaresipCarrier(t, "127.0.0.2", mediaPorts(t, 100), 700)
	caller.command("dial", "sip:+15551230000@"+box)
	if _, ok := caller.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("the carrier's call was not answered\n%s", a.log())
	}
	// The announcement plays, then the menu: press 2 for the queue.
	time.Sleep(4 * time.Second)
	caller.command("sndcode", "2")
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 20*time.Second); !ok {
		t.Fatalf("bob never got the queue call\n%s", a.log())
	}
	time.Sleep(4 * time.Second)
	caller.command("hangup", "")
	caller.waitEvent("CALL_CLOSED", 5*time.Second)

	r := a.waitCDR(admin, 1)[0]
	if r.Answer.IsZero() || r.Billable < 6 || r.Agent != "bob" || r.AnsweredBy != "agent:bob/ext:101" || r.HangupBy != "caller" || r.Cause != "normal" {
		t.Errorf("CDR = %+v, want answered, >= 6 billable seconds, taken by bob, hung up by the caller", r)
	}
	var agentLeg bool
	for _, l := range r.Legs {
		if l.Target == "agent:bob/ext:101" && l.Agent == "bob" && !l.Answer.IsZero() {
			agentLeg = true
		}
	}
	if !agentLeg {
		t.Errorf("CDR legs %+v lack bob's answered leg", r.Legs)
	}
	if want := []string{"announce:recorded", "ivr:main", "queue:service"}; strings.Join(r.Path, " ") != strings.Join(want, " ") {
		t.Errorf("path %v, want %v", r.Path, want)
	}
	// The recording exists and holds both voices: the caller's 700 Hz on
	// the left, Bob's 1200 Hz on the right.
	path := r.Recording
	if path == "" {
		t.Fatalf("the CDR names no recording")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(a.data, path)
	}
	left, right, rate, err := readStereoWAV(path)
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	if secs := float64(len(left)) / float64(rate); secs < 3 {
		t.Errorf("recording lasts %.1fs, want the conversation (about 4 s)", secs)
	}
	if l, r := toneShare(left, rate, 700), toneShare(right, rate, 1200); l < 0.5 || r < 0.5 {
		t.Errorf("recording: caller's tone %.0f%% of the left channel, agent's %.0f%% of the right; want both voices", 100*l, 100*r)
	}
}

// TestUnavailableAgentIsNotRungByARingGroup: Bob is logged in but
// unavailable, Sue available; a call to the ring group rings Sue only.
func TestUnavailableAgentIsNotRungByARingGroup(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, callPathSite(carrier, freePort(t)))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresipMode(t, "101", "bob-path-secret-101", box, mediaPorts(t, 100), 1200, "manual")
	sue := startBaresip(t, "102", "sue-path-secret-102", box, mediaPorts(t, 100), 900)
	if !bob.waitRegistered(10*time.Second) || !sue.waitRegistered(10*time.Second) {
		t.Fatal("phones did not register")
	}
	for _, c := range []struct{ path, body string }{
		{"/api/v1/agents/bob/login", `{"unavailable": true, "reason": "lunch"}`},
		{"/api/v1/agents/sue/login", `{}`},
	} {
		if code, body := a.post(c.path, admin, c.body); code != 200 {
			t.Fatalf("POST %s: %d %s", c.path, code, body)
		}
	}
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230001", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "2000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("ring group call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if sue.countEvents("CALL_ESTABLISHED") != 1 {
		t.Error("sue (available) did not take the call")
	}
	if n := bob.countEvents("CALL_INCOMING"); n != 0 {
		t.Errorf("bob (unavailable) was rung %d times", n)
	}
	if r := a.waitCDR(admin, 1)[0]; r.Agent != "sue" {
		t.Errorf("CDR agent %q, want sue", r.Agent)
	}
}

// invites runs a SIPp far end on 127.0.0.3:port that answers and logs
// every message; it returns the log's path.
func invites(t *testing.T, port, media int) string {
	t.Helper()
	msgs := filepath.Join(t.TempDir(), "messages.log")
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.3", "-p", fmt.Sprint(port),
		"-mi", "127.0.0.3", "-mp", fmt.Sprint(media), "-d", "0", "-trace_msg", "-message_file", msgs)
	return msgs
}

// lastInvite waits for an INVITE in SIPp's message log and returns it.
func lastInvite(t *testing.T, log string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(log)
		if i := strings.LastIndex(string(b), "INVITE sip:"); i >= 0 {
			msg := string(b[i:])
			if j := strings.Index(msg, "\n\n"); j >= 0 {
				msg = msg[:j]
			}
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("the far end saw no INVITE:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func header(msg, name string) string {
	m := regexp.MustCompile(`(?mi)^` + regexp.QuoteMeta(name) + `:\s*(.*?)\r?$`).FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestMobileSeesTheCallersNumber: a carrier call rung to an agent's
// mobile shows the caller's own number, with the office prefix in the
// name, and names the office so the carrier accepts it.
func TestMobileSeesTheCallersNumber(t *testing.T) {
	t.Parallel()
	carrier, mobile := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, callPathSite(carrier, mobile))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	if code, body := a.post("/api/v1/agents/ann/login", a.token("admin"), "{}"); code != 200 {
		t.Fatalf("log ann in: %d %s", code, body)
	}
	msgs := invites(t, mobile, mediaPorts(t, 4))
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230002", "-set", "caller", "+13125550123",
		"-m", "1", "-d", "1000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("call to the mobile group: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	inv := lastInvite(t, msgs)
	if !strings.HasPrefix(inv, "INVITE sip:+12125550177@") {
		t.Errorf("the mobile got %q", strings.SplitN(inv, "\n", 2)[0])
	}
	from := header(inv, "From")
	if !strings.Contains(from, "sip:+13125550123@") || !strings.Contains(from, `"Office: +13125550123"`) {
		t.Errorf("From: %s, want the caller's number with the office prefix in the name", from)
	}
	if d := header(inv, "Diversion"); !strings.Contains(d, "+15551230002") {
		t.Errorf("Diversion: %q, want the DID the call was for", d)
	}
	if p := header(inv, "P-Asserted-Identity"); !strings.Contains(p, "+15551230000") {
		t.Errorf("P-Asserted-Identity: %q, want the office number", p)
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.Agent != "ann" || r.Legs[len(r.Legs)-1].Trunk != "mobile" {
		t.Errorf("CDR %+v, want ann's mobile through trunk mobile", r)
	}
}

// TestOutsideCallShowsTheOfficeNumber: an extension calling out shows the
// office number, and the CDR names the trunk and the number sent.
func TestOutsideCallShowsTheOfficeNumber(t *testing.T) {
	t.Parallel()
	mobile := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, callPathSite(freePort(t), mobile))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	msgs := invites(t, mobile, mediaPorts(t, 4))
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "+12125550199", "-set", "caller", "103",
		"-au", "103", "-ap", "max-path-secret-103", "-m", "1", "-d", "1000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("outside call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	inv := lastInvite(t, msgs)
	if from := header(inv, "From"); !strings.Contains(from, "sip:+15551230000@") {
		t.Errorf("From: %s, want the office number", from)
	}
	r := a.waitCDR(a.token("admin"), 1)[0]
	if r.Direction != "outbound" || r.Trunk != "mobile" || r.NumberSent != "+12125550199" || r.CallerName != "Max" {
		t.Errorf("CDR %+v, want outbound through trunk mobile, the number sent and the caller's name", r)
	}
}

// TestShutdownLosesNoCallRecord: SIGTERM while 50 calls are up leaves 50
// CDR rows.
func TestShutdownLosesNoCallRecord(t *testing.T) {
	// Not parallel: 50 calls' audio keep the CPU busy, and the stop must
	// come within startServe's 15 s.
	carrier, mobile := freePort(t), freePort(t)
	site := callPathSite(carrier, mobile) + `  - {match: "+15551230009", to: "external:+12125550188"}
`
	a := startServe(t, serveOpt{site: writeSite(t, site)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	invites(t, mobile, mediaPorts(t, 4))
	// 50 calls, 25 a second, each held a minute.
	sippBackground(t, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230009", "-set", "caller", "+12125550100",
		"-m", "50", "-r", "25", "-l", "50", "-d", "60000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	a.waitFor("50 calls in progress", func() bool { return activeStreams(a) >= 100 })
	if err := a.stop(); err != nil {
		t.Errorf("serve exited with %v\n%s", err, a.log())
	}
	st, err := store.Open(context.Background(), a.data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.ListCDR(context.Background(), store.CDRFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 50 {
		t.Errorf("%d CDR rows after SIGTERM during 50 calls, want 50\n%s", len(recs), a.log())
	}
	for _, r := range recs {
		if r.Answer.IsZero() || r.Cause != "shutdown" {
			t.Errorf("CDR %s: answer %v cause %s, want answered, ended by the shutdown", r.CallID, r.Answer, r.Cause)
			break
		}
	}
}

// activeStreams reads ringbox_media_streams from /metrics.
func activeStreams(a *appliance) int {
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		return 0
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ringbox_media_streams "); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// TestG722CallerReachesPCMUOnlyPhone: a wideband (G.722-only) caller
// reaches a phone that speaks only G.711; the box transcodes at the bridge
// and both hear each other.
func TestG722CallerReachesPCMUOnlyPhone(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	site := callPathSite(carrier, freePort(t)) + `  - {match: "+15551230003", to: "extension:101"}
`
	a := startServe(t, serveOpt{site: writeSite(t, site)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "101", "bob-path-secret-101", box, mediaPorts(t, 100), 1200) // PCMU, PCMA
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	caller := startBaresipG722Carrier(t, "127.0.0.2", mediaPorts(t, 100), 700)
	caller.command("dial", "sip:+15551230003@"+box)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("bob never answered\n%s", a.log())
	}
	time.Sleep(4 * time.Second)
	caller.command("hangup", "")
	caller.waitEvent("CALL_CLOSED", 5*time.Second)
	if !caller.outputContains("G722") || !bob.outputContains("PCMU") {
		t.Errorf("codecs: the caller must speak G.722 and bob PCMU (see the phones' logs)")
	}
	caller.heard(t, 1200, 2)
	bob.heard(t, 700, 2)
	if r := a.waitCDR(a.token("admin"), 1)[0]; r.Cause != "normal" || r.Billable < 3 {
		t.Errorf("CDR %+v, want a normal answered call", r)
	}
}
