package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/library"
)

// TestListsShowLevels: the lists carry each file's duration, peak and RMS
// level; a file that cannot be played has a problem and no level.
func TestListsShowLevels(t *testing.T) {
	e := newLibEnv(t)
	var prompts []library.PromptInfo
	_, resp := e.do("GET", "/api/v1/prompts", managerToken, "", nil)
	if err := json.Unmarshal(resp, &prompts); err != nil {
		t.Fatal(err)
	}
	byID := map[string]library.PromptInfo{}
	for _, p := range prompts {
		byID[p.ID] = p
	}
	// The test files are sines of amplitude 12000: 20·log10(12000/32768).
	if w := byID["welcome"]; w.PeakDBFS == nil || *w.PeakDBFS != -8.7 || *w.RMSDBFS != -11.7 || w.DurationSeconds != 0.5 {
		t.Errorf("welcome = %+v, want 0.5 s at -8.7 dBFS peak, -11.7 dBFS RMS", w)
	}
	if g := byID["goodbye"]; !g.Builtin || g.PeakDBFS == nil || *g.PeakDBFS <= *g.RMSDBFS || *g.RMSDBFS <= library.SilenceDBFS {
		t.Errorf("built-in goodbye = %+v, want a level with the peak over the RMS", g)
	}
	for _, field := range []string{`"peak_dbfs":`, `"rms_dbfs":`, `"duration_seconds":`} {
		if !strings.Contains(string(resp), field) {
			t.Errorf("GET prompts lacks %s: %s", field, resp)
		}
	}

	os.Remove(filepath.Join(e.dir, "moh", "jazz", "1.wav"))
	_, resp = e.do("GET", "/api/v1/holdmusic", managerToken, "", nil)
	var classes []library.ClassInfo
	json.Unmarshal(resp, &classes)
	if tr := classes[0].Tracks[0]; tr.Problem == "" || tr.PeakDBFS != nil {
		t.Errorf("missing track = %+v, want a problem and no level", tr)
	}

	// An upload answers with the level of what was stored (normalised).
	code, resp := e.do("POST", "/api/v1/holdmusic/jazz/tracks", adminToken, "audio/wav", bytes.NewReader(tone(8000, 1, 440, time.Second)))
	var up library.Uploaded
	json.Unmarshal(resp, &up)
	if code != 200 || up.PeakDBFS != -3 || up.RMSDBFS > -5 || up.RMSDBFS < -7 {
		t.Errorf("upload = %d %s, want -3 dBFS peak, about -6 dBFS RMS", code, resp)
	}
	_, resp = e.do("GET", "/api/v1/holdmusic", managerToken, "", nil)
	json.Unmarshal(resp, &classes)
	if tr := classes[0].Tracks[1]; tr.PeakDBFS == nil || *tr.PeakDBFS != -3 || tr.DurationSeconds != 1 {
		t.Errorf("new track listed as %+v, want 1 s at -3 dBFS peak", tr)
	}
}

// get fetches path with extra request headers.
func (e *libEnv) get(path, token string, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, r *http.Response) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAudioRoutesPlayWhatCallsPlay: a browser's <audio> element gets the
// stored WAV (uploaded, built in, hold music), can seek with Range, and
// unknown audio is a 404 in words.
func TestAudioRoutesPlayWhatCallsPlay(t *testing.T) {
	e := newLibEnv(t)
	stored, _ := os.ReadFile(filepath.Join(e.dir, "prompts", "welcome.wav"))

	r := e.get("/api/v1/prompts/welcome/audio", managerToken, nil)
	if b := readBody(t, r); r.StatusCode != 200 || r.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(b, stored) {
		t.Errorf("welcome audio = %d %q, %d bytes; want 200 audio/wav, the stored file's %d bytes", r.StatusCode, r.Header.Get("Content-Type"), len(b), len(stored))
	}
	if r.Header.Get("Accept-Ranges") != "bytes" || r.Header.Get("Last-Modified") == "" {
		t.Errorf("welcome audio headers %v, want Accept-Ranges and Last-Modified", r.Header)
	}
	r = e.get("/api/v1/prompts/welcome/audio", managerToken, map[string]string{"Range": "bytes=8-11"})
	if b := readBody(t, r); r.StatusCode != 206 || string(b) != "WAVE" {
		t.Errorf("range 8-11 = %d %q, want 206 WAVE", r.StatusCode, b)
	}

	// A built-in prompt the site does not replace plays too.
	r = e.get("/api/v1/prompts/goodbye/audio", managerToken, nil)
	b := readBody(t, r)
	pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
	if r.StatusCode != 200 || err != nil || f.Rate != 16000 || f.Channels != 1 || f.Bits != 16 || len(pcm) < 8000 {
		t.Errorf("built-in goodbye = %d, %+v, %d samples, %v; want a 16 kHz mono 16-bit WAV of some length", r.StatusCode, f, len(pcm), err)
	}

	track, _ := os.ReadFile(filepath.Join(e.dir, "moh", "jazz", "1.wav"))
	r = e.get("/api/v1/holdmusic/jazz/tracks/1/audio", managerToken, nil)
	if b := readBody(t, r); r.StatusCode != 200 || !bytes.Equal(b, track) {
		t.Errorf("jazz track 1 = %d, %d bytes; want the stored %d", r.StatusCode, len(b), len(track))
	}

	for _, tt := range []struct{ path, says string }{
		{"/api/v1/prompts/nosuch/audio", `no prompt \"nosuch\"`},
		{"/api/v1/holdmusic/jazz/tracks/2/audio", "has 1 tracks: no track 2"},
		{"/api/v1/holdmusic/jazz/tracks/0/audio", "no track 0"},
		{"/api/v1/holdmusic/jazz/tracks/first/audio", "numbered from 1"},
		{"/api/v1/holdmusic/nosuch/tracks/1/audio", `no hold-music class \"nosuch\"`},
	} {
		r := e.get(tt.path, managerToken, nil)
		if b := readBody(t, r); r.StatusCode != 404 || !strings.Contains(string(b), tt.says) {
			t.Errorf("GET %s = %d %s, want 404 saying %q", tt.path, r.StatusCode, b, tt.says)
		}
	}
	os.Remove(filepath.Join(e.dir, "prompts", "spare.wav"))
	if r := e.get("/api/v1/prompts/spare/audio", managerToken, nil); r.StatusCode != 404 || !strings.Contains(string(readBody(t, r)), "missing") {
		t.Errorf("missing file = %d, want 404 saying it is missing", r.StatusCode)
	}
	if r := e.get("/api/v1/prompts/welcome/audio", "", nil); r.StatusCode != 401 {
		t.Errorf("no token = %d, want 401", r.StatusCode)
	}
}

// TestUploadLimitsInWords: each refusal names its limit.
func TestUploadLimitsInWords(t *testing.T) {
	e := newLibEnv(t)
	tests := []struct {
		name, path, ct string
		body           []byte
		status         int
		says           string
	}{
		{"not audio", "/api/v1/prompts/welcome", "audio/wav", []byte("%PDF-1.7 a document"), 415, "not a WAV or MP3"},
		{"too long for a prompt", "/api/v1/prompts/welcome", "audio/wav", tone(4000, 1, 440, 11*time.Minute), 400, "a prompt may be at most 10 minutes"},
		{"too long for a track", "/api/v1/holdmusic/jazz/tracks", "audio/wav", tone(4000, 1, 440, 31*time.Minute), 400, "a hold-music track may be at most 30 minutes"},
		{"too big", "/api/v1/holdmusic/jazz/tracks", "audio/wav", make([]byte, library.MaxUploadBytes+1), 413, "the limit is 20 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := e.do("POST", tt.path, adminToken, tt.ct, bytes.NewReader(tt.body))
			if code != tt.status || !strings.Contains(string(resp), tt.says) {
				t.Errorf("POST %s = %d %s, want %d saying %q", tt.path, code, resp, tt.status, tt.says)
			}
		})
	}
}

// TestAudioOfFilesNamedByHand: a site may name files the library did not
// write (an MP3, an 8 kHz stereo WAV); they are listed with their level
// and play in the browser as the 16 kHz mono WAV calls hear.
func TestAudioOfFilesNamedByHand(t *testing.T) {
	e := newLibEnv(t)
	e.writeFile("prompts/spare.wav", tone(8000, 2, 440, 2*time.Second))
	e.writeFile("moh/jazz/1.wav", soxFile(t, "t.mp3", 44100, 2, "1.5")) // an MP3 under a .wav name
	_, resp := e.do("GET", "/api/v1/prompts", managerToken, "", nil)
	var prompts []library.PromptInfo
	json.Unmarshal(resp, &prompts)
	for _, p := range prompts {
		if p.ID == "spare" && (p.PeakDBFS == nil || *p.PeakDBFS != -8.7 || p.DurationSeconds != 2) {
			t.Errorf("spare = %+v, want 2 s at -8.7 dBFS peak", p)
		}
	}
	_, resp = e.do("GET", "/api/v1/holdmusic", managerToken, "", nil)
	var classes []library.ClassInfo
	json.Unmarshal(resp, &classes)
	if tr := classes[0].Tracks[0]; tr.PeakDBFS == nil || tr.Problem != "" || tr.DurationSeconds < 1.4 {
		t.Errorf("MP3 track = %+v, want its duration and level", tr)
	}
	for _, path := range []string{"/api/v1/prompts/spare/audio", "/api/v1/holdmusic/jazz/tracks/1/audio"} {
		r := e.get(path, managerToken, nil)
		pcm, f, err := wav.DecodeMono(bytes.NewReader(readBody(t, r)), 0)
		if r.StatusCode != 200 || err != nil || f.Rate != 16000 || f.Channels != 1 || len(pcm) < 16000*14/10 {
			t.Errorf("GET %s = %d, %+v, %d samples, %v; want at least 1.4 s of 16 kHz mono", path, r.StatusCode, f, len(pcm), err)
		}
	}
}
