package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/cdr"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web"
)

// teamsSite has two teams: mona (m1) manages al (a1) and ann (a3), and ann
// manages joe (a4) in turn; max (m2) manages bea (b1). Queue service is
// served by al and ann, sales by bea.
const teamsSite = `version: 1
system: {name: Teams, timezone: Europe/Paris}
extensions:
  - {number: "101", name: Al}
  - {number: "103", name: Ann}
  - {number: "104", name: Joe}
  - {number: "110", name: Mona}
  - {number: "201", name: Bea}
  - {number: "210", name: Max}
agents:
  - {id: m1, name: Mona, extension: "110", role: manager}
  - {id: a1, name: Al, extension: "101", reports_to: m1}
  - {id: a3, name: Ann, extension: "103", reports_to: m1, role: manager}
  - {id: a4, name: Joe, extension: "104", reports_to: a3}
  - {id: m2, name: Max, extension: "210", role: manager}
  - {id: b1, name: Bea, extension: "201", reports_to: m2}
queues:
  - {id: service, agents: [a1, a3], on_empty: hangup}
  - {id: sales, agents: [b1], on_empty: hangup}
`

func newTeamsEnv(t *testing.T) *env {
	t.Helper()
	e := newSiteEnv(t, teamsSite)
	e.auth.AddUser("root", adminPW, auth.Admin, "")
	e.auth.AddToken("t-admin", auth.Principal{Login: "token:admin", Role: auth.Admin})
	e.auth.AddToken("t-mona", auth.Principal{Login: "mona", Role: auth.Manager, Agent: "m1"})
	e.auth.AddToken("t-max", auth.Principal{Login: "max", Role: auth.Manager, Agent: "m2"})
	e.auth.AddToken("t-al", auth.Principal{Login: "al", Role: auth.Agent, Agent: "a1"})
	e.auth.AddToken("t-nobody", auth.Principal{Login: "token:report", Role: auth.Manager})
	e.auth.AddUser("mona", managerPW, auth.Manager, "m1")
	e.auth.AddUser("al", agentPW, auth.Agent, "a1")
	e.auth.AddUser("max", managerPW, auth.Manager, "m2")
	return e
}

func TestScopeOf(t *testing.T) {
	s, err := site.Parse([]byte(teamsSite), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      auth.Principal
		agents []string
		queues []string
		ext    string // an extension in scope
	}{
		{"manager: team, transitively", auth.Principal{Role: auth.Manager, Agent: "m1"}, []string{"m1", "a1", "a3", "a4"}, []string{"service"}, "104"},
		{"middle manager: their own reports only", auth.Principal{Role: auth.Manager, Agent: "a3"}, []string{"a3", "a4"}, []string{"service"}, "103"},
		{"agent: themself", auth.Principal{Role: auth.Agent, Agent: "a1"}, []string{"a1"}, []string{"service"}, "101"},
		{"agent with a manager's site role but an agent login", auth.Principal{Role: auth.Agent, Agent: "a3"}, []string{"a3"}, []string{"service"}, "103"},
		{"manager bound to no agent: no one", auth.Principal{Role: auth.Manager}, nil, nil, ""},
		{"login bound to a deleted agent: no one", auth.Principal{Role: auth.Manager, Agent: "gone"}, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := web.ScopeOf(tt.p, s)
			if got := sc.AgentIDs(s); !slices.Equal(got, tt.agents) {
				t.Errorf("agents = %v, want %v", got, tt.agents)
			}
			for _, q := range []string{"service", "sales"} {
				if got, want := sc.Queue(q), slices.Contains(tt.queues, q); got != want {
					t.Errorf("queue %s in scope = %v, want %v", q, got, want)
				}
			}
			if tt.ext != "" && !sc.Extension(tt.ext) {
				t.Errorf("extension %s not in scope", tt.ext)
			}
			if sc.Extension("201") || sc.Agent("b1") {
				t.Errorf("the other team's bea (b1, 201) is in scope")
			}
		})
	}
	if sc := web.ScopeOf(auth.Principal{Role: auth.Admin}, s); !sc.Agent("b1") || !sc.Queue("sales") || sc.CDR() != nil || len(sc.AgentIDs(s)) != 6 {
		t.Errorf("admin scope %+v: want everyone", sc)
	}
}

// teamCalls stores a call for each team: al's queue call, a direct call
// to joe's extension, bea's queue call.
func teamCalls(t *testing.T, st *store.Store) {
	t.Helper()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, r := range []cdr.Record{
		{CallID: "c-al", Caller: "+15550001", Callee: "5000", Direction: "inbound", Path: []string{"queue:service"}, Start: at, End: at.Add(time.Minute),
			Cause: "normal", Agent: "a1", AnsweredBy: "agent:a1/ext:101", Legs: []cdr.Leg{{ID: "l1", Target: "agent:a1/ext:101", Agent: "a1", Cause: "normal"}}},
		{CallID: "c-joe", Caller: "+15550002", Callee: "104", Direction: "inbound", Path: []string{"extension:104"}, Start: at.Add(time.Minute), End: at.Add(2 * time.Minute),
			Cause: "no_answer", Legs: []cdr.Leg{{ID: "l2", Target: "ext:104", Cause: "no_answer"}}},
		{CallID: "c-bea", Caller: "+15550003", Callee: "5001", Direction: "inbound", Path: []string{"queue:sales"}, Start: at.Add(2 * time.Minute), End: at.Add(3 * time.Minute),
			Cause: "normal", Agent: "b1", AnsweredBy: "agent:b1/ext:201", Legs: []cdr.Leg{{ID: "l3", Target: "agent:b1/ext:201", Agent: "b1", Cause: "normal"}}},
	} {
		if err := st.InsertCDR(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScopeOnRoutes(t *testing.T) {
	e := newTeamsEnv(t)
	teamCalls(t, e.st)
	cdrs := func(tok, query string) []string {
		t.Helper()
		w := e.req("GET", "/api/v1/cdr"+query, "", "Authorization", "Bearer "+tok)
		if w.Code != 200 {
			t.Fatalf("GET /api/v1/cdr%s as %s = %d %s", query, tok, w.Code, w.Body)
		}
		var recs []struct {
			CallID string `json:"call_id"`
		}
		json.Unmarshal(w.Body.Bytes(), &recs)
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.CallID)
		}
		slices.Sort(ids)
		return ids
	}
	for _, tt := range []struct {
		tok, query string
		want       []string
	}{
		{"t-admin", "", []string{"c-al", "c-bea", "c-joe"}},
		{"t-mona", "", []string{"c-al", "c-joe"}},
		{"t-max", "", []string{"c-bea"}},
		{"t-al", "", []string{"c-al"}},
		{"t-nobody", "", nil},
		{"t-mona", "?agent=b1", nil}, // searching for another team's agent finds nothing
		{"t-mona", "?queue=service", []string{"c-al"}},
		{"t-admin", "?outcome=unanswered", []string{"c-joe"}},
	} {
		if got := cdrs(tt.tok, tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: cdr%s = %v, want %v", tt.tok, tt.query, got, tt.want)
		}
	}
	w := e.req("GET", "/api/v1/cdr?format=csv", "", "Authorization", "Bearer t-max")
	if body := w.Body.String(); !strings.Contains(body, "c-bea") || strings.Contains(body, "c-al") {
		t.Errorf("max's CSV export:\n%s\nwant bea's call only", body)
	}

	for _, tt := range []struct {
		tok, path string
		code      int
		msg       string
	}{
		{"t-mona", "/api/v1/agents/a4", 200, ""}, // a report of a report
		{"t-mona", "/api/v1/agents/b1", 403, "agents who report to you"},
		{"t-al", "/api/v1/agents/a3", 403, "agents who report to you"},
		{"t-admin", "/api/v1/agents/b1", 200, ""},
		{"t-mona", "/api/v1/queues/service", 200, ""},
		{"t-mona", "/api/v1/queues/sales", 403, "queues that you or the agents who report to you serve"},
		{"t-mona", "/api/v1/queues/sales/stats", 403, "queues that you"},
		{"t-max", "/api/v1/queues/sales/stats", 200, ""},
		{"t-mona", "/api/v1/queues/nosuch/stats", 404, ""},
	} {
		w := e.req("GET", tt.path, "", "Authorization", "Bearer "+tt.tok)
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.msg) {
			t.Errorf("%s GET %s = %d %s, want %d %q", tt.tok, tt.path, w.Code, w.Body, tt.code, tt.msg)
		}
	}
	list := func(tok, path, field string) []string {
		w := e.req("GET", path, "", "Authorization", "Bearer "+tok)
		var v []map[string]any
		json.Unmarshal(w.Body.Bytes(), &v)
		var ids []string
		for _, x := range v {
			ids = append(ids, x[field].(string))
		}
		slices.Sort(ids)
		return ids
	}
	if got := list("t-mona", "/api/v1/agents", "id"); !slices.Equal(got, []string{"a1", "a3", "a4", "m1"}) {
		t.Errorf("mona's agents = %v", got)
	}
	if got := list("t-al", "/api/v1/agents", "id"); !slices.Equal(got, []string{"a1"}) {
		t.Errorf("al's agents = %v", got)
	}
	if got := list("t-max", "/api/v1/queues", "id"); !slices.Equal(got, []string{"sales"}) {
		t.Errorf("max's queues = %v", got)
	}
	if got := list("t-admin", "/api/v1/queues", "id"); !slices.Equal(got, []string{"sales", "service"}) {
		t.Errorf("admin's queues = %v", got)
	}
}

func TestScopeOnEventStream(t *testing.T) {
	e := newTeamsEnv(t)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	mona, b1 := stream(t, ts, "Authorization", "Bearer t-mona")
	defer b1.Close()
	al, b2 := stream(t, ts, "Authorization", "Bearer t-al")
	defer b2.Close()
	admin, b3 := stream(t, ts, "Authorization", "Bearer t-admin")
	defer b3.Close()

	// Everything of the other team first, then one marker of each team.
	for _, p := range []events.Payload{
		events.AgentStatus{Agent: "b1", Status: "available"},
		events.CallStarted{Call: "x", From: "+1555", To: "201"},
		events.CallAnswered{Call: "x", By: "agent:b1/ext:201", Agent: "b1"},
		events.CallEnded{Call: "x"},
		events.QueueCaller{Queue: "sales", Call: "y", Event: "joined"},
		events.PresenceChanged{Key: "ext:201", OnCall: true},
		events.UserLogin{Login: "max"},
		// joe's call: mona's team, not al.
		events.CallStarted{Call: "j", From: "+1555", To: "104"},
		events.CallEnded{Call: "j"},
		// A caller in service, which al serves.
		events.QueueCaller{Queue: "service", Call: "s", Event: "joined"},
		// al's own.
		events.AgentState{Agent: "a1", State: "offered", Call: "q"},
		events.CallEnded{Call: "q"},
	} {
		e.bus.Publish(p)
	}
	read := func(next func() map[string]string, n int) []string {
		var got []string
		for range n {
			b := next()
			got = append(got, b["event"]+" "+b["data"])
		}
		return got
	}
	if got := read(mona, 5); !strings.Contains(got[0], `"to":"104"`) || !strings.Contains(got[1], `"call":"j"`) ||
		!strings.HasPrefix(got[2], "queue.caller") || !strings.Contains(got[3], `"agent":"a1"`) || !strings.Contains(got[4], `"call":"q"`) {
		t.Errorf("mona saw %q, want joe's call start and end, service's caller, then al's offer and its end", got)
	}
	if got := read(al, 3); !strings.HasPrefix(got[0], "queue.caller") || !strings.HasPrefix(got[1], "agent.state") || !strings.Contains(got[2], `"call":"q"`) {
		t.Errorf("al saw %q, want his queue's caller, his own offer and its end", got)
	}
	if got := read(admin, 12); !strings.Contains(got[0], `"agent":"b1"`) || !strings.HasPrefix(got[6], "user.login") {
		t.Errorf("admin saw %q, want everything", got)
	}
}

func TestScopeLiveCalls(t *testing.T) {
	s, err := site.Parse([]byte(teamsSite), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inScope := web.LiveCallScope(func() *site.Site { return s })
	mona := auth.Principal{Role: auth.Manager, Agent: "m1"}
	for _, tt := range []struct {
		name string
		c    flow.LiveCall
		want bool
	}{
		{"waiting in a team queue", flow.LiveCall{Caller: "+1555", Callee: "5000", Queue: "service"}, true},
		{"answered by a team agent", flow.LiveCall{Caller: "+1555", Agent: "a4", AnsweredBy: "agent:a4/ext:104"}, true},
		{"ringing joe's extension", flow.LiveCall{Caller: "+1555", Callee: "104", Extension: "104"}, true},
		{"al calling out", flow.LiveCall{Caller: "101", Callee: "+4420"}, true},
		{"waiting in the other team's queue", flow.LiveCall{Caller: "+1555", Queue: "sales"}, false},
		{"bea's call", flow.LiveCall{Caller: "201", Callee: "+4420", Agent: "b1"}, false},
	} {
		if got := inScope(mona, tt.c); got != tt.want {
			t.Errorf("%s: in mona's scope = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// An agent sees a queue's waiting count and waits; the callers' numbers
// only while they hold the queue (logged in to it), and never which other
// agent is being offered a caller. A manager sees the callers of their
// team's queues.
func TestScopeQueueCallers(t *testing.T) {
	s, err := site.Parse([]byte(teamsSite), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	q := acd.QueueInfo{ID: "service",
		Callers: []acd.CallerInfo{{Call: "c1", From: "+15550001", Name: "Ada", Position: 1, Wait: 30, Ringing: []string{"a1", "a3"}}, {Call: "c2", From: "+15550002", Position: 2, Wait: 5}},
		Agents:  []acd.QueueMember{{Agent: "a1", Status: acd.Available}, {Agent: "a3", Status: acd.Available}}}
	al := web.ScopeOf(auth.Principal{Role: auth.Agent, Agent: "a1"}, s)
	got := web.ScopeMembers(q, al)
	if len(got.Callers) != 2 || got.Callers[0].From != "+15550001" || got.Callers[0].Wait != 30 || !slices.Equal(got.Callers[0].Ringing, []string{"a1"}) || len(got.Agents) != 1 {
		t.Errorf("al logged in to service sees %+v, want both callers with numbers, only himself ringing and as member", got)
	}
	out := q
	out.Agents = []acd.QueueMember{{Agent: "a1", Status: acd.Available, LoggedOut: true}, {Agent: "a3", Status: acd.Available}}
	got = web.ScopeMembers(out, al)
	if len(got.Callers) != 2 || got.Callers[0].From != "" || got.Callers[0].Name != "" || got.Callers[0].Call != "" || got.Callers[1].Position != 2 {
		t.Errorf("al logged out of service sees %+v, want the count and waits, no numbers", got.Callers)
	}
	mona := web.ScopeOf(auth.Principal{Role: auth.Manager, Agent: "m1"}, s)
	if got := web.ScopeMembers(out, mona); got.Callers[1].From != "+15550002" || len(got.Agents) != 2 {
		t.Errorf("mona sees %+v, want her team's queue whole", got)
	}
}
