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
	"strings"
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
	t.Parallel()
	a := startServe(t, serveOpt{site: demoSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	p := startBaresip(t, "102", "demo-102-secret", box, mediaPorts(t, 100), 700)
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

// hashTail ends the take with '#' and waits for the box to hang up: the
// box plays the take back first, so its BYE comes a take's length later.
const hashTail = `  <pause milliseconds="1000"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>
  <pause milliseconds="7500"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_pound.pcap"/></action></nop>
  <recv request="BYE" timeout="30000"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="500"/>
</scenario>
`

// TestPromptRecordHashPlaysTakeBack: extension 101 (SIPp, digest auth)
// dials *70124, speaks SIPp's 7 s A-law sample, presses # (RFC 2833) and
// stays on the line: the box stores prompt 124, plays the take back and
// only then hangs up.
func TestPromptRecordHashPlaysTakeBack(t *testing.T) {
	// Mostly waiting on real-time audio and timers: it runs beside the
	// other such tests (their RTP ports are apart), which keeps make test
	// short on two cores.
	t.Parallel()
	// The *44 scenario's INVITE and digest handshake, offering A-law only
	// (the sample is A-law), then hashTail instead of its digits and BYE.
	b, err := os.ReadFile(testdata(t, "uac_dtmf_auth.xml"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(b), `  <pause milliseconds="1000"/>`)
	if !ok {
		t.Fatal("uac_dtmf_auth.xml changed: no pause after the ACK")
	}
	head = strings.ReplaceAll(head, "RTP/AVP 0 8 101", "RTP/AVP 8 101")
	head = strings.ReplaceAll(head, "      a=rtpmap:0 PCMU/8000\n", "")
	sf := filepath.Join(t.TempDir(), "uac_record_hash.xml")
	if err := os.WriteFile(sf, []byte(head+hashTail), 0o644); err != nil {
		t.Fatal(err)
	}

	a := startServe(t, serveOpt{site: demoSite(t)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	start := time.Now()
	code, out := sipp(t, 60*time.Second, box, "-sf", sf, "-s", "*70124",
		"-set", "caller", "101", "-au", "101", "-ap", "demo-101-secret", "-m", "1",
		"-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("sipp: exit %d (the box must hang up after playing the take back)\n%s\n%s", code, out, a.log())
	}
	var list []struct {
		ID       string   `json:"id"`
		Duration float64  `json:"duration_seconds"`
		Peak     *float64 `json:"peak_dbfs"`
	}
	a.get("/api/v1/prompts", a.token("manager"), &list)
	take := 0.0
	for _, p := range list {
		if p.ID == "124" && p.Peak != nil {
			take = p.Duration
		}
	}
	if take < 6 || take > 10 {
		t.Fatalf("prompt 124 is %.1f s long, want about the 7 s spoken: %+v", take, list)
	}
	t.Logf("take %.2f s; the box hung up %v after the call began", take, elapsed.Round(time.Millisecond))
	// Without the playback the box would hang up right after the '#'
	// (about 8.5 s in); with it, a take's length later.
	if min := 8*time.Second + time.Duration(0.8*take*float64(time.Second)); elapsed < min {
		t.Errorf("the box hung up %v after the call began, want at least %v: the take was not played back", elapsed.Round(time.Millisecond), min)
	}
}
