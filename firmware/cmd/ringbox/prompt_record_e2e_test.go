package main

// Recording a prompt from a phone end to end: an extension's softphone
// dials *70 and the prompt id, talks, hangs up, and the web console then
// lists and plays the take.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ringbox/audio/wav"
)

// TestPromptRecordFromPhone: baresip registered as 102 (demo site) dials
// *70123, sends a 700 Hz tone for about three seconds after the beep and
// hangs up. Prompt 123 is then in GET /api/v1/prompts with a duration and
// a level, the stored file is the 16 kHz WAV calls play, and the audio
// route plays the tone back.
func TestPromptRecordFromPhone(t *testing.T) {
	a := startServe(t, serveOpt{site: demoSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	p := startBaresip(t, "102", "demo-102-secret", box, 32600, 700)
	registered := "102@127.0.0.1: {0/UDP/v4} 200 OK"
	deadline := time.Now().Add(10 * time.Second)
	for !p.outputContains(registered) {
		if time.Now().After(deadline) {
			t.Fatal("baresip 102 did not register")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.command("dial", "sip:*70123@"+box)
	if _, ok := p.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("call to *70123 not established\n%s", a.log())
	}
	time.Sleep(4 * time.Second) // the beep (about 0.3 s), then the take
	p.command("hangup", "")
	if _, ok := p.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("call to *70123 did not close")
	}
	if !a.waitLog("prompt recorded from a phone", 10*time.Second) {
		t.Fatalf("the box did not log the recording\n%s", a.log())
	}

	mgr := a.token("manager")
	var list []struct {
		ID       string   `json:"id"`
		File     string   `json:"file"`
		Duration float64  `json:"duration_seconds"`
		Peak     *float64 `json:"peak_dbfs"`
		RMS      *float64 `json:"rms_dbfs"`
	}
	if code := a.get("/api/v1/prompts", mgr, &list); code != 200 {
		t.Fatalf("GET prompts = %d", code)
	}
	found := false
	for _, pr := range list {
		if pr.ID != "123" {
			continue
		}
		found = true
		if pr.File != "prompts/123.wav" || pr.Duration < 2 || pr.Duration > 5 || pr.Peak == nil || pr.RMS == nil || *pr.Peak > -3 || *pr.Peak < -3.5 || *pr.RMS < -20 {
			t.Errorf("prompt 123 = %+v (peak %v, rms %v), want prompts/123.wav of about 3.5 s, a -3 dBFS peak and a tone's RMS", pr, deref(pr.Peak), deref(pr.RMS))
		}
	}
	if !found {
		t.Fatalf("prompt 123 not listed: %+v", list)
	}
	if !a.waitLog("configuration changed", 5*time.Second) {
		t.Errorf("serve did not reload the configuration after the recording")
	}

	req, _ := http.NewRequest("GET", a.base+"/api/v1/prompts/123/audio", nil)
	req.Header.Set("Authorization", "Bearer "+mgr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("GET prompt audio = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	pcm, f, err := wav.DecodeMono(bytes.NewReader(body), 0)
	if err != nil || f.Rate != 16000 || f.Channels != 1 {
		t.Fatalf("prompt audio: %+v, %v; want a 16 kHz mono WAV", f, err)
	}
	if share := toneShare(pcm, f.Rate, 700); share < 0.5 {
		t.Errorf("700 Hz is %.0f%% of the recorded prompt, want it to dominate", 100*share)
	}
	stored, _ := os.ReadFile(filepath.Join(a.data, "prompts", "123.wav"))
	if !bytes.Equal(stored, body) {
		t.Errorf("the audio route served %d bytes, not the stored file's %d", len(body), len(stored))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
