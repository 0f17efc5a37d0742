package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
	"ringbox/firmware/store"
	"ringbox/web"
	"ringbox/web/webtest"
)

// fakeCallback records call-back requests and refuses some numbers as the
// flow would.
type fakeCallback struct {
	mu  sync.Mutex
	got []flow.CallbackRequest
}

func (f *fakeCallback) Callback(ctx context.Context, r flow.CallbackRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Extension == "":
		return "", flow.ErrCallbackNoExtension
	case r.Phone == "":
		return "", flow.ErrCallbackNoPhone
	case r.Number == "011449999":
		return "", flow.ErrCallbackForbidden
	}
	f.got = append(f.got, r)
	return "callback-1", nil
}

func TestCallbackAPI(t *testing.T) {
	s := agentSite()
	s.Agents[0].Mobile = "+15550001001" // bob; ann has none
	cfg, err := config.New(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := acd.New(acd.Config{Config: cfg, Dialer: calltest.NewDialer(), Store: st, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	a := webtest.NewAuth()
	a.AddToken("admin", auth.Principal{Login: "token:admin", Role: auth.Admin})
	a.AddToken("bob", auth.Principal{Login: "bob", Role: auth.Agent, Agent: "bob"})
	a.AddToken("sue", auth.Principal{Login: "sue", Role: auth.Manager, Agent: "sue"})
	a.AddToken("ann", auth.Principal{Login: "ann", Role: auth.Agent, Agent: "ann"})
	fc := &fakeCallback{}
	ws := web.New(web.Config{Auth: a, Logger: slog.New(slog.DiscardHandler)})
	ws.AgentDesk(&web.AgentDesk{ACD: e, Store: st, Callback: fc, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(ws.Handler())
	defer srv.Close()
	defer ws.Close()
	post := func(token, agent, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/agents/"+agent+"/callback", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := post("bob", "bob", `{"number":"5551234"}`)
	if code != http.StatusAccepted {
		t.Fatalf("bob's call back: %d %s", code, body)
	}
	var started web.CallbackStarted
	if err := json.Unmarshal([]byte(body), &started); err != nil || started.Call != "callback-1" || started.Phone != "+15550001001" {
		t.Errorf("answer %s (%v)", body, err)
	}
	if len(fc.got) != 1 || fc.got[0] != (flow.CallbackRequest{Extension: "101", Phone: "+15550001001", Number: "5551234", By: "bob"}) {
		t.Errorf("requests %+v", fc.got)
	}
	for _, c := range []struct {
		token, agent, body string
		code               int
		says               string
	}{
		{"sue", "bob", `{"number":"5551234"}`, http.StatusForbidden, "only the agent themself"},    // a manager, not bob
		{"admin", "bob", `{"number":"5551234"}`, http.StatusForbidden, "only the agent themself"},  // nor an admin
		{"ann", "ann", `{"number":"5551234"}`, http.StatusConflict, "no mobile"},                   // ann has no mobile
		{"bob", "bob", `{"number":"011449999"}`, http.StatusForbidden, "may not call that number"}, // permission
		{"bob", "bob", `{}`, http.StatusBadRequest, "missing"},
		{"bob", "bob", `{"number":"1","extra":1}`, http.StatusBadRequest, ""},
	} {
		code, body := post(c.token, c.agent, c.body)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s for %s %s: %d %s; want %d saying %q", c.token, c.agent, c.body, code, body, c.code, c.says)
		}
	}
	// Ann may name a phone to ring instead.
	if code, body := post("ann", "ann", `{"number":"5551234","phone":"102"}`); code != http.StatusAccepted {
		t.Errorf("ann with a phone: %d %s", code, body)
	}
	if n := len(fc.got); n != 2 {
		t.Errorf("%d call backs placed, want 2", n)
	}
}
