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
	"time"

	"github.com/coder/websocket"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/ring"
	"ringbox/firmware/store"
	"ringbox/web"
	"ringbox/web/webtest"
)

// fakeHub is a browser phone hub that records what pages send.
type fakeHub struct {
	mu       sync.Mutex
	got      []web.PhoneSignal
	attached map[string]web.PhoneSession
}

func (h *fakeHub) Attach(agent string, s web.PhoneSession) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attached[agent] = s
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.attached, agent)
	}
}

func (h *fakeHub) ReceiveFrom(ctx context.Context, agent string, s web.PhoneSession, sig web.PhoneSignal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, sig)
}

func (h *fakeHub) session(agent string) web.PhoneSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attached[agent]
}

type deskEnv struct {
	e      *acd.Engine
	st     *store.Store
	offers *ring.Offers
	dialer *calltest.Dialer
	auth   *webtest.Auth
	hub    *fakeHub
	bus    *events.Bus
	srv    *httptest.Server
	wg     sync.WaitGroup
}

func newDesk(t *testing.T) *deskEnv {
	t.Helper()
	cfg, err := config.New(agentSite(), 1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.New()
	v := &deskEnv{st: st, dialer: calltest.NewDialer(), auth: webtest.NewAuth(), hub: &fakeHub{attached: map[string]web.PhoneSession{}}}
	v.bus = bus
	v.offers = ring.NewOffers(func(p events.Payload) { bus.Publish(p) })
	v.e = acd.New(acd.Config{Config: cfg, Dialer: v.dialer, Store: st, Bus: bus, Logger: slog.New(slog.DiscardHandler),
		Ringer: &ring.Ringer{Offers: v.offers}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.e.Run(ctx) }()
	v.auth.AddToken("admin", auth.Principal{Login: "token:admin", Role: auth.Admin})
	v.auth.AddToken("bob", auth.Principal{Login: "bob", Role: auth.Agent, Agent: "bob"})
	v.auth.AddToken("ann", auth.Principal{Login: "ann", Role: auth.Agent, Agent: "ann"})
	v.auth.AddToken("sue", auth.Principal{Login: "sue", Role: auth.Manager, Agent: "sue"})
	v.auth.AddUser("root", "pw", auth.Admin, "") // an admin exists: no first-boot setup
	ws := web.New(web.Config{Auth: v.auth, Bus: bus, Logger: slog.New(slog.DiscardHandler)})
	for _, r := range web.AgentRoutes(v.e) {
		ws.HandleRoute(r)
	}
	ws.AgentDesk(&web.AgentDesk{ACD: v.e, Offers: v.offers, Store: st, Phones: v.hub, Logger: slog.New(slog.DiscardHandler)})
	v.srv = httptest.NewServer(ws.Handler())
	t.Cleanup(func() {
		ws.Close()
		v.srv.Close()
		for _, l := range v.dialer.Legs() {
			l.Hangup(call.Normal)
		}
		v.wg.Wait()
		cancel()
		<-done
		st.Close()
	})
	return v
}

func (v *deskEnv) do(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, v.srv.URL+path, strings.NewReader(body))
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

// cookie is a session cookie header for p.
func (v *deskEnv) cookie(t *testing.T, p auth.Principal) string {
	t.Helper()
	tok, err := v.auth.CreateSession(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return web.CookieName + "=" + tok
}

// ringBob puts caller +15550100 (call c1) in queue service with only bob
// logged in; bob's desk phone rings until the test ends. It returns the
// caller's leg.
func (v *deskEnv) ringBob(t *testing.T) *calltest.Leg {
	t.Helper()
	if _, err := v.e.Login(t.Context(), "bob", false, "", time.Time{}, acd.SourceAPI); err != nil {
		t.Fatal(err)
	}
	v.dialer.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob-desk") })
	leg := calltest.NewLeg("caller", calltest.From("+15550100", "Ann Caller"))
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		v.e.RunQueue(context.Background(), flow.QueueCall{Queue: "service", CallID: "c1", Caller: leg})
	}()
	t.Cleanup(func() { leg.Hangup(call.Normal) })
	deadline := time.Now().Add(5 * time.Second)
	for len(v.offers.Live("bob")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("bob's phone never rang")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return leg
}

func TestDeskDecline(t *testing.T) {
	v := newDesk(t)
	v.ringBob(t)
	if code, body := v.do(t, "bob", "GET", "/api/v1/agents/bob/offers", ""); code != 200 || !strings.Contains(body, `"via":"queue:service"`) || !strings.Contains(body, `"caller":"+15550100"`) {
		t.Errorf("bob's offers = %d %s, want c1 from +15550100 via queue:service", code, body)
	}
	if code, _ := v.do(t, "ann", "POST", "/api/v1/agents/bob/offers/c1/decline", ""); code != 403 {
		t.Errorf("ann declining bob's call = %d, want 403", code)
	}
	if code, _ := v.do(t, "sue", "POST", "/api/v1/agents/bob/offers/c1/decline", ""); code != 403 {
		t.Errorf("bob's manager declining his call = %d, want 403: only the agent (or an admin) declines", code)
	}
	if code, body := v.do(t, "bob", "POST", "/api/v1/agents/bob/offers/c1/decline", ""); code != 204 {
		t.Fatalf("bob declining = %d %s, want 204", code, body)
	}
	// Counted as a decline, as pressing 2 is.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, _ := v.e.Agent(t.Context(), "bob")
		if a.Declined == 1 && a.Missed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob after declining: %+v, want 1 declined, 0 missed", a)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if l := v.dialer.Legs(); len(l) != 1 || l[0].HangupCause() != call.Rejected {
		t.Errorf("bob's desk phone ended %v, want rejected", l[0].HangupCause())
	}
	if code, _ := v.do(t, "bob", "POST", "/api/v1/agents/bob/offers/c1/decline", ""); code != 409 {
		t.Errorf("declining again = %d, want 409: it rings no more", code)
	}
	if code, body := v.do(t, "bob", "GET", "/api/v1/agents/bob/today", ""); code != 200 || !strings.Contains(body, `"declined":1`) {
		t.Errorf("bob's today = %d %s, want 1 declined", code, body)
	}
}

func TestDeskNotesAndHistoryScope(t *testing.T) {
	v := newDesk(t)
	ctx := t.Context()
	// An earlier call from the same number, answered by sue.
	start := time.Now().Add(-time.Hour)
	if err := v.st.InsertCDR(ctx, cdr.Record{CallID: "c0", Caller: "+15550100", Callee: "+15550000", Direction: cdr.Inbound,
		Path: []string{"queue:service"}, Agent: "sue", AnsweredBy: "agent:sue/ext:102", Start: start, Answer: start, End: start.Add(time.Minute), Cause: "normal"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := v.do(t, "bob", "GET", "/api/v1/callers/+15550100/history", ""); code != 403 {
		t.Errorf("bob reading a caller never offered to him = %d, want 403", code)
	}
	if code, _ := v.do(t, "bob", "POST", "/api/v1/calls/c0/notes", `{"text":"x"}`); code != 403 {
		t.Errorf("bob noting sue's call = %d, want 403", code)
	}
	if code, body := v.do(t, "sue", "POST", "/api/v1/calls/c0/notes", `{"text":"asked about the invoice"}`); code != 201 {
		t.Errorf("sue noting her call = %d %s, want 201", code, body)
	}

	v.ringBob(t)
	tests := []struct {
		token, body string
		want        int
	}{
		{"bob", `{"text":""}`, 400},
		{"bob", `{"text":"   "}`, 400},
		{"bob", `{"text":"` + strings.Repeat("a", 2001) + `"}`, 400},
		{"bob", `{"text":"called about the invoice again"}`, 201},
		{"ann", `{"text":"not mine"}`, 403},
	}
	for _, tt := range tests {
		if code, body := v.do(t, tt.token, "POST", "/api/v1/calls/c1/notes", tt.body); code != tt.want {
			t.Errorf("note %.30s as %s = %d %s, want %d", tt.body, tt.token, code, body, tt.want)
		}
	}
	code, body := v.do(t, "bob", "GET", "/api/v1/callers/+15550100/history", "")
	if code != 200 {
		t.Fatalf("bob reading the history of the caller ringing him = %d %s", code, body)
	}
	var h []store.CallerCall
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].CallID != "c0" || h[0].Agent != "sue" || len(h[0].Notes) != 1 || h[0].Notes[0].Text != "asked about the invoice" {
		t.Errorf("history %+v, want c0 answered by sue with her note", h)
	}
	if code, _ := v.do(t, "ann", "GET", "/api/v1/callers/+15550100/history", ""); code != 403 {
		t.Errorf("ann reading bob's caller = %d, want 403", code)
	}
	if code, _ := v.do(t, "admin", "GET", "/api/v1/callers/+15550100/history", ""); code != 200 {
		t.Errorf("admin reading a history = %d, want 200", code)
	}
}

func TestDeskPage(t *testing.T) {
	v := newDesk(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(cookie string) (int, string, string) {
		req, _ := http.NewRequest("GET", v.srv.URL+"/agent", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if code, loc, _ := get(""); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("/agent without a session = %d to %q, want the login page", code, loc)
	}
	code, _, body := get(v.cookie(t, auth.Principal{Login: "bob", Role: auth.Agent, Agent: "bob"}))
	if code != 200 || !strings.Contains(body, `data-agent="bob"`) || !strings.Contains(body, "/static/agent.js") || strings.Contains(body, "<script>") {
		t.Errorf("/agent for bob = %d, want his desk with agent.js and no inline script", code)
	}
	code, _, body = get(v.cookie(t, auth.Principal{Login: "sue", Role: auth.Manager, Agent: "sue"}))
	if code != 200 || !strings.Contains(body, `data-agent="sue"`) {
		t.Errorf("/agent for manager sue (an agent too) = %d, want her desk", code)
	}
	code, _, body = get(v.cookie(t, auth.Principal{Login: "root", Role: auth.Admin}))
	if code != 200 || !strings.Contains(body, "not bound to an agent") || strings.Contains(body, `id="offer"`) {
		t.Errorf("/agent for an admin bound to no agent = %d, want the not-bound message", code)
	}
	// The static files it needs are served.
	for _, f := range []string{"/static/agent.js", "/static/agent.css", "/static/agent-sw.js"} {
		resp, err := http.Get(v.srv.URL + f)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s = %v %v", f, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
}

func TestDeskWebSocketAuth(t *testing.T) {
	v := newDesk(t)
	url := "ws" + strings.TrimPrefix(v.srv.URL, "http") + "/api/v1/agent/ws"
	dial := func(cookie, origin string) (*websocket.Conn, int) {
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			if resp == nil {
				t.Fatalf("dial: %v", err)
			}
			return nil, resp.StatusCode
		}
		return c, http.StatusSwitchingProtocols
	}
	bob := v.cookie(t, auth.Principal{Login: "bob", Role: auth.Agent, Agent: "bob"})
	if _, code := dial("", v.srv.URL); code != 401 {
		t.Errorf("no cookie = %d, want 401", code)
	}
	if _, code := dial(bob, "https://evil.example"); code != 403 {
		t.Errorf("another site's page = %d, want 403", code)
	}
	if _, code := dial(bob, ""); code != 403 {
		t.Errorf("no Origin = %d, want 403", code)
	}
	if _, code := dial(v.cookie(t, auth.Principal{Login: "root", Role: auth.Admin}), v.srv.URL); code != 403 {
		t.Errorf("a login bound to no agent = %d, want 403", code)
	}
	c, code := dial(bob, v.srv.URL)
	if c == nil {
		t.Fatalf("bob's page = %d, want a WebSocket", code)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// A bad message is answered with an error, and the socket stays.
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"accept","call_id":"c1"}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"type":"error"`) {
		t.Fatalf("reply to an accept without SDP = %s, %v; want an error signal", b, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"dtmf","call_id":"c1","digit":"5","caller":"spoofed"}`)); err != nil {
		t.Fatal(err)
	}
	// The hub gets the page's messages and can send to the page.
	deadline := time.Now().Add(5 * time.Second)
	for {
		v.hub.mu.Lock()
		n := len(v.hub.got)
		v.hub.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hub never got the dtmf signal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := v.hub.got[0]; got.Type != "dtmf" || got.Digit != "5" || got.Caller != "" {
		t.Errorf("hub got %+v, want dtmf 5 with no box-to-page fields", got)
	}
	s := v.hub.session("bob")
	if s == nil {
		t.Fatal("bob's page is not attached")
	}
	if err := s.Send(web.PhoneSignal{Type: "incoming", CallID: "c2", Caller: "+15550100"}); err != nil {
		t.Fatal(err)
	}
	_, b, err = c.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"type":"incoming"`) || !strings.Contains(string(b), `"call_id":"c2"`) {
		t.Errorf("page got %s, %v; want the incoming signal", b, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	for v.hub.session("bob") != nil {
		if time.Now().After(deadline) {
			t.Fatal("bob's page still attached after it closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func FuzzDecodePhoneSignal(f *testing.F) {
	for _, s := range []string{
		`{"type":"accept","call_id":"c1","sdp":"v=0\r\n"}`,
		`{"type":"dtmf","call_id":"c1","digit":"#"}`,
		`{"type":"hangup","call_id":"c 1"}`,
		`{"type":"incoming","call_id":"c1"}`,
		`[]`, `{"type":"mute","call_id":"` + strings.Repeat("x", 70) + `"}`,
		`{"type":"transfer","call_id":"c1","to":"queue:service"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := web.DecodePhoneSignal(b)
		if err != nil {
			return
		}
		switch s.Type {
		case "accept", "decline", "hangup", "dtmf", "mute", "unmute", "hold", "unhold":
		case "transfer":
			if s.To == "" || len(s.To) > 64 || strings.ContainsAny(s.To, " \t\r\n<>\"") {
				t.Fatalf("accepted transfer to %q", s.To)
			}
		default:
			t.Fatalf("accepted type %q", s.Type)
		}
		if s.CallID == "" || len(s.CallID) > 64 || strings.ContainsAny(s.CallID, " \t\r\n") {
			t.Fatalf("accepted call id %q", s.CallID)
		}
		if s.Type == "accept" && !strings.HasPrefix(s.SDP, "v=0") || s.Type != "accept" && s.SDP != "" {
			t.Fatalf("sdp %q kept for %s", s.SDP, s.Type)
		}
		if s.Type == "dtmf" && len(s.Digit) != 1 {
			t.Fatalf("digit %q", s.Digit)
		}
		if s.Caller != "" || s.Reason != "" || s.Via != "" {
			t.Fatalf("box-to-page fields kept: %+v", s)
		}
	})
}

// TestDeskStreamHidesOthersOffers: an agent's event stream carries their
// own offers, not another agent's callers.
func TestDeskStreamHidesOthersOffers(t *testing.T) {
	v := newDesk(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", v.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer bob")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	resp.Body.Read(buf) // the retry line: subscribed
	v.bus.Publish(events.AgentOffered{Agent: "ann", CallID: "c9", Caller: "+15559999"})
	v.bus.Publish(events.AgentOffered{Agent: "bob", CallID: "c1", Caller: "+15550100"})
	var got strings.Builder
	for !strings.Contains(got.String(), `"c1"`) {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("stream: %v (got %s)", err, got.String())
		}
		got.Write(buf[:n])
	}
	if strings.Contains(got.String(), "+15559999") {
		t.Errorf("bob's stream carried ann's caller: %s", got.String())
	}
}
