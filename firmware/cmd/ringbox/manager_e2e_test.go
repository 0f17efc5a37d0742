package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// managerSite has two teams: ann reports to mona, bob to otto; the DID
// goes to queue sales, which ann serves.
func managerSite(t *testing.T, carrier int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.yaml")
	site := fmt.Sprintf(`version: 1
system: {name: Two Teams, timezone: UTC}
extensions:
  - {number: "101", name: Ann, secret: ann-secret-101x}
  - {number: "102", name: Bob, secret: bob-secret-102x}
  - {number: "110", name: Mona, secret: mona-secret-110}
  - {number: "111", name: Otto, secret: otto-secret-111}
agents:
  - {id: mona, name: Mona, extension: "110", role: manager}
  - {id: otto, name: Otto, extension: "111", role: manager}
  - {id: ann, name: Ann, extension: "101", reports_to: mona}
  - {id: bob, name: Bob, extension: "102", reports_to: otto}
queues:
  - {id: sales, name: Sales, agents: [ann], max_wait: 2m}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: "queue:sales"}
users:
  - {login: boss, role: admin, password: Boss-Admin-Pass-2026}
  - {login: mona, role: manager, agent: mona, password: Mona-Manager-2026}
`, carrier)
	if err := os.WriteFile(p, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestManagerScopeAndWallboardInChromium: a manager's browser shows her
// team's report and nobody else's, gets 403 for another team's agent in the
// page and the API, and the queue's wallboard shows a caller who joins.
func TestManagerScopeAndWallboardInChromium(t *testing.T) {
	t.Parallel()
	node, dir := browserScripts(t)
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: managerSite(t, carrier)})
	// Ann is logged in to her queue (her phone is not registered: the
	// caller waits).
	adm := a.token("admin")
	if code, body := a.post("/api/v1/agents/ann/login", adm, ""); code/100 != 2 {
		t.Fatalf("log ann in: %d %s", code, body)
	}
	wait := filepath.Join(t.TempDir(), "wallboard-open")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "manager.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+a.base, "LOGIN=mona", "PASSWORD=Mona-Manager-2026", "QUEUE=sales",
		"MINE=ann", "MINE_NAME=Ann", "OTHER=bob", "OTHER_NAME=Bob", "WAIT_FILE="+wait, "SHOTS="+t.ArtifactDir())
	out := &syncOut{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Once the wallboard is open, a caller joins the queue.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(wait); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("manager browser test ended before the call: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wallboard never opened\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	// The caller waits 5 s in the queue, then hangs up.
	called := make(chan string, 1)
	go func() {
		code, sout := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-s", "+15551230000", "-set", "caller", "+12125550100",
			"-m", "1", "-d", "5000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
		if code != 0 {
			called <- fmt.Sprintf("sipp exit %d\n%s", code, sout)
			return
		}
		called <- ""
	}()
	err := <-done
	if msg := <-called; msg != "" {
		t.Errorf("the caller: %s", msg)
	}
	if err != nil {
		t.Fatalf("manager browser test failed: %v\n%s\n%s", err, out, a.log())
	}
	t.Logf("%s", out)
}

// syncOut collects a child's output while the test reads it.
type syncOut struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *syncOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *syncOut) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
