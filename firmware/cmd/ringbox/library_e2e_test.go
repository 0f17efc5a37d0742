package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/audio/wav"
)

// TestUploadGreetingReplacesBuiltIn uploads an installer's MP3 greeting as
// main-menu to the running appliance, as the web page does, and checks that
// the site names the stored file and the file is the 16 kHz WAV calls play.
func TestUploadGreetingReplacesBuiltIn(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sox"); err != nil {
		t.Fatalf("sox is required to make the test greeting (make test installs it): %v", err)
	}
	mp3 := filepath.Join(t.TempDir(), "greeting.mp3")
	if out, err := exec.Command("sox", "-n", "-r", "44100", "-c", "2", mp3, "synth", "2", "sine", "440", "gain", "-6").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	body, err := os.ReadFile(mp3)
	if err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: demoSite(t)})
	tok := a.token("admin")
	before, _, _ := ringbox(t, "export", "--data", a.data)

	upload := func(path, contentType string, b []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", a.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	// A picture instead of audio is refused and changes nothing.
	if code, msg := upload("/api/v1/prompts/main-menu", "audio/mpeg", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")); code != 415 || !strings.Contains(msg, "PNG") {
		t.Errorf("PNG upload = %d %s, want 415 naming PNG", code, msg)
	}
	if after, _, _ := ringbox(t, "export", "--data", a.data); after != before {
		t.Errorf("a refused upload changed the site:\n%s", after)
	}

	code, msg := upload("/api/v1/prompts/main-menu", "audio/mpeg", body)
	if code != 200 || !strings.Contains(msg, `"file":"prompts/main-menu.wav"`) {
		t.Fatalf("upload = %d %s", code, msg)
	}
	out, errOut, rc := ringbox(t, "export", "--data", a.data)
	if rc != 0 || !strings.Contains(out, "prompts:\n  - {id: main-menu, file: prompts/main-menu.wav}") {
		t.Errorf("export after upload: %d %s\n%s", rc, errOut, out)
	}
	f, err := os.Open(filepath.Join(a.data, "prompts", "main-menu.wav"))
	if err != nil {
		t.Fatalf("stored greeting: %v", err)
	}
	defer f.Close()
	r, err := wav.NewReader(f)
	if err != nil || r.Rate != 16000 || r.Channels != 1 || r.Bits != 16 {
		t.Errorf("stored greeting: %+v, %v; want 16 kHz mono 16-bit", r, err)
	}
	// The running appliance sees the change like any other.
	if !a.waitLog("configuration changed", 5*time.Second) {
		t.Errorf("serve did not reload the configuration after the upload")
	}
	var list []struct {
		ID   string `json:"id"`
		File string `json:"file"`
	}
	if code := a.get("/api/v1/prompts", tok, &list); code != 200 || len(list) == 0 || list[0].ID != "main-menu" || list[0].File != "prompts/main-menu.wav" {
		t.Errorf("GET prompts = %d %+v, want main-menu first with its file", code, list)
	}
}
