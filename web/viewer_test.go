package web_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ringbox/firmware/events"
)

// shown is what the page's JSON viewer shows for one answer.
type shown struct {
	Headers []string          `json:"headers,omitempty"`
	Rows    [][]string        `json:"rows,omitempty"`
	Facts   map[string]string `json:"facts,omitempty"`
	Text    *string           `json:"text,omitempty"`
}

// viewer runs app.js's JSON viewer under Node (testdata/viewer.js) on
// each answer, with the page's time zone tz.
func viewer(t *testing.T, tz string, answers ...string) []shown {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (make test installs it): the page's script cannot be run")
	}
	cases := make([]json.RawMessage, len(answers))
	for i, a := range answers {
		cases[i] = json.RawMessage(a)
	}
	in, _ := json.Marshal(map[string]any{"tz": tz, "cases": cases})
	app, _ := filepath.Abs("assets/static/app.js")
	cmd := exec.Command(nodeBin, "testdata/viewer.js", app)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node viewer.js: %v\n%s", err, stderr.Bytes())
	}
	var got []shown
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("viewer output %q: %v", out, err)
	}
	return got
}

func TestViewerShowsWordsNotJSON(t *testing.T) {
	regs := `[{"extension":"101","user_agent":"Yealink T54W","registered_at":"2026-03-01T10:00:05.123456789+01:00",
		"expires":"0001-01-01T00:00:00Z","codecs":["PCMU","PCMA"],"source":{"ip":"192.0.2.7","port":5060,"tls":false},
		"voicemail":true,"contact":"","legs":[{"target":"101","cause":"answered"},{"target":"102","cause":"cancelled"}],"note":null}]`
	got := viewer(t, "Europe/Paris", regs, `[]`, `{"version":3,"loaded":"2026-07-01T12:00:00+02:00","buttons":[]}`, `{"agents":[]}`)
	want := []shown{
		{
			Headers: []string{"Extension", "User agent", "Registered at", "Expires", "Codecs", "Source", "Voicemail", "Contact", "Legs", "Note"},
			Rows: [][]string{{"101", "Yealink T54W", "2026-03-01 10:00:05", "", "PCMU, PCMA", "IP: 192.0.2.7, Port: 5060, TLS: no",
				"yes", "", "Target: 101, Cause: answered; Target: 102, Cause: cancelled", ""}},
		},
		{Text: ptr("None yet.")},
		{Facts: map[string]string{"Version": "3", "Loaded": "2026-07-01 12:00:00", "Buttons": "None yet."}},
		{Text: ptr("None yet.")},
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("the viewer shows\n%s\nwant\n%s", gj, wj)
	}
}

func TestViewerTimesInTheSitesZone(t *testing.T) {
	const at = `[{"start":"2026-01-15T23:30:00Z"}]`
	for _, tt := range []struct{ tz, want string }{
		{"UTC", "2026-01-15 23:30:00"},
		{"America/New_York", "2026-01-15 18:30:00"},
		{"Asia/Tokyo", "2026-01-16 08:30:00"},
		{"Not/AZone", "2026-01-15 23:30:00"}, // the page falls back to UTC
	} {
		got := viewer(t, tt.tz, at)
		if len(got) != 1 || len(got[0].Rows) != 1 || got[0].Rows[0][0] != tt.want {
			t.Errorf("in %s the viewer shows %+v, want %s", tt.tz, got, tt.want)
		}
	}
}

func ptr(s string) *string { return &s }

// TestListRefresh: a burst of refreshes (events arriving together) sends
// one request, and an answer that did not change is not redrawn, so live
// pages neither pile up requests nor flicker; an answer that is a file
// becomes a link and is not fetched again.
func TestListRefresh(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (make test installs it): the page's script cannot be run")
	}
	app, _ := filepath.Abs("assets/static/app.js")
	out, err := exec.Command(nodeBin, "testdata/live.js", app).Output()
	if err != nil {
		t.Fatalf("node live.js: %v", err)
	}
	var got struct {
		Steps []struct {
			Requests int
			Redrawn  bool
			Shows    string
			Link     string
		}
		Events map[string][]string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("live.js output %q: %v", out, err)
	}
	if len(got.Steps) != 4 {
		t.Fatalf("steps = %+v", got.Steps)
	}
	if s := got.Steps[0]; s.Requests != 1 || s.Shows != "Extension101" {
		t.Errorf("three refreshes at once: %d requests, shows %q; want 1 request showing extension 101", s.Requests, s.Shows)
	}
	if s := got.Steps[1]; s.Requests != 2 || s.Redrawn {
		t.Errorf("same answer again: %d requests, redrawn %v; want 2 requests, not redrawn", s.Requests, s.Redrawn)
	}
	if s := got.Steps[2]; !s.Redrawn || s.Shows != "Extension101102" {
		t.Errorf("new answer: redrawn %v, shows %q; want redrawn with 101 and 102", s.Redrawn, s.Shows)
	}
	if s := got.Steps[3]; s.Requests != 1 || s.Shows != "Download" || s.Link != "/api/v1/backup" {
		t.Errorf("a file answer, loaded twice: %d requests, shows %q linking %q; want 1 request and a Download link", s.Requests, s.Shows, s.Link)
	}
	// Every event a page waits for is one the box publishes.
	published := map[string]bool{}
	for _, p := range []events.Payload{events.CallStarted{}, events.CallAnswered{}, events.CallEnded{}, events.CallDTMF{},
		events.RecordingStopped{}, events.ScheduleOverride{}, events.PresenceChanged{}, events.SIPRegistered{},
		events.SIPUnregistered{}, events.AgentStatus{}, events.AgentState{}, events.AgentMaxNoAnswer{}, events.QueueCaller{},
		events.QueueEmptyWarning{}, events.ConfigChanged{}, events.BoardButton{}, events.UserLogin{}} {
		published[p.Type()] = true
	}
	for sec, types := range got.Events {
		for _, want := range types {
			found := false
			for typ := range published {
				if typ == want || (strings.HasSuffix(want, ".") && strings.HasPrefix(typ, want)) {
					found = true
				}
			}
			if !found {
				t.Errorf("the %s page refreshes on %q, which no event is", sec, want)
			}
		}
	}
}
