package web_test

import (
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/cdr"
	"ringbox/firmware/store"
)

// teamActivity records a day of al (mona's team) and bea (max's team) in
// the store, on the test clock's day (2026-03-01, Paris).
func teamActivity(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	for _, a := range []store.AgentActivity{
		{Time: at(7, 0), Agent: "a1", Status: "available", State: "idle", Source: "web"},
		{Time: at(7, 10), Agent: "a1", Status: "available", State: "offered"},
		{Time: at(7, 11), Agent: "a1", Status: "available", State: "on_call"},
		{Time: at(7, 15), Agent: "a1", Status: "available", State: "wrapup"},
		{Time: at(7, 16), Agent: "a1", Status: "unavailable", State: "idle", Reason: "=lunch", Source: "button"},
		{Time: at(7, 30), Agent: "b1", Status: "available", State: "idle", Source: "api"},
	} {
		if err := e.st.InsertAgentActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []store.QueueLogEntry{
		{Time: at(7, 9), Queue: "service", CallID: "q1", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: at(7, 10), Queue: "service", CallID: "q1", Agent: "a3", Event: "RINGNOANSWER", Data: []string{"15000", "declined"}},
		{Time: at(7, 11), Queue: "service", CallID: "q1", Agent: "a1", Event: "CONNECT", Data: []string{"12", "leg", "1"}},
		{Time: at(7, 20), Queue: "service", CallID: "q2", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: at(7, 21), Queue: "service", CallID: "q2", Agent: "NONE", Event: "ABANDON", Data: []string{"1", "1", "60"}},
		{Time: at(7, 40), Queue: "sales", CallID: "s1", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: at(7, 41), Queue: "sales", CallID: "s1", Agent: "b1", Event: "CONNECT", Data: []string{"50", "leg", "1"}},
	} {
		if err := e.st.InsertQueueLog(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", body, err)
	}
	return rows
}

func TestReportsPage(t *testing.T) {
	e := newTeamsEnv(t)
	e.clock.Advance(3 * time.Hour) // 12:00 in Paris, the day's activity behind
	teamActivity(t, e)
	mona := e.login("mona", managerPW)
	al := e.login("al", agentPW)
	admin := e.login("root", adminPW)

	w := e.req("GET", "/reports", "", "Cookie", mona)
	if w.Code != 200 {
		t.Fatalf("mona's report = %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		`value="2026-03-01"`, // the default period is today, in the site's zone
		"<th scope=\"row\">Al</th><td>1</td><td>1</td><td>0</td><td>0</td><td>0:04:00</td><td>0:01:00</td>", // al: offered, answered, missed, declined, talk, wrap-up
		"<th scope=\"row\">Ann</th><td>1</td><td>0</td><td>0</td><td>1</td>",                                // ann declined
		"Unavailable (=lunch)",           // the reason in the timeline
		"2026-03-01 08:16:00",            // and its time in Paris, to the second
		"<td>2</td><td>1</td><td>1</td>", // service: offered, answered, abandoned
		"100.0%",                         // answered after 12 s, within the default 20 s
		`<svg`, `aria-label="Queue offers per agent`, `Al&#39;s activity`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("mona's report lacks %q", want)
		}
	}
	for _, lacks := range []string{"Bea", "sales"} {
		if strings.Contains(body, lacks) {
			t.Errorf("mona's report shows the other team's %q", lacks)
		}
	}

	// Exports: one table each, in scope, formula-safe.
	w = e.req("GET", "/reports?from=2026-03-01&to=2026-03-01&format=csv&table=agents", "", "Cookie", mona)
	rows := readCSV(t, w.Body.String())
	if len(rows) != 5 || rows[0][0] != "agent" || rows[1][0] != "m1" || rows[2][0] != "a1" || rows[2][6] != "240" {
		t.Errorf("agents CSV = %q, want mona's four agents, al with 240 s of talk", rows)
	}
	w = e.req("GET", "/reports?format=csv&table=activity", "", "Cookie", mona)
	if body := w.Body.String(); !strings.Contains(body, "'=lunch") || strings.Contains(body, "b1") {
		t.Errorf("activity CSV = %q, want the reason defused and no other team", body)
	}
	w = e.req("GET", "/reports?format=csv&table=queues", "", "Cookie", admin)
	if rows := readCSV(t, w.Body.String()); len(rows) != 3 || rows[2][0] != "sales" || rows[2][7] != "0.0" {
		t.Errorf("admin's queues CSV = %q, want both queues, sales answered after 50 s: 0%%", rows)
	}

	// Agents do not get the link in the navigation, managers do.
	if b := e.req("GET", "/calls", "", "Cookie", al).Body.String(); strings.Contains(b, `href="/reports"`) {
		t.Errorf("al's navigation links to the reports")
	}
	if !strings.Contains(body, `href="/reports" aria-current="page"`) {
		t.Errorf("mona's navigation lacks the reports, current")
	}
	// An agent may not see reports; a bad period says what is wrong.
	if w := e.req("GET", "/reports", "", "Cookie", al); w.Code != http.StatusForbidden {
		t.Errorf("al's report = %d, want 403", w.Code)
	}
	if w := e.req("GET", "/reports?from=2026-03-05&to=2026-03-01", "", "Cookie", mona); w.Code != 400 || !strings.Contains(w.Body.String(), "to must not be before from") {
		t.Errorf("reversed period = %d, want 400 with the reason", w.Code)
	}

	// A day with nothing: every table says so.
	w = e.req("GET", "/reports?from=2026-02-01&to=2026-02-01", "", "Cookie", mona)
	if n := strings.Count(w.Body.String(), "None yet."); n < 4 {
		t.Errorf("an empty day shows %d \"None yet.\", want one per agent timeline at least", n)
	}
}

func TestCallsPage(t *testing.T) {
	e := newTeamsEnv(t)
	teamCalls(t, e.st)
	mona := e.login("mona", managerPW)
	al := e.login("al", agentPW)
	max := e.login("max", managerPW)

	w := e.req("GET", "/calls", "", "Cookie", mona)
	if w.Code != 200 {
		t.Fatalf("mona's calls = %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{"15550001", "15550002", "2026-03-01 09:00:00" /* 08:00 UTC in Paris */, "queue:service"} {
		if !strings.Contains(body, want) {
			t.Errorf("mona's calls lack %q", want)
		}
	}
	if strings.Contains(body, "15550003") {
		t.Errorf("mona's calls show bea's call")
	}
	// Search within the scope.
	w = e.req("GET", "/calls?from=2026-03-01&to=2026-03-01&outcome=unanswered", "", "Cookie", mona)
	if b := w.Body.String(); !strings.Contains(b, "15550002") || strings.Contains(b, "15550001") {
		t.Errorf("mona's unanswered calls: want joe's only")
	}
	w = e.req("GET", "/calls?extension=201", "", "Cookie", mona)
	if b := w.Body.String(); strings.Contains(b, "15550003") || !strings.Contains(b, "None yet.") {
		t.Errorf("mona searching bea's extension: want none")
	}
	// The export link exports what was searched.
	w = e.req("GET", "/calls?extension=104", "", "Cookie", mona)
	if b := w.Body.String(); !strings.Contains(b, `href="/calls?extension=104&amp;format=csv"`) {
		t.Errorf("the export link does not keep the search")
	}
	w = e.req("GET", "/calls?agent=a1&format=csv", "", "Cookie", al)
	if rows := readCSV(t, w.Body.String()); len(rows) != 2 || rows[1][0] != "c-al" {
		t.Errorf("al's CSV = %q, want his one call", rows)
	}
	w = e.req("GET", "/calls?format=csv", "", "Cookie", max)
	if rows := readCSV(t, w.Body.String()); len(rows) != 2 || rows[1][0] != "c-bea" {
		t.Errorf("max's CSV = %q, want bea's call only", rows)
	}
	if w := e.req("GET", "/calls?outcome=maybe", "", "Cookie", mona); w.Code != 400 || !strings.Contains(w.Body.String(), "outcome") {
		t.Errorf("bad outcome = %d, want 400 naming it", w.Code)
	}
	if w := e.req("GET", "/calls?from=2026-02-01&to=2026-02-01", "", "Cookie", mona); !strings.Contains(w.Body.String(), "None yet.") {
		t.Errorf("a day without calls does not say None yet.")
	}
}

func TestRecordingScope(t *testing.T) {
	e := newTeamsEnv(t)
	recDir := filepath.Join(e.dir, "recordings", "2026-03-01")
	if err := os.MkdirAll(recDir, 0o750); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct{ id, agent, file string }{
		{"r-al", "a1", filepath.Join(recDir, "r-al.wav")},
		{"r-bea", "b1", filepath.Join(recDir, "r-bea.wav")},
		{"r-evil", "a1", "/etc/passwd"}, // a record naming a file outside the recordings
	} {
		os.WriteFile(filepath.Join(recDir, c.id+".wav"), []byte("RIFF"+c.id), 0o640)
		if err := e.st.InsertCDR(t.Context(), cdr.Record{CallID: c.id, Caller: "+1555", Callee: "5000", Direction: "inbound", Start: at, End: at.Add(time.Minute),
			Cause: "normal", Agent: c.agent, AnsweredBy: "agent:" + c.agent, Recording: c.file}); err != nil {
			t.Fatal(err)
		}
	}
	mona := e.login("mona", managerPW)
	for _, tt := range []struct {
		who, id string
		code    int
		body    string
	}{
		{"t-mona", "r-al", 200, "RIFFr-al"},
		{"t-al", "r-al", 200, "RIFFr-al"},
		{"t-mona", "r-bea", 403, "agents who report to you"},
		{"t-al", "r-bea", 403, ""},
		{"t-max", "r-bea", 200, "RIFFr-bea"},
		{"t-admin", "r-bea", 200, "RIFFr-bea"},
		{"t-mona", "nosuch", 404, ""},
		{"t-admin", "r-evil", 404, ""},
	} {
		w := e.req("GET", "/api/v1/calls/"+tt.id+"/recording", "", "Authorization", "Bearer "+tt.who)
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.body) {
			t.Errorf("%s: recording of %s = %d %q, want %d %q", tt.who, tt.id, w.Code, w.Body, tt.code, tt.body)
		}
	}
	// The page's player uses the session cookie; ?download=1 saves it.
	w := e.req("GET", "/api/v1/calls/r-al/recording?download=1", "", "Cookie", mona)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") || w.Header().Get("Content-Type") != "audio/wav" {
		t.Errorf("download = %d %v", w.Code, w.Header())
	}
	if b := e.req("GET", "/calls", "", "Cookie", mona).Body.String(); !strings.Contains(b, `src="/api/v1/calls/r-al/recording"`) {
		t.Errorf("the calls page has no player for al's recording")
	}
}

func TestVoicemailOwner(t *testing.T) {
	site := strings.Replace(teamsSite, `{number: "101", name: Al}`, `{number: "101", name: Al, voicemail: true}`, 1)
	site = strings.Replace(site, `{number: "201", name: Bea}`, `{number: "201", name: Bea, voicemail: true}`, 1)
	e := newSiteEnv(t, site)
	e.auth.AddUser("root", adminPW, "admin", "")
	e.auth.AddUser("al", agentPW, "agent", "a1")
	e.auth.AddUser("mona", managerPW, "manager", "m1")
	ctx := t.Context()
	dir := filepath.Join(e.dir, "voicemail")
	os.MkdirAll(filepath.Join(dir, "101"), 0o750)
	os.MkdirAll(filepath.Join(dir, "201"), 0o750)
	leave := func(box, caller string) int64 {
		rel := filepath.Join("voicemail", box, caller+".wav")
		os.WriteFile(filepath.Join(e.dir, rel), []byte("RIFF"+caller), 0o640)
		id, err := e.st.InsertVoicemail(ctx, store.VoicemailMessage{Box: box, Time: time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC),
			Caller: caller, Duration: 12 * time.Second, File: rel})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	alMsg := leave("101", "+15550101")
	beaMsg := leave("201", "+15550201")
	al := e.login("al", agentPW)
	mona := e.login("mona", managerPW)

	b := e.req("GET", "/calls", "", "Cookie", al).Body.String()
	if !strings.Contains(b, "15550101") || strings.Contains(b, "15550201") || !strings.Contains(b, "<strong>new</strong>") ||
		!strings.Contains(b, "2026-03-01 09:30:00") {
		t.Errorf("al's page should list his one new message, left at 09:30 Paris time")
	}
	if b := e.req("GET", "/calls", "", "Cookie", mona).Body.String(); strings.Contains(b, "15550101") {
		t.Errorf("mona hears her team's voicemail; a mailbox is its owner's")
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	if w := e.req("GET", "/api/v1/voicemail/"+id(beaMsg)+"/audio", "", "Cookie", al); w.Code != 403 {
		t.Errorf("al playing bea's message = %d, want 403", w.Code)
	}
	// Seeking is not listening: the message stays new.
	if w := e.req("GET", "/api/v1/voicemail/"+id(alMsg)+"/audio", "", "Cookie", al, "Range", "bytes=4-"); w.Code != 206 || w.Body.String() != "+15550101" {
		t.Errorf("al seeking in his message = %d %q", w.Code, w.Body)
	}
	if msgs, _ := e.st.ListVoicemail(ctx, "101"); len(msgs) != 1 || msgs[0].Heard {
		t.Errorf("after seeking the message is %+v, want still new", msgs)
	}
	// A browser's player asks from byte 0.
	if w := e.req("GET", "/api/v1/voicemail/"+id(alMsg)+"/audio", "", "Cookie", al, "Range", "bytes=0-"); w.Code != 206 || w.Body.String() != "RIFF+15550101" {
		t.Errorf("al playing his message = %d %q", w.Code, w.Body)
	}
	msgs, _ := e.st.ListVoicemail(ctx, "101")
	if len(msgs) != 1 || !msgs[0].Heard {
		t.Errorf("after listening in the browser the message is %+v, want heard", msgs)
	}

	// Delete: the owner only, from the page (same origin), file and all.
	del := func(cookie string, n int64) int {
		return e.req("POST", "/calls/voicemail/"+id(n)+"/delete", "", "Cookie", cookie, "Origin", "http://example.com").Code
	}
	if code := del(mona, alMsg); code != 403 {
		t.Errorf("mona deleting al's message = %d, want 403", code)
	}
	if code := del(al, beaMsg); code != 403 {
		t.Errorf("al deleting bea's message = %d, want 403", code)
	}
	if code := del(al, alMsg); code != http.StatusSeeOther {
		t.Errorf("al deleting his message = %d, want 303 back to the page", code)
	}
	if msgs, _ := e.st.ListVoicemail(ctx, "101"); len(msgs) != 0 {
		t.Errorf("after delete: %d messages", len(msgs))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "voicemail", "101", "+15550101.wav")); !os.IsNotExist(err) {
		t.Errorf("the message's file is still there: %v", err)
	}
	if msgs, _ := e.st.ListVoicemail(ctx, "201"); len(msgs) != 1 {
		t.Errorf("bea's message was touched")
	}
}
