package main

// The analog ports end to end on the sim board of the real binary: a phone
// on an FXS port dials a SIP phone by DTMF and by pulses and they talk; a
// SIP phone rings the analog phone, which shows the caller ID; a call from
// the exchange on the FXO line reaches the IVR and then a queue; and an
// emergency call leaves on the FXO line when the SIP trunk is down. The
// simulated devices are driven through the board's API, as the board page
// does.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func analogSite(t *testing.T, carrier int) string {
	y := fmt.Sprintf(`version: 1
system: {name: Analog E2E, timezone: UTC, tone_zone: us}
extensions:
  - {number: "101", name: Bob, secret: "bob-analog-secret-101"}
  - {number: "201", name: Front desk}
agents:
  - {id: bob, name: Bob, extension: "101", button: 1}
queues:
  - {id: sales, agents: [bob], agent_ring: 15s, on_empty: hangup}
ivrs:
  - id: main
    greeting: main-menu
    options: {"1": queue:sales}
inbound:
  - {match: "fxo:1", to: ivr:main}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
  - {id: pstn, fxo: 1}
outbound:
  - {pattern: "911", trunks: [carrier, pstn], emergency: true, permission: internal}
  - {pattern: "9.", strip: 1, trunks: [carrier], permission: local}
lines:
  - {port: fxs:1, extension: "201"}
`, carrier)
	p := filepath.Join(t.TempDir(), "analog.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hearing is what the board API says a simulated device hears.
type hearing struct {
	LevelDBm0 float64 `json:"level_dbm0"`
	Tones     []struct {
		Hz   float64 `json:"hz"`
		DBm0 float64 `json:"dbm0"`
	} `json:"tones"`
	Heard    string `json:"heard"`
	CallerID *struct {
		Number string `json:"number"`
		Name   string `json:"name"`
	} `json:"caller_id"`
}

func (h hearing) strongest() float64 {
	best, lvl := 0.0, -200.0
	for _, x := range h.Tones {
		if x.DBm0 > lvl {
			best, lvl = x.Hz, x.DBm0
		}
	}
	return best
}

// talked reports whether hz dominates s (over 80% of the energy of every
// 100 ms block) for at least d without a break: the tone one end sent
// reached the other while they talked, whatever was heard before (ringback,
// prompts) or after (busy tone).
func talked(s []int16, rate int, hz float64, d time.Duration) bool {
	block := rate / 10
	run, need := 0, int(d/(100*time.Millisecond))
	for off := 0; off+block <= len(s); off += block {
		if toneShare(s[off:off+block], rate, hz) > 0.8 {
			run++
			if run >= need {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func (a *appliance) hear(tok, port string, ms int) hearing {
	a.t.Helper()
	var h hearing
	if code := a.get(fmt.Sprintf("/api/v1/board/lines/%s/hear?ms=%d", port, ms), tok, &h); code != 200 {
		a.t.Fatalf("hear %s: %d", port, code)
	}
	return h
}

func (a *appliance) must(tok, path, body string) {
	a.t.Helper()
	if code, out := a.post(path, tok, body); code/100 != 2 {
		a.t.Fatalf("POST %s %s: %d %s", path, body, code, out)
	}
}

// boardLine is one port of GET /api/v1/board.
type boardLine struct {
	Port  string `json:"port"`
	Phone *struct {
		OffHook bool `json:"off_hook"`
		Ringing bool `json:"ringing"`
	} `json:"phone"`
	Exchange *struct {
		Answered bool   `json:"answered"`
		OffHook  bool   `json:"off_hook"`
		Dialed   string `json:"dialed"`
	} `json:"exchange"`
	Engine *struct {
		State  string `json:"state"`
		Health string `json:"health"`
	} `json:"engine"`
}

func (a *appliance) boardLine(tok, port string) boardLine {
	a.t.Helper()
	var b struct{ Lines []boardLine }
	a.get("/api/v1/board", tok, &b)
	for _, l := range b.Lines {
		if l.Port == port {
			return l
		}
	}
	a.t.Fatalf("GET /api/v1/board has no line %s", port)
	return boardLine{}
}

func TestAnalogPhoneTalksWithSIPPhone(t *testing.T) {
	// Not parallel: the simulated line times its dial pulses in real
	// time, and under the load of the tests beside it 101 was read as 11.
	a := startServe(t, serveOpt{site: analogSite(t, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	placed := 0
	for _, mode := range []string{"dtmf", "pulse"} {
		t.Run(mode, func(t *testing.T) {
			placed++
			// A phone per call: baresip records one call's audio per run.
			bob := startBaresip(t, "101", "bob-analog-secret-101", box, mediaPorts(t, 100), 1000)
			if !bob.waitRegistered(10 * time.Second) {
				t.Fatal("bob's phone did not register")
			}
			calls := bob.countEvents("CALL_ESTABLISHED")
			a.waitFor("the analog line to be idle", func() bool {
				l := a.boardLine(admin, "fxs:1")
				return l.Engine != nil && l.Engine.State == "idle"
			})
			a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": true}`)
			a.waitFor("dial tone on the analog phone", func() bool { return a.hear(admin, "fxs:1", 300).Heard == "dial_tone" })
			a.must(admin, "/api/v1/board/lines/fxs:1/tone", `{"hz": 700, "dbm0": -15}`)
			a.must(admin, "/api/v1/board/lines/fxs:1/dial", fmt.Sprintf(`{"digits": "101", "mode": %q}`, mode))
			a.waitFor("bob's phone to answer the analog call", func() bool { return bob.countEvents("CALL_ESTABLISHED") > calls })
			time.Sleep(3 * time.Second)
			h := a.hear(admin, "fxs:1", 1000)
			if h.strongest() != 1000 || h.LevelDBm0 < -40 {
				t.Errorf("the analog phone hears %+v, want bob's 1 kHz", h)
			}
			a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": false}`)
			if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
				t.Fatal("hanging up the analog phone did not end bob's call")
			}
			time.Sleep(500 * time.Millisecond)
			s, rate, err := bob.received()
			if err != nil {
				t.Fatal(err)
			}
			if !talked(s, rate, 700, 2*time.Second) {
				t.Errorf("bob did not hear the analog phone's 700 Hz for 2 s (%.0f%% of all he heard)", 100*toneShare(s, rate, 700))
			}
		})
	}
	for _, c := range a.waitCDR(admin, placed) {
		if c.Caller != "201" || c.Callee != "101" || c.AnsweredBy == "" {
			t.Errorf("CDR %+v, want 201 calling 101, answered", c)
		}
	}
}

// An analog phone calls out through a SIP carrier played by SIPp, which
// echoes the audio it gets: the phone hears its own tone back only if
// audio went both ways through the box and the SIPp far end.
func TestAnalogPhoneCallsOutThroughSIPpCarrier(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: analogSite(t, carrier)})
	admin := a.token("admin")
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo", "-d", "0")
	a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": true}`)
	a.waitFor("dial tone on the analog phone", func() bool { return a.hear(admin, "fxs:1", 300).Heard == "dial_tone" })
	a.must(admin, "/api/v1/board/lines/fxs:1/dial", `{"digits": "95550123#"}`)
	a.waitFor("the carrier to answer", func() bool {
		l := a.boardLine(admin, "fxs:1")
		return l.Engine != nil && l.Engine.State == "talking"
	})
	a.must(admin, "/api/v1/board/lines/fxs:1/tone", `{"hz": 1000, "dbm0": -15}`)
	time.Sleep(2 * time.Second)
	if h := a.hear(admin, "fxs:1", 1000); h.strongest() != 1000 || h.LevelDBm0 < -40 {
		t.Errorf("the analog phone hears %+v, want its own 1 kHz echoed by the SIPp far end", h)
	}
	a.must(admin, "/api/v1/board/lines/fxs:1/tone", `{"hz": 0}`)
	time.Sleep(time.Second)
	if h := a.hear(admin, "fxs:1", 500); h.LevelDBm0 > -50 {
		t.Errorf("the phone still hears %+v after it went quiet: the echo is not from the far end", h)
	}
	a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": false}`)
	c := a.waitCDR(admin, 1)[0]
	if c.Caller != "201" || c.Trunk != "carrier" || c.NumberSent != "5550123" || c.AnsweredBy == "" {
		t.Errorf("CDR %+v, want 201 to 5550123 through the carrier, answered", c)
	}
}

func TestSIPPhoneRingsAnalogPhoneWithCallerID(t *testing.T) {
	// Not parallel: the simulated line sends the caller ID between the
	// rings in real time, and under the load of the tests beside it the
	// phone did not decode it within 15 s.
	a := startServe(t, serveOpt{site: analogSite(t, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresip(t, "101", "bob-analog-secret-101", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	bob.command("dial", "sip:201@"+box)
	a.waitFor("the analog phone to ring", func() bool {
		l := a.boardLine(admin, "fxs:1")
		return l.Phone != nil && l.Phone.Ringing
	})
	a.waitFor("the caller ID between the rings", func() bool { return a.hear(admin, "fxs:1", 100).CallerID != nil })
	if cid := a.hear(admin, "fxs:1", 100).CallerID; cid.Number != "101" || cid.Name != "Bob" {
		t.Errorf("the phone shows %+v, want 101 Bob", cid)
	}
	a.must(admin, "/api/v1/board/lines/fxs:1/tone", `{"hz": 700, "dbm0": -15}`)
	a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": true}`)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatal("lifting the analog phone did not answer bob's call")
	}
	time.Sleep(3 * time.Second)
	if h := a.hear(admin, "fxs:1", 1000); h.strongest() != 1000 {
		t.Errorf("the analog phone hears %+v, want bob's 1 kHz", h)
	}
	bob.command("hangup", "")
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("bob's call did not close")
	}
	a.waitFor("busy tone after bob hung up", func() bool { return a.hear(admin, "fxs:1", 1000).Heard == "busy_tone" })
	time.Sleep(500 * time.Millisecond)
	s, rate, err := bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if !talked(s, rate, 700, 2*time.Second) {
		t.Errorf("bob did not hear the analog phone's 700 Hz for 2 s (%.0f%% of all he heard)", 100*toneShare(s, rate, 700))
	}
}

func TestExchangeCallReachesIVRThenQueue(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: analogSite(t, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresip(t, "101", "bob-analog-secret-101", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	// Bob logs in with his button on the box.
	a.must(admin, "/api/v1/board/buttons/1/press", "")
	a.waitFor("bob logged in by his button", func() bool {
		var ag struct{ Status string }
		a.get("/api/v1/agents/bob", admin, &ag)
		return ag.Status == "available"
	})
	a.must(admin, "/api/v1/board/lines/fxo:1/ring", `{"number": "5551234567", "name": "ALICE SMITH"}`)
	a.waitFor("the IVR to answer the line", func() bool {
		l := a.boardLine(admin, "fxo:1")
		return l.Exchange != nil && l.Exchange.Answered
	})
	time.Sleep(time.Second)
	a.must(admin, "/api/v1/board/lines/fxo:1/dial", `{"digits": "1"}`)
	a.must(admin, "/api/v1/board/lines/fxo:1/tone", `{"hz": 700, "dbm0": -15}`)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("the queue call did not reach bob\n%s", a.log())
	}
	time.Sleep(3 * time.Second)
	if h := a.hear(admin, "fxo:1", 1000); h.strongest() != 1000 {
		t.Errorf("the caller on the line hears %+v, want bob's 1 kHz", h)
	}
	a.must(admin, "/api/v1/board/lines/fxo:1/hangup", `{"how": "busy"}`)
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("the caller's busy-tone hang-up did not end bob's call")
	}
	time.Sleep(500 * time.Millisecond)
	s, rate, err := bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if !talked(s, rate, 700, 2*time.Second) {
		t.Errorf("bob did not hear the caller's 700 Hz for 2 s (%.0f%% of all he heard)", 100*toneShare(s, rate, 700))
	}
	cdrs := a.waitCDR(admin, 1)
	c := cdrs[0]
	if c.Caller != "5551234567" || c.CallerName != "ALICE SMITH" || c.Trunk != "pstn" || c.Agent != "bob" {
		b, _ := json.Marshal(cdrs)
		t.Errorf("CDR %s, want ALICE SMITH 5551234567 on pstn answered by bob", b)
	}
	if !strings.Contains(strings.Join(c.Path, ","), "ivr:main") || !strings.Contains(strings.Join(c.Path, ","), "queue:sales") {
		t.Errorf("CDR path %v, want ivr:main then queue:sales", c.Path)
	}
}

func TestEmergencyCallLeavesOnFXOWhenSIPTrunkIsDown(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: analogSite(t, carrier)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	// The carrier answers every call with 503: down.
	done := make(chan struct{})
	var code int
	var out string
	go func() {
		defer close(done)
		code, out = sipp(t, 30*time.Second, "-sf", testdata(t, "uas_503.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-m", "1")
	}()
	time.Sleep(time.Second)
	bob := startBaresip(t, "101", "bob-analog-secret-101", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	bob.command("dial", "sip:911@"+box)
	a.waitFor("911 dialled on the FXO line", func() bool {
		l := a.boardLine(admin, "fxo:1")
		return l.Exchange != nil && l.Exchange.OffHook && l.Exchange.Dialed == "911"
	})
	<-done
	if code != 0 {
		t.Errorf("the carrier (SIPp answering 503) exited %d\n%s", code, out)
	}
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatal("the emergency call was not connected on the line")
	}
	bob.command("hangup", "")
	a.waitFor("the line to be released", func() bool {
		l := a.boardLine(admin, "fxo:1")
		return l.Exchange != nil && !l.Exchange.OffHook
	})
}

// TestAnalogPhoneTransfersByHangingUp: Bob (101) calls the analog phone
// (201), which answers; it flashes, dials Carol (102) and, once she
// answered, hangs up: the box joins Bob and Carol (an attended transfer,
// as a SIP phone's REFER with Replaces), each hears the other, the
// analog phone is free, and the call record lists 201's transfer.
func TestAnalogPhoneTransfersByHangingUp(t *testing.T) {
	t.Parallel()
	y, err := os.ReadFile(analogSite(t, freePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(t.TempDir(), "analog-xfer.yaml")
	y = []byte(strings.Replace(string(y), "  - {number: \"201\", name: Front desk}\n",
		"  - {number: \"201\", name: Front desk}\n  - {number: \"102\", name: Carol, secret: \"carol-analog-secret-102\"}\n", 1))
	if err := os.WriteFile(site, y, 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: site})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresip(t, "101", "bob-analog-secret-101", box, mediaPorts(t, 100), bobHz)
	carol := startBaresip(t, "102", "carol-analog-secret-102", box, mediaPorts(t, 100), carolHz)
	for _, p := range []*baresip{bob, carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	bob.command("dial", "sip:201@"+box)
	a.waitFor("the analog phone to ring", func() bool {
		l := a.boardLine(admin, "fxs:1")
		return l.Phone != nil && l.Phone.Ringing
	})
	a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": true}`)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatal("lifting the analog phone did not answer bob's call")
	}
	time.Sleep(time.Second)
	a.must(admin, "/api/v1/board/lines/fxs:1/flash", `{}`)
	a.waitFor("dial tone after the flash", func() bool { return a.hear(admin, "fxs:1", 300).Heard == "dial_tone" })
	a.must(admin, "/api/v1/board/lines/fxs:1/dial", `{"digits": "102", "mode": "dtmf"}`)
	if _, ok := carol.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("carol never answered the consult call\n%s", a.log())
	}
	time.Sleep(time.Second)
	a.must(admin, "/api/v1/board/lines/fxs:1/hook", `{"off": false}`)
	if !a.waitLog("transfer by hanging up: joined by the flow", 5*time.Second) {
		t.Fatalf("the flow did not take the analog phone's transfer\n%s", a.log())
	}
	a.waitFor("the analog line to be idle", func() bool {
		l := a.boardLine(admin, "fxs:1")
		return l.Engine != nil && l.Engine.State == "idle"
	})
	time.Sleep(4 * time.Second) // Bob and Carol talk
	bob.command("hangup", "")
	if _, ok := carol.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("bob hanging up did not end carol's call")
	}
	time.Sleep(500 * time.Millisecond) // the phones close their recordings
	hears(t, bob, carolHz, "Carol")
	hears(t, carol, bobHz, "Bob")
	var rows []transferCDR
	a.waitFor("the call record with the transfer", func() bool {
		rows = nil
		a.get("/api/v1/cdr", admin, &rows)
		for _, r := range rows {
			if len(r.Transfers) > 0 {
				return true
			}
		}
		return false
	})
	for _, r := range rows {
		for _, x := range r.Transfers {
			if x.Kind == "attended" && x.By == "201" && x.Result == "completed" {
				return
			}
		}
	}
	t.Errorf("call records %+v: want 201's completed attended transfer", rows)
}
