package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/store"
)

// emptySite is a box just set up: nothing configured, nothing happened.
const emptySite = "version: 1\nsystem: {name: Empty Office}\n"

// TestEmptyListsAreEmptyArrays: every list route of the API answers [] on
// a box with nothing in it, never null (which the page showed as a blank
// card and scripts read as "no answer").
func TestEmptyListsAreEmptyArrays(t *testing.T) {
	e := newSiteEnv(t, emptySite)
	e.auth.AddToken(adminTok, auth.Principal{Login: "token:ci", Role: auth.Admin})
	routes := []string{
		"/api/v1/registrations", "/api/v1/trunks", "/api/v1/extensions", "/api/v1/cdr",
		"/api/v1/agents", "/api/v1/queues", "/api/v1/queuelog", "/api/v1/lines",
	}
	listed := map[string]bool{}
	for _, p := range routes {
		listed[p] = true
		t.Run(p, func(t *testing.T) {
			w := e.req("GET", p, "", "Authorization", "Bearer "+adminTok, "Accept", "application/json")
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", p, w.Code, w.Body)
			}
			if got := strings.TrimSpace(w.Body.String()); got != "[]" {
				t.Errorf("GET %s on an empty box = %s, want []", p, got)
			}
		})
	}
	// Lists that are never empty (the built-in prompts, the default hold
	// music) are still arrays.
	for _, p := range []string{"/api/v1/prompts", "/api/v1/holdmusic"} {
		listed[p] = true
		w := e.req("GET", p, "", "Authorization", "Bearer "+adminTok)
		var v []json.RawMessage
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &v) != nil || v == nil {
			t.Errorf("GET %s = %d %.80s, want a JSON array", p, w.Code, w.Body)
		}
	}
	// A new list route must join this test: every GET route without a
	// path parameter whose summary reads like a list.
	for _, r := range e.srv.Routes() {
		if r.Method != "GET" || strings.Contains(r.Path, "{") || listed[r.Path] || r.File {
			continue
		}
		switch r.Path {
		case "/api/v1/health", "/api/v1/me", "/api/v1/setup", "/api/v1/events", "/api/v1/openapi.json",
			"/api/v1/config", "/api/v1/board": // objects, not lists
			continue
		}
		t.Errorf("GET %s is not checked for its empty answer", r.Path)
	}
}

// TestQueueLogForThePage: the page's viewer asks for JSON and gets the
// entries; a download (curl, a wallboard script) still gets the Asterisk
// queue_log file.
func TestQueueLogForThePage(t *testing.T) {
	e := newEnv(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	for _, en := range []store.QueueLogEntry{
		{Time: at, CallID: "c1", Queue: "service", Agent: "NONE", Event: "ENTERQUEUE", Data: []string{"", "+15550100"}},
		{Time: at.Add(5 * time.Second), CallID: "c1", Queue: "service", Agent: "a1", Event: "CONNECT", Data: []string{"5"}},
	} {
		if err := e.st.InsertQueueLog(t.Context(), en); err != nil {
			t.Fatal(err)
		}
	}
	w := e.req("GET", "/api/v1/queuelog", "", "Authorization", "Bearer "+adminTok, "Accept", "application/json")
	var got []struct {
		Time   time.Time `json:"time"`
		Queue  string    `json:"queue"`
		CallID string    `json:"call_id"`
		Agent  string    `json:"agent"`
		Event  string    `json:"event"`
		Data   []string  `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("queue log for the page = %d %q, not JSON: %v", w.Code, w.Body, err)
	}
	if len(got) != 2 || got[0].Event != "ENTERQUEUE" || got[1].Agent != "a1" || got[1].Event != "CONNECT" || !got[1].Time.Equal(at.Add(5*time.Second)) {
		t.Errorf("queue log for the page = %+v, want ENTERQUEUE then a1's CONNECT", got)
	}
	w = e.req("GET", "/api/v1/queuelog", "", "Authorization", "Bearer "+adminTok, "Accept", "*/*")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(w.Body.String(), "|c1|service|a1|CONNECT|5") {
		t.Errorf("queue log download = %q %q, want the queue_log text", ct, w.Body)
	}
}
