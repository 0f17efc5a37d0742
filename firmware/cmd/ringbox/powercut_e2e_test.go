package main

// The power-cut test: the real binary killed (SIGKILL, at random moments)
// over and over while site imports, bursts of short calls and a long call
// run. Whatever the box acknowledged before a kill is there after the
// restart: an import it answered 200, a CDR the API had listed, a call the
// caller heard answered; the database is sound and no import is half
// applied.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// powerCutSite is generation gen of the site the test imports: every
// import renames the system, two extensions and the queue together, so a
// half-applied import shows as names of different generations.
func powerCutSite(gen, carrier int) string {
	return fmt.Sprintf(`version: 1
system: {name: "Gen %[1]d", timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Burst, secret: "burst-secret-101"}
  - {number: "102", name: Long, secret: "long-secret-102"}
  - {number: "150", name: "Gen %[1]d A", secret: "gen-secret-150"}
  - {number: "151", name: "Gen %[1]d B", secret: "gen-secret-151"}
agents:
  - {id: gen, name: Gen, extension: "150"}
queues:
  - {id: service, name: "Gen %[1]d", agents: [gen], on_empty: hangup}
trunks:
  - {id: carrier, host: "127.0.0.2:%[2]d", transport: udp}
outbound:
  - {pattern: "9NXXNXXXXXX", strip: 1, prepend: "+1", trunks: [carrier], permission: national}
`, gen, carrier)
}

// importSite posts a site file to the import API; true: answered 200.
func importSite(ctx context.Context, a *appliance, tok, yaml string) bool {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("site", "site.yaml")
	w.Write([]byte(yaml))
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", a.base+"/api/v1/site/import", &body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// sippUntil runs SIPp until it ends or ctx does (the box it calls is
// killed under it).
func sippUntil(ctx context.Context, t *testing.T, args ...string) {
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "sipp", append(args, "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "err.log"))...)
	cmd.Dir = dir
	cmd.Run() // its outcome is read from the box, not from SIPp
}

// powerCutLedger is what the box acknowledged before its kills.
type powerCutLedger struct {
	mu       sync.Mutex
	cdrs     map[string]bool // call ids the CDR API listed
	answered map[string]bool // call ids the long call's caller heard answered
	imported int             // the newest generation the import API answered 200
	tried    int             // the newest generation posted
}

func TestPowerCutKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	const rounds = 12
	data := t.TempDir()
	carrier, sipPort := freePort(t), freePort(t)
	// The carrier answers every call at once and keeps it until BYE.
	sippBackground(t, "-sf", testdata(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-d", "0")
	site := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(site, []byte(powerCutSite(0, carrier)), 0o600); err != nil {
		t.Fatal(err)
	}
	led := &powerCutLedger{cdrs: map[string]bool{}, answered: map[string]bool{}}
	var tok string
	var long *baresip
	var db *sql.DB
	for round := range rounds {
		o := serveOpt{data: data, sipPort: sipPort}
		if round == 0 {
			o.site = site
		}
		a := startServe(t, o)
		box := fmt.Sprintf("127.0.0.1:%d", sipPort)
		if round == 0 {
			tok = a.token("admin")
			db = openDB(t, data)
			// The long call's phone places calls; it needs no registration.
			long = startBaresip(t, "102", "long-secret-102", box, freePorts(t, 100), 1000)
		} else {
			checkPowerCut(t, round, db, led)
			if t.Failed() {
				return
			}
		}
		powerCutRound(t, a, tok, box, carrier, long, led, round)
	}
}

// powerCutRound runs the load on a and kills it at a random moment.
func powerCutRound(t *testing.T, a *appliance, tok, box string, carrier int, long *baresip, led *powerCutLedger, round int) {
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	// Imports, one after the other.
	wg.Go(func() {
		for ctx.Err() == nil {
			led.mu.Lock()
			led.tried++
			gen := led.tried
			led.mu.Unlock()
			if !importSite(ctx, a, tok, powerCutSite(gen, carrier)) {
				time.Sleep(20 * time.Millisecond) // the box is gone (or refused): no spinning
				continue
			}
			led.mu.Lock()
			led.imported = max(led.imported, gen)
			led.mu.Unlock()
		}
	})
	// Bursts of short outside calls.
	wg.Go(func() {
		for ctx.Err() == nil {
			sippUntil(ctx, t, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "92125550100", "-set", "caller", "101",
				"-au", "101", "-ap", "burst-secret-101", "-m", "20", "-r", "40", "-d", "20", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)),
				"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
		}
	})
	// What the CDR API lists is acknowledged.
	wg.Go(func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", a.base+"/api/v1/cdr?limit=10000&from="+url.QueryEscape(since), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			var rows []struct {
				CallID string `json:"call_id"`
			}
			err = json.NewDecoder(resp.Body).Decode(&rows)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				continue
			}
			led.mu.Lock()
			for _, r := range rows {
				led.cdrs[r.CallID] = true
			}
			led.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	})
	// A long call, answered by the carrier: acknowledged once its caller
	// hears the answer.
	seen := long.countEvents("CALL_ESTABLISHED")
	long.command("dial", "sip:92125550199@"+box)
	wg.Go(func() {
		for ctx.Err() == nil {
			long.mu.Lock()
			n := 0
			for _, e := range long.events {
				if e["type"] != "CALL_ESTABLISHED" {
					continue
				}
				if n++; n > seen {
					id, _ := e["id"].(string)
					led.mu.Lock()
					led.answered[id] = true
					led.mu.Unlock()
				}
			}
			long.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	})
	time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond) // a random moment: the cut
	a.cmd.Process.Kill()
	<-a.exited
	stop()
	wg.Wait()
	long.command("hangup", "")
	led.mu.Lock()
	t.Logf("round %d: %d CDRs, %d answered calls, import %d of %d acknowledged so far", round, len(led.cdrs), len(led.answered), led.imported, led.tried)
	led.mu.Unlock()
}

// checkPowerCut checks, on the restarted box's database, that everything
// acknowledged before the kills is there and that the database is sound.
func checkPowerCut(t *testing.T, round int, db *sql.DB, led *powerCutLedger) {
	t.Helper()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("round %d: integrity_check = %q, %v", round, ok, err)
	}
	rows, err := db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fk int
		rows.Scan(&table, &rowid, &parent, &fk)
		t.Errorf("round %d: foreign_key_check: %s row %v refers to a missing %s", round, table, rowid, parent)
	}
	rows.Close()

	stored := map[string]bool{} // call id -> answered
	rows, err = db.Query(`SELECT call_id, answer_ms IS NOT NULL FROM cdr`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var answered bool
		if err := rows.Scan(&id, &answered); err != nil {
			t.Fatal(err)
		}
		stored[id] = stored[id] || answered
	}
	rows.Close()
	led.mu.Lock()
	defer led.mu.Unlock()
	var lost, unanswered []string
	for id := range led.cdrs {
		if _, ok := stored[id]; !ok {
			lost = append(lost, id)
		}
	}
	for id := range led.answered {
		if !stored[id] {
			unanswered = append(unanswered, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("round %d: %d CDRs the API had listed are gone: %v", round, len(lost), lost)
	}
	if len(unanswered) > 0 {
		t.Errorf("round %d: calls answered before the kill without an answered CDR: %v", round, unanswered)
	}

	var system, a, b, queue string
	if err := db.QueryRow(`SELECT (SELECT name FROM system), (SELECT name FROM extensions WHERE number = '150'),
		(SELECT name FROM extensions WHERE number = '151'), (SELECT name FROM queues WHERE id = 'service')`).Scan(&system, &a, &b, &queue); err != nil {
		t.Fatalf("round %d: read the imported names: %v", round, err)
	}
	var gen int
	if _, err := fmt.Sscanf(system, "Gen %d", &gen); err != nil || system != fmt.Sprintf("Gen %d", gen) ||
		a != system+" A" || b != system+" B" || queue != system {
		t.Errorf("round %d: a half-applied import: system %q, extensions %q and %q, queue %q", round, system, a, b, queue)
	}
	if gen < led.imported || gen > led.tried {
		t.Errorf("round %d: the configuration is generation %d; imports %d acknowledged, %d tried", round, gen, led.imported, led.tried)
	}
}
