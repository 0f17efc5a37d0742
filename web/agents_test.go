package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
	"ringbox/web/webtest"
)

type apiEnv struct {
	e   *acd.Engine
	srv *httptest.Server
}

// agentSite has agents bob (101, reports to sue), sue (102, manager) and
// ann (103) in queue service.
func agentSite() *site.Site {
	return &site.Site{
		Version:    1,
		System:     site.System{Name: "test"},
		Extensions: []site.Extension{{Number: "101", Name: "Bob"}, {Number: "102", Name: "Sue"}, {Number: "103", Name: "Ann"}},
		Agents: []site.Agent{
			{ID: "bob", Name: "Bob", Extension: "101", ReportsTo: "sue"},
			{ID: "sue", Name: "Sue", Extension: "102", Role: site.RoleManager},
			{ID: "ann", Name: "Ann", Extension: "103"},
		},
		Queues: []site.Queue{{ID: "service", Name: "Service",
			Agents:    []site.QueueAgent{{Agent: "bob"}, {Agent: "sue"}, {Agent: "ann"}},
			AgentRing: site.Duration(15 * time.Second), OnEmpty: "voicemail:service", OnTimeout: "voicemail:timeout"}},
	}
}

func newAPI(t *testing.T) *apiEnv {
	t.Helper()
	cfg, err := config.New(agentSite(), 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := acd.New(acd.Config{Config: cfg, Dialer: calltest.NewDialer(), Store: st, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	a := webtest.NewAuth()
	a.AddToken("admin", auth.Principal{Login: "token:admin", Role: auth.Admin})
	a.AddToken("bob", auth.Principal{Login: "bob", Role: auth.Agent, Agent: "bob"})
	a.AddToken("sue", auth.Principal{Login: "sue", Role: auth.Manager, Agent: "sue"})
	a.AddToken("ann", auth.Principal{Login: "ann", Role: auth.Agent, Agent: "ann"})
	ws := web.New(web.Config{Auth: a, Logger: slog.New(slog.DiscardHandler)})
	for _, r := range web.AgentRoutes(e) {
		ws.HandleRoute(r)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &apiEnv{e: e, srv: srv}
}

func (a *apiEnv) do(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPIRoles(t *testing.T) {
	a := newAPI(t)
	tests := []struct {
		token, method, path, body string
		want                      int
	}{
		{"bob", "POST", "/api/v1/agents/bob/login", "", 200},
		{"bob", "POST", "/api/v1/agents/ann/login", "", 403},                                          // not himself
		{"sue", "POST", "/api/v1/agents/bob/unavailable", `{"reason":"coaching","until":"30m"}`, 200}, // her report
		{"sue", "POST", "/api/v1/agents/ann/login", "", 403},                                          // not her report
		{"admin", "POST", "/api/v1/agents/ann/login", `{"unavailable":true,"reason":"meeting"}`, 200},
		{"admin", "POST", "/api/v1/agents/nobody/login", "", 404},
		{"bob", "POST", "/api/v1/agents/bob/unavailable", `{"until":"yesterday"}`, 400},
		{"bob", "POST", "/api/v1/agents/bob/wrapup", `{"extend":"30s"}`, 409},
		{"bob", "GET", "/api/v1/queues/service/stats", "", 403},
		{"sue", "GET", "/api/v1/queues/service/stats", "", 200},
		{"sue", "GET", "/api/v1/queues/nope/stats", "", 404},
		{"bob", "GET", "/api/v1/queues/service", "", 200},
	}
	for _, tt := range tests {
		if got, body := a.do(t, tt.token, tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s %s %s as %s = %d (%s), want %d", tt.method, tt.path, tt.body, tt.token, got, body, tt.want)
		}
	}
	_, body := a.do(t, "sue", "GET", "/api/v1/agents", "")
	var list []acd.AgentInfo
	json.Unmarshal([]byte(body), &list)
	var ids []string
	for _, ag := range list {
		ids = append(ids, ag.ID)
	}
	if fmt.Sprint(ids) != "[bob sue]" {
		t.Errorf("sue sees agents %v, want herself and bob", ids)
	}
	_, body = a.do(t, "admin", "GET", "/api/v1/agents/ann", "")
	var ann acd.AgentInfo
	json.Unmarshal([]byte(body), &ann)
	if ann.Status != acd.Unavailable || ann.Reason != "meeting" {
		t.Errorf("ann after login unavailable: %+v", ann)
	}
	_, body = a.do(t, "admin", "GET", "/api/v1/agents/bob", "")
	var bob acd.AgentInfo
	json.Unmarshal([]byte(body), &bob)
	if bob.Reason != "coaching" || bob.Until.Sub(time.Now()) < 29*time.Minute {
		t.Errorf("bob after unavailable for 30m: %+v", bob)
	}
}

func TestAPIQueueLogAndWarning(t *testing.T) {
	a := newAPI(t)
	a.do(t, "admin", "POST", "/api/v1/agents/bob/login", "")
	leg := calltest.NewLeg("caller")
	res := make(chan string, 1)
	go func() {
		res <- a.e.RunQueue(context.Background(), flow.QueueCall{Queue: "service", CallID: "c1", Caller: leg}).Next
	}()
	for {
		if n, _ := a.e.Waiting(context.Background(), ""); n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	code, body := a.do(t, "bob", "POST", "/api/v1/agents/bob/logout", "")
	if code != 200 || !strings.Contains(body, `"warning"`) {
		t.Errorf("last agent logout = %d %s, want a warning", code, body)
	}
	if next := <-res; next != "voicemail:service" {
		t.Errorf("caller went to %q, want on_empty", next)
	}
	code, body = a.do(t, "admin", "GET", "/api/v1/queuelog?from=1h", "")
	if code != 200 || !strings.Contains(body, "|c1|service|NONE|ENTERQUEUE||caller|1\n") || !strings.Contains(body, "|c1|service|NONE|EXITEMPTY|1|1|0\n") {
		t.Errorf("queue log = %d\n%s", code, body)
	}
	leg.Hangup(call.Normal)
}
