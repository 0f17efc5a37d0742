package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/flow"
	"ringbox/firmware/store"
	"ringbox/web"
)

// dashEnv is the test box with the live dashboard registered over a real
// routing engine whose phones are fakes.
type dashEnv struct {
	*env
	fl     *flow.Engine
	dialer *calltest.Dialer
}

func newDashEnv(t *testing.T) *dashEnv {
	t.Helper()
	e := newEnv(t)
	d := &dashEnv{env: e, dialer: calltest.NewDialer()}
	d.fl = &flow.Engine{Config: e.cfg, Dialer: d.dialer, Bridger: calltest.Bridger{}, CDR: e.st, Bus: e.bus,
		Audit: func(ctx context.Context, actor, action, object, detail string) error {
			return e.st.InsertAudit(ctx, store.AuditEntry{Actor: actor, Action: action, Object: object, Detail: detail})
		}}
	e.srv.Dashboard(&web.Dashboard{Calls: d.fl, ACD: e.acd, Config: e.cfg})
	return d
}

// talk places a call from extension 101 to 102, which answers at once,
// and returns the caller's leg once the call is in conversation; the
// returned wait waits for the call's end.
func (d *dashEnv) talk(t *testing.T, id string) (*calltest.Leg, *calltest.Leg, func()) {
	t.Helper()
	callee := calltest.NewLeg("102", calltest.AnswerAfter(0))
	d.dialer.Add("102", func() *calltest.Leg { return callee })
	caller := calltest.NewLeg("101")
	var wg sync.WaitGroup
	wg.Go(func() {
		d.fl.Handle(context.Background(), caller, flow.Inbound{CallID: id, From: caller.Remote(), To: "102", Extension: "101"})
	})
	t.Cleanup(func() { caller.Hangup(call.Normal); wg.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l := d.fl.LiveCalls(); len(l) == 1 && l[0].State == flow.LiveTalking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call never got talking: %+v", d.fl.LiveCalls())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return caller, callee, wg.Wait
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestLiveCallsAPIRoles(t *testing.T) {
	d := newDashEnv(t)
	d.talk(t, "c1")
	for _, tt := range []struct {
		who  string
		tok  string
		want int
	}{
		{"agent", agentTok, http.StatusForbidden},
		{"manager", mgrTok, http.StatusOK},
		{"admin", adminTok, http.StatusOK},
	} {
		w := d.req("GET", "/api/v1/calls/live", "", bearer(tt.tok)...)
		if w.Code != tt.want {
			t.Errorf("%s: GET /api/v1/calls/live = %d %s, want %d", tt.who, w.Code, w.Body, tt.want)
			continue
		}
		if w.Code != http.StatusOK {
			continue
		}
		var got []flow.LiveCall
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != "c1" || got[0].Caller != "101" || got[0].Callee != "102" ||
			got[0].State != "talking" || got[0].AnsweredBy == "" || got[0].Started.IsZero() ||
			len(got[0].Path) != 1 || got[0].Path[0] != "extension:102" {
			t.Errorf("%s: calls %+v", tt.who, got)
		}
	}
	// Without a session, the API's shape is not revealed.
	if w := d.req("GET", "/api/v1/calls/live", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", w.Code)
	}
}

// An admin's hang-up ends both parties and the call leaves the list; a
// manager's and an agent's are refused and change nothing.
func TestLiveHangupAPI(t *testing.T) {
	d := newDashEnv(t)
	sub := d.bus.Subscribe(16, nil)
	defer sub.Close()
	caller, callee, wait := d.talk(t, "c7")
	for _, tok := range []string{agentTok, mgrTok} {
		if w := d.req("POST", "/api/v1/calls/c7/hangup", "", bearer(tok)...); w.Code != http.StatusForbidden {
			t.Errorf("hang-up with %s: %d %s, want 403", tok, w.Code, w.Body)
		}
	}
	if ended, _, _ := caller.Ended(); ended {
		t.Fatal("a refused hang-up ended the call")
	}
	if w := d.req("POST", "/api/v1/calls/c7/hangup", "", bearer(adminTok)...); w.Code != http.StatusNoContent {
		t.Fatalf("admin hang-up: %d %s", w.Code, w.Body)
	}
	wait()
	for _, l := range []*calltest.Leg{caller, callee} {
		if ended, cause, _ := l.Ended(); !ended || cause != call.Normal {
			t.Errorf("%v: ended %v (%v), want hung up normally", l, ended, cause)
		}
	}
	w := d.req("GET", "/api/v1/calls/live", "", bearer(adminTok)...)
	if strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("after the hang-up: %s, want []", w.Body)
	}
	ended := false
	for len(sub.C()) > 0 {
		if ev := <-sub.C(); ev.Type == "call.ended" {
			ended = true
		}
	}
	if !ended {
		t.Error("no call.ended event: the pages would not learn the call is gone")
	}
	if w := d.req("POST", "/api/v1/calls/c7/hangup", "", bearer(adminTok)...); w.Code != http.StatusNotFound {
		t.Errorf("hang-up of an ended call: %d, want 404", w.Code)
	}
	// The audit log says who did it.
	entries, err := d.st.ListAudit(t.Context(), time.Time{}, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range entries {
		if a.Action == "call.hangup" && a.Object == "c7" && a.Actor == "token:ci" {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit entry for the hang-up in %+v", entries)
	}
}

func TestWallboardPage(t *testing.T) {
	d := newDashEnv(t)
	mgr := d.login("mona", managerPW)
	w := d.req("GET", "/wallboard/service", "", "Cookie", mgr)
	if w.Code != http.StatusOK {
		t.Fatalf("wallboard: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{`data-page="wallboard"`, `data-queue="service"`, `<h1>service</h1>`, "Longest wait",
		"Service level today", "Answered today", "Abandoned today", `src="/static/dashboard.js`} {
		if !strings.Contains(body, want) {
			t.Errorf("wallboard page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "onclick=") {
		t.Error("inline script: the CSP would block it")
	}
	if w := d.req("GET", "/wallboard/nope", "", "Cookie", mgr); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `href="/wallboard/service"`) {
		t.Errorf("unknown queue: %d, want 404 with links to the queues that exist", w.Code)
	}
	if w := d.req("GET", "/wallboard/service", "", "Cookie", d.login("al", agentPW)); w.Code != http.StatusForbidden {
		t.Errorf("agent: %d, want 403", w.Code)
	}
	if w := d.req("GET", "/wallboard/service", ""); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Errorf("no session: %d %q, want a redirect to the login page", w.Code, w.Header().Get("Location"))
	}
}

func TestLivePage(t *testing.T) {
	d := newDashEnv(t)
	mgr := d.req("GET", "/live", "", "Cookie", d.login("mona", managerPW))
	adm := d.req("GET", "/live", "", "Cookie", d.login("alice", adminPW))
	if mgr.Code != http.StatusOK || adm.Code != http.StatusOK {
		t.Fatalf("live: manager %d, admin %d", mgr.Code, adm.Code)
	}
	if !strings.Contains(adm.Body.String(), `data-can-hangup="1"`) {
		t.Error("the admin's page offers no hang-up")
	}
	if strings.Contains(mgr.Body.String(), `data-can-hangup="1"`) {
		t.Error("the manager's page offers a hang-up the API would refuse")
	}
	for _, want := range []string{"Calls in progress", "Queues", "Agents", "Trunks", "Registered phones", `href="/live" aria-current="page"`} {
		if !strings.Contains(mgr.Body.String(), want) {
			t.Errorf("live page lacks %q", want)
		}
	}
	agent := d.login("al", agentPW)
	if w := d.req("GET", "/live", "", "Cookie", agent); w.Code != http.StatusForbidden {
		t.Errorf("agent: %d, want 403", w.Code)
	}
	// Agents are not shown a link they cannot follow.
	if w := d.req("GET", "/", "", "Cookie", agent); strings.Contains(w.Body.String(), `href="/live"`) {
		t.Error("the agent's top bar links to /live")
	}
	if w := d.req("GET", "/", "", "Cookie", d.login("mona", managerPW)); !strings.Contains(w.Body.String(), `href="/live"`) {
		t.Error("the manager's top bar has no link to /live")
	}
}

func TestWallboardAPI(t *testing.T) {
	d := newDashEnv(t)
	ctx := t.Context()
	if _, err := d.acd.Login(ctx, "a1", false, "", time.Time{}, acd.SourceAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := d.acd.Login(ctx, "a3", true, "lunch", time.Time{}, acd.SourceAPI); err != nil {
		t.Fatal(err)
	}
	// Today's figures count from midnight in the site's zone (Paris):
	// yesterday's calls are not on today's board.
	loc, _ := time.LoadLocation("Europe/Paris")
	now := time.Now()
	y, m, dd := now.In(loc).Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	mid := today.Add(now.Sub(today) / 2)
	for _, en := range []store.QueueLogEntry{
		{Time: today.Add(-time.Hour), CallID: "old", Event: acd.EvEnterQueue},
		{Time: today.Add(-time.Hour), CallID: "old", Agent: "a1", Event: acd.EvConnect, Data: []string{"3"}},
		{Time: mid, CallID: "x1", Event: acd.EvEnterQueue},
		{Time: mid, CallID: "x1", Agent: "a1", Event: acd.EvConnect, Data: []string{"5"}},
		{Time: mid, CallID: "x2", Event: acd.EvEnterQueue},
		{Time: mid, CallID: "x2", Agent: "a1", Event: acd.EvConnect, Data: []string{"45"}},
		{Time: mid, CallID: "x3", Event: acd.EvEnterQueue},
		{Time: mid, CallID: "x3", Event: acd.EvAbandon, Data: []string{"1", "1", "30"}},
	} {
		en.Queue = "service"
		if err := d.st.InsertQueueLog(ctx, en); err != nil {
			t.Fatal(err)
		}
	}
	if w := d.req("GET", "/api/v1/wallboard/service", "", bearer(agentTok)...); w.Code != http.StatusForbidden {
		t.Errorf("agent: %d, want 403", w.Code)
	}
	// A manager's wallboard shows a queue their team serves; a manager
	// token bound to no agent has no team (web/scope.go).
	if w := d.req("GET", "/api/v1/wallboard/service", "", bearer(mgrTok)...); w.Code != http.StatusForbidden {
		t.Errorf("manager bound to no agent: %d, want 403", w.Code)
	}
	d.auth.AddToken("t-mona", auth.Principal{Login: "mona", Role: auth.Manager, Agent: "a2"})
	w := d.req("GET", "/api/v1/wallboard/service", "", bearer("t-mona")...)
	if w.Code != http.StatusOK {
		t.Fatalf("wallboard: %d %s", w.Code, w.Body)
	}
	var got web.QueueBoard
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := web.AgentCounts{Available: 1, Unavailable: 1, LoggedOut: 1}
	if got.ID != "service" || got.Waiting != 0 || got.Agents != want {
		t.Errorf("now: %+v, want agents %+v", got, want)
	}
	if got.Today == nil || got.Today.Answered != 2 || got.Today.Abandoned != 1 || got.Today.Offered != 3 ||
		got.Today.ServiceLevel == nil || *got.Today.ServiceLevel != 50 || got.Today.ServiceTarget != 20 || !got.Today.Since.Equal(today) {
		t.Errorf("today: %+v, want 2 answered (1 within 20s: 50%%), 1 abandoned, since %v", got.Today, today)
	}
	if w := d.req("GET", "/api/v1/wallboard/nope", "", bearer(mgrTok)...); w.Code != http.StatusNotFound {
		t.Errorf("unknown queue: %d, want 404", w.Code)
	}
}

func TestDashboardAPI(t *testing.T) {
	d := newDashEnv(t)
	if _, err := d.acd.Login(t.Context(), "a1", false, "", time.Time{}, acd.SourceAPI); err != nil {
		t.Fatal(err)
	}
	if w := d.req("GET", "/api/v1/dashboard", "", bearer(agentTok)...); w.Code != http.StatusForbidden {
		t.Errorf("agent: %d, want 403", w.Code)
	}
	w := d.req("GET", "/api/v1/dashboard", "", bearer(adminTok)...)
	if w.Code != http.StatusOK {
		t.Fatalf("dashboard: %d %s", w.Code, w.Body)
	}
	var got web.Board
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Queues) != 1 || got.Queues[0].Agents.Available != 1 || got.Queues[0].Agents.LoggedOut != 2 || got.Queues[0].Today != nil {
		t.Errorf("queues %+v", got.Queues)
	}
	buckets := map[string]string{}
	for _, a := range got.Agents {
		buckets[a.ID] = a.Bucket
	}
	if buckets["a1"] != "available" || buckets["a2"] != "logged_out" || len(buckets) != 3 {
		t.Errorf("agents %v", buckets)
	}
}
