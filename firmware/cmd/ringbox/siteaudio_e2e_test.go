package main

// Audio named in the site file, end to end: the installer's MP3 sits next
// to the site file; check finds what is wrong with it, import stores it in
// the box, and a carrier's caller hears it after the site file's directory
// is gone.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// announceSite is a site whose DID +15551230000 plays prompt greeting,
// from file, then hangs up. The carrier is 127.0.0.2.
func announceSite(file string) string {
	return fmt.Sprintf(`version: 1
system: {name: Audio E2E, timezone: UTC}
extensions:
  - {number: "101", name: Bob, secret: "bob-audio-secret-101"}
announcements:
  - {id: closed, prompt: greeting, next: hangup}
trunks:
  - {id: carrier, host: "127.0.0.2", transport: udp}
inbound:
  - {match: "+15551230000", to: announce:closed}
prompts:
  - {id: greeting, file: %s}
`, file)
}

// callAnnouncement calls the DID from the carrier and returns what the
// caller heard until the box hung up.
func callAnnouncement(t *testing.T, a *appliance, rtpLo int) ([]int16, int) {
	t.Helper()
	c := startBaresipCarrier(t, "127.0.0.2", rtpLo, 500)
	c.command("dial", fmt.Sprintf("sip:+15551230000@127.0.0.1:%d", a.sipPort))
	if _, ok := c.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("the box did not answer the carrier's call\n%s", a.log())
	}
	if _, ok := c.waitEvent("CALL_CLOSED", 20*time.Second); !ok {
		t.Fatalf("the box did not hang up after the announcement\n%s", a.log())
	}
	time.Sleep(500 * time.Millisecond) // sndfile closes its files
	got, rate, err := c.received()
	if err != nil {
		t.Fatal(err)
	}
	return got, rate
}

// TestAnnouncementPlaysMP3NamedInSiteFile: the MP3 next to the site file is
// imported with it; the site file's directory is deleted; a caller on the
// trunk hears the announcement.
func TestAnnouncementPlaysMP3NamedInSiteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := spokenMP3(t, "Thank you for calling Acme Dental. We are closed for the holiday.", filepath.Join(dir, "closed.mp3"))
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, []byte(announceSite("closed.mp3")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, e, code := ringbox(t, "check", site); code != 0 {
		t.Fatalf("check: %d %s %s", code, out, e)
	}
	data := t.TempDir()
	if out, e, code := ringbox(t, "import", site, "--data", data); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, e)
	}
	// The data directory is self-contained: the installer's files may go.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{data: data})
	got, rate := callAnnouncement(t, a, mediaPorts(t, 100))
	checkHeard(t, got, rate, want)
}

// TestServeSiteAndAPIImportCarryAudio: serve --site imports the audio next
// to the site file on first start; the API import takes a site and its
// audio in one multipart upload, refuses a site whose audio is missing
// without changing anything, and the next call plays the new prompt.
func TestServeSiteAndAPIImportCarryAudio(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := spokenMP3(t, "Good morning, this is the first greeting.", filepath.Join(dir, "first.mp3"))
	site := filepath.Join(dir, "site.yaml")
	os.WriteFile(site, []byte(announceSite("first.mp3")), 0o600)
	a := startServe(t, serveOpt{site: site})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	tok := a.token("admin")

	second := filepath.Join(t.TempDir(), "second.mp3")
	want := spokenMP3(t, "Hello. You have reached the second greeting, recorded later.", second)
	mp3, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	post := func(files map[string][]byte) (int, string) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for name, b := range files {
			w, _ := mw.CreateFormFile(name, filepath.Base(name))
			w.Write(b)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", a.base+"/api/v1/site/import", &body)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	before, _, _ := ringbox(t, "export", "--data", a.data)
	// The site names audio/second.mp3, which is not sent: refused, with
	// the line, and nothing changes.
	code, out := post(map[string][]byte{"site": []byte(announceSite("audio/second.mp3"))})
	if code != 400 || !strings.Contains(out, `"line":12`) || !strings.Contains(out, "audio/second.mp3") {
		t.Errorf("import without its audio = %d %s, want 400 naming line 12 and the file", code, out)
	}
	if after, _, _ := ringbox(t, "export", "--data", a.data); after != before {
		t.Errorf("a refused import changed the site:\n%s", after)
	}

	code, out = post(map[string][]byte{"site": []byte(announceSite("audio/second.mp3")), "audio/second.mp3": mp3})
	if code != 200 {
		t.Fatalf("import with its audio = %d %s", code, out)
	}
	var ch struct {
		Version int64
		Kinds   []struct {
			Kind    string
			Changed []string
		}
	}
	if err := json.Unmarshal([]byte(out), &ch); err != nil || len(ch.Kinds) != 1 || ch.Kinds[0].Kind != "prompts" {
		t.Errorf("import answer = %s, want the prompts changed", out)
	}
	if !a.waitLog("changed prompts greeting", 5*time.Second) {
		t.Fatalf("serve did not reload the new prompt\n%s", a.log())
	}
	got, rate := callAnnouncement(t, a, mediaPorts(t, 100))
	checkHeard(t, got, rate, want)
	if c, _ := envelopeMatch(first, 8000, got, rate); c > 0.6 {
		t.Errorf("the caller heard the first greeting too (correlation %.2f)", c)
	}
}

// TestCheckAndImportReportAudioProblems: a missing file and a file that is
// not audio are reported with their lines by check and by import; the
// import changes nothing; a good site exported with -o carries its audio
// and imports again with no changes.
func TestCheckAndImportReportAudioProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spokenMP3(t, "Welcome.", filepath.Join(dir, "welcome.mp3"))
	os.WriteFile(filepath.Join(dir, "notes.mp3"), []byte("these are my notes, not audio"), 0o644)
	bad := `version: 1
system: {name: Audio Problems, timezone: UTC}
ivrs:
  - id: main
    greeting: welcome
    options: {"1": hangup}
    invalid: sorry
prompts:
  - {id: welcome, file: welcome.mp3}
  - {id: sorry, file: sorry.mp3}
hold_music:
  - id: jazz
    files: [welcome.mp3, notes.mp3]
`
	site := filepath.Join(dir, "site.yaml")
	os.WriteFile(site, []byte(bad), 0o600)
	_, e, code := ringbox(t, "check", site)
	if code != 1 {
		t.Fatalf("check of a site with bad audio: exit %d\n%s", code, e)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`site\.yaml:10: prompts\[1\]\.file: .*sorry\.mp3.*(missing|no such file)`),
		regexp.MustCompile(`site\.yaml:13: hold_music\[0\]\.files\[1\]: .*notes\.mp3.*(not a WAV or MP3|no audio frames)`),
	} {
		if !want.MatchString(e) {
			t.Errorf("check output lacks %s:\n%s", want, e)
		}
	}
	if strings.Contains(e, "prompts[0]") || strings.Contains(e, "files[0]") {
		t.Errorf("check reports a good file:\n%s", e)
	}

	data := t.TempDir()
	good := strings.NewReplacer("    invalid: sorry\n", "", "  - {id: sorry, file: sorry.mp3}\n", "", "notes.mp3", "welcome.mp3").Replace(bad)
	goodSite := filepath.Join(dir, "good.yaml")
	os.WriteFile(goodSite, []byte(good), 0o600)
	if out, e, code := ringbox(t, "import", goodSite, "--data", data); code != 0 {
		t.Fatalf("import of the good site: %d %s %s", code, out, e)
	}
	before, _, _ := ringbox(t, "export", "--data", data)
	filesBefore := dirFiles(t, data)
	_, e, code = ringbox(t, "import", site, "--data", data)
	if code != 1 || !strings.Contains(e, "site.yaml:10:") || !strings.Contains(e, "site.yaml:13:") || !strings.Contains(e, "nothing changed") {
		t.Errorf("import of a site with bad audio: exit %d\n%s", code, e)
	}
	if after, _, _ := ringbox(t, "export", "--data", data); after != before {
		t.Errorf("a refused import changed the site:\n%s", after)
	}
	if after := dirFiles(t, data); after != filesBefore {
		t.Errorf("a refused import changed the audio files:\n%s\nwant\n%s", after, filesBefore)
	}

	// Export with -o writes the audio beside the site; the copy checks and
	// imports with no changes once the installer's directory is gone.
	os.RemoveAll(dir)
	out := filepath.Join(t.TempDir(), "backup", "site.yaml")
	if _, e, code := ringbox(t, "export", "--data", data, "-o", out); code != 0 {
		t.Fatalf("export -o: %d %s", code, e)
	}
	if _, e, code := ringbox(t, "check", out); code != 0 {
		t.Fatalf("the exported site does not check: %s", e)
	}
	if stdout, e, code := ringbox(t, "import", out, "--data", data); code != 0 || !strings.Contains(stdout, "no changes") {
		t.Errorf("re-import of the export: %d %s %s", code, stdout, e)
	}
	if after := dirFiles(t, data); after != filesBefore {
		t.Errorf("re-importing the export changed the audio files:\n%s\nwant\n%s", after, filesBefore)
	}
}

// dirFiles lists the files under dir other than the database, with sizes
// and times, one a line.
func dirFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasPrefix(fi.Name(), "ringbox.db") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %d %s\n", rel, fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	return b.String()
}
