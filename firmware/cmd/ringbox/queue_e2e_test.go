package main

// The ACD end to end: an agent logs in with the box's button and becomes
// available through the API (the board LED follows), a carrier call waits in the queue and reaches the agent's
// phone, the queue log and statistics record it, and the agent logs out
// with the *45 feature code from the phone.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func queueSite(t *testing.T, carrierPort int) string {
	y := fmt.Sprintf(`version: 1
system: {name: Queue E2E, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-queue-secret-101"}
agents:
  - {id: bob, name: Bob, extension: "101", button: 1}
queues:
  - id: service
    agents: [bob]
    agent_ring: 10s
    wrapup: 1s
    on_empty: hangup
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: queue:service}
`, carrierPort)
	p := filepath.Join(t.TempDir(), "queue.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (a *appliance) post(path, token, body string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *appliance) waitFor(what string, cond func() bool) {
	a.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out waiting for %s\n%s", what, a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestQueueCallReachesLoggedInAgent(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: queueSite(t, carrier)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	admin := a.token("admin")
	bob := startBaresip(t, "101", "bob-queue-secret-101", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	led := func() string {
		var b struct {
			Buttons []struct {
				N   int
				LED string
			}
		}
		a.get("/api/v1/board", admin, &b)
		for _, x := range b.Buttons {
			if x.N == 1 {
				return x.LED
			}
		}
		return ""
	}
	if got := led(); got != "off" {
		t.Errorf("LED of a logged-out agent = %q, want off", got)
	}
	// A long press of bob's button logs him in as unavailable; the API
	// then makes him available.
	if code, body := a.post("/api/v1/board/buttons/1/press?long=1", admin, ""); code != 204 {
		t.Fatalf("press button 1: %d %s", code, body)
	}
	a.waitFor("the LED to blink slowly (logged in, unavailable)", func() bool { return led() == "slow_blink" })
	if code, body := a.post("/api/v1/agents/bob/available", admin, "{}"); code != 200 {
		t.Fatalf("available: %d %s", code, body)
	}
	a.waitFor("the LED to show bob available", func() bool { return led() == "on" })

	// A caller from the carrier enters the queue and reaches bob.
	if code, out := sipp(t, 40*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "3000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("queue call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if bob.countEvents("CALL_ESTABLISHED") == 0 {
		t.Error("bob's phone never answered a queue call")
	}
	var st struct {
		Offered, Answered, Abandoned int
		Agents                       []struct {
			Agent    string
			Answered int
		}
	}
	a.waitFor("the queue statistics to count the call", func() bool {
		a.get("/api/v1/queues/service/stats?from=1h", admin, &st)
		return st.Answered == 1
	})
	if st.Offered != 1 || st.Abandoned != 0 {
		t.Errorf("stats = %+v", st)
	}
	req, _ := http.NewRequest("GET", a.base+"/api/v1/queuelog?from=1h", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ql, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, ev := range []string{"|ADDMEMBER", "|ENTERQUEUE|", "|CONNECT|", "|COMPLETE"} {
		if !bytes.Contains(ql, []byte(ev)) {
			t.Errorf("queue_log lacks %s:\n%s", strings.Trim(ev, "|"), ql)
		}
	}

	// *45 from bob's own phone logs him out.
	bob.command("dial", "sip:*45@"+box)
	var ag struct{ Status string }
	a.waitFor("*45 to log bob out", func() bool {
		a.get("/api/v1/agents/bob", admin, &ag)
		return ag.Status == "logged_out"
	})
	a.waitFor("the LED to go off", func() bool { return led() == "off" })
}
