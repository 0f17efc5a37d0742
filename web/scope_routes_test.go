package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/cdr"
	"ringbox/firmware/edge"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/ring"
	"ringbox/firmware/store"
	"ringbox/firmware/update"
	"ringbox/firmware/voicemail"
	"ringbox/web"
)

type noUpdater struct{}

func (noUpdater) Status() (update.Status, error) { return update.Status{}, nil }
func (noUpdater) Install(context.Context, string, bool, func(update.Progress)) (update.Info, error) {
	return update.Info{}, fmt.Errorf("not a bundle: %w", update.ErrNotBundle)
}
func (noUpdater) Progress() *update.Progress { return nil }

type noReset struct{}

func (noReset) Pending() (time.Time, bool) { return time.Time{}, false }
func (noReset) Confirm(string) error       { return errors.New("no reset waits") }
func (noReset) Cancel(string)              {}

// newFullEnv is the two-team box with every route and page the web
// package offers registered, as ringbox serve registers them.
func newFullEnv(t *testing.T) *env {
	t.Helper()
	e := newTeamsEnv(t)
	quiet := slog.New(slog.DiscardHandler)
	bans := edge.New(edge.Config{Logger: quiet})
	fl := &flow.Engine{Config: e.cfg, CDR: e.st, Bus: e.bus, Logger: quiet}
	e.srv.Dashboard(&web.Dashboard{Calls: fl, ACD: e.acd, Config: e.cfg, CallScope: web.LiveCallScope(e.cfg.Site), Logger: quiet})
	e.srv.AgentDesk(&web.AgentDesk{ACD: e.acd, Offers: ring.NewOffers(func(p events.Payload) { e.bus.Publish(p) }), Store: e.st, Callback: fl, Logger: quiet})
	for _, rs := range [][]web.Route{
		web.FirmwareRoutes(web.Firmware{Updater: noUpdater{}, TempDir: t.TempDir(), Logger: quiet}),
		web.CertificateRoutes(nil, quiet),
		web.VoicemailOutboxRoutes(&voicemail.Mailer{Outbox: e.st}),
		web.SecurityRoutes(&web.Security{Bans: bans, Logger: quiet}),
	} {
		for _, r := range rs {
			e.srv.HandleRoute(r)
		}
	}
	e.srv.SystemPage(&web.SystemPage{Dir: t.TempDir(), DataDir: e.dir, FirmwareStatus: noUpdater{}, Bans: bans, Logger: quiet})
	e.srv.FactoryReset(&web.FactoryReset{Request: noReset{}, Logger: quiet})
	e.srv.Console(&web.Console{Store: e.st, Config: e.cfg, Logger: quiet, SIPPort: 5060, Realm: "ringbox", Flow: fl,
		Reload: func(ctx context.Context) error { return nil }})
	e.srv.Audit(&web.Audit{Store: e.st, Logger: quiet})
	return e
}

// routeSpec is what each role may do with one API route, checked on the
// two-team box (teamsSite, teamCalls, seedTeams).
type routeSpec struct {
	role string // least role: public, any (any authenticated), agent, manager, admin
	// path is the request, naming al's own (agent a1, extension 101,
	// queue service, call c-al) where the route names something; "":
	// the pattern's path.
	path string
	body string
	// scoped: path names something of al's, so a login bound to no agent
	// (the token) is refused it even where its role would do.
	scoped bool
	// team names something of mona's team but not al's own (joe, a4,
	// c-joe): the manager may, the agent and the token may not.
	team string
	// other names max's team (bea, b1, sales, c-bea): refused 403 to
	// all but the admin.
	other string
	// self: only the agent themself acts (not their manager).
	self bool
	// deny: roles refused path although their role would allow it.
	deny []string
	// check inspects the 200 answer to path for each role that gets one.
	check func(t *testing.T, role, body string)
}

// sees fails unless body holds every one of want and none of not.
func sees(want, not []string) func(t *testing.T, body string) {
	return func(t *testing.T, body string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("answer lacks %q: %.300s", w, body)
			}
		}
		for _, n := range not {
			if strings.Contains(body, n) {
				t.Errorf("answer shows %q, out of scope: %.300s", n, body)
			}
		}
	}
}

// byRole builds a check from what each role must and must not see.
func byRole(m map[string][2][]string) func(t *testing.T, role, body string) {
	return func(t *testing.T, role, body string) {
		t.Helper()
		if c, ok := m[role]; ok {
			sees(c[0], c[1])(t, body)
		}
	}
}

var (
	otherTeam = []string{"c-bea", "+15550003", `"b1"`}
	joes      = []string{"c-joe", "+15550002", `"a4"`}
)

// routeTable is every API route of the box, by its ServeMux pattern.
func routeTable() map[string]routeSpec {
	return map[string]routeSpec{
		"GET /api/v1/health":       {role: "public"},
		"POST /api/v1/session":     {role: "public", body: `{"login":"al","password":"` + agentPW + `"}`},
		"DELETE /api/v1/session":   {role: "public"},
		"GET /api/v1/me":           {role: "any"},
		"GET /api/v1/setup":        {role: "public"},
		"POST /api/v1/setup":       {role: "public", body: `{"login":"x","password":"long enough password"}`},
		"GET /api/v1/events":       {role: "any"}, // its scope: TestEventScopeTable
		"GET /api/v1/openapi.json": {role: "any"},

		"GET /api/v1/board":                        {role: "agent"}, // buttons and LEDs, no people; lines for admins
		"GET /api/v1/lines":                        {role: "admin"},
		"POST /api/v1/board/buttons/{n}/press":     {role: "admin", path: "/api/v1/board/buttons/1/press"},
		"POST /api/v1/board/service/press":         {role: "admin"},
		"POST /api/v1/board/lines/{port}/hook":     {role: "admin", path: "/api/v1/board/lines/fxs:1/hook", body: `{"off":false}`},
		"POST /api/v1/board/lines/{port}/dial":     {role: "admin", path: "/api/v1/board/lines/fxs:1/dial", body: `{"digits":""}`},
		"POST /api/v1/board/lines/{port}/flash":    {role: "admin", path: "/api/v1/board/lines/nosuch/flash"},
		"POST /api/v1/board/lines/{port}/tone":     {role: "admin", path: "/api/v1/board/lines/nosuch/tone"},
		"GET /api/v1/board/lines/{port}/hear":      {role: "admin", path: "/api/v1/board/lines/nosuch/hear"},
		"POST /api/v1/board/lines/{port}/ring":     {role: "admin", path: "/api/v1/board/lines/nosuch/ring"},
		"POST /api/v1/board/lines/{port}/hangup":   {role: "admin", path: "/api/v1/board/lines/nosuch/hangup"},
		"POST /api/v1/board/lines/{port}/battery":  {role: "admin", path: "/api/v1/board/lines/nosuch/battery"},
		"POST /api/v1/board/lines/{port}/parallel": {role: "admin", path: "/api/v1/board/lines/nosuch/parallel"},
		"GET /api/v1/registrations":                {role: "manager"}, // filtered to the team's extensions (no phones register in this test)
		"GET /api/v1/trunks":                       {role: "manager"},
		"GET /api/v1/config":                       {role: "admin"},
		"GET /api/v1/cdr": {role: "agent", check: byRole(map[string][2][]string{
			"admin":   {{"c-al", "c-joe", "c-bea"}, nil},
			"manager": {{"c-al", "c-joe", "c-q"}, otherTeam},
			"agent":   {{"c-al"}, append(append([]string{"c-q"}, otherTeam...), joes...)},
			"token":   {nil, []string{"c-al", "c-joe", "c-bea", "c-q"}},
		})},
		"GET /api/v1/extensions": {role: "agent", check: checkDirectory},
		"GET /api/v1/agents": {role: "agent", check: byRole(map[string][2][]string{
			"admin":   {{`"b1"`, `"a4"`}, nil},
			"manager": {{`"a1"`, `"a4"`}, otherTeam},
			"agent":   {{`"a1"`}, append([]string{`"a4"`}, otherTeam...)},
			"token":   {nil, []string{`"a1"`}},
		})},
		"GET /api/v1/agents/{id}":              {role: "agent", path: "/api/v1/agents/a1", scoped: true, team: "/api/v1/agents/a4", other: "/api/v1/agents/b1"},
		"POST /api/v1/agents/{id}/login":       {role: "agent", path: "/api/v1/agents/a1/login", scoped: true, team: "/api/v1/agents/a4/login", other: "/api/v1/agents/b1/login"},
		"POST /api/v1/agents/{id}/logout":      {role: "agent", path: "/api/v1/agents/a1/logout", scoped: true, team: "/api/v1/agents/a4/logout", other: "/api/v1/agents/b1/logout"},
		"POST /api/v1/agents/{id}/available":   {role: "agent", path: "/api/v1/agents/a1/available", scoped: true, team: "/api/v1/agents/a4/available", other: "/api/v1/agents/b1/available"},
		"POST /api/v1/agents/{id}/unavailable": {role: "agent", path: "/api/v1/agents/a1/unavailable", scoped: true, team: "/api/v1/agents/a4/unavailable", other: "/api/v1/agents/b1/unavailable"},
		"POST /api/v1/agents/{id}/wrapup":      {role: "agent", path: "/api/v1/agents/a1/wrapup", body: `{"end":true}`, scoped: true, team: "/api/v1/agents/a4/wrapup", other: "/api/v1/agents/b1/wrapup"},
		"GET /api/v1/queues": {role: "agent", check: byRole(map[string][2][]string{
			"admin":   {{`"sales"`, `"service"`}, nil},
			"manager": {{`"service"`}, []string{`"sales"`}},
			"agent":   {{`"service"`}, []string{`"sales"`}},
			"token":   {nil, []string{`"service"`}},
		})},
		"GET /api/v1/queues/{id}":       {role: "agent", path: "/api/v1/queues/service", scoped: true, other: "/api/v1/queues/sales"},
		"GET /api/v1/queues/{id}/stats": {role: "manager", path: "/api/v1/queues/service/stats", scoped: true, other: "/api/v1/queues/sales/stats"},
		"GET /api/v1/queuelog": {role: "manager", path: "/api/v1/queuelog?format=json&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z", check: byRole(map[string][2][]string{
			"admin":   {{"q-al", "q-bea", "q-waiting"}, nil},
			"manager": {{"q-al", "q-waiting"}, []string{"q-bea", "q-sales"}},
			"token":   {nil, []string{"q-al", "q-waiting"}},
		})},

		"POST /api/v1/prompts/{id}":                      {role: "admin", path: "/api/v1/prompts/1"},
		"GET /api/v1/prompts":                            {role: "manager"},
		"GET /api/v1/prompts/{id}/audio":                 {role: "manager", path: "/api/v1/prompts/1/audio"},
		"DELETE /api/v1/prompts/{id}":                    {role: "admin", path: "/api/v1/prompts/1"},
		"POST /api/v1/holdmusic/{class}/tracks":          {role: "admin", path: "/api/v1/holdmusic/default/tracks"},
		"GET /api/v1/holdmusic":                          {role: "manager"},
		"GET /api/v1/holdmusic/{class}/tracks/{n}/audio": {role: "manager", path: "/api/v1/holdmusic/default/tracks/1/audio"},
		"DELETE /api/v1/holdmusic/{class}":               {role: "admin", path: "/api/v1/holdmusic/nosuch"},
		"POST /api/v1/site/import":                       {role: "admin", body: "not: [a site"},
		"GET /api/v1/ringgroups/{id}/plan":               {role: "manager", path: "/api/v1/ringgroups/nosuch/plan"},
		"GET /api/v1/schedules/{id}/override":            {role: "manager", path: "/api/v1/schedules/nosuch/override"},
		"POST /api/v1/schedules/{id}/override":           {role: "manager", path: "/api/v1/schedules/nosuch/override", body: `{"override":"auto"}`},
		"GET /api/v1/backup":                             {role: "admin"},
		"POST /api/v1/restore/inspect":                   {role: "admin"},
		"POST /api/v1/restore/{id}":                      {role: "admin", path: "/api/v1/restore/nosuch"},

		"GET /api/v1/calls/{id}/recording": {role: "agent", path: "/api/v1/calls/c-al/recording", scoped: true, team: "/api/v1/calls/c-joe/recording", other: "/api/v1/calls/c-bea/recording"},
		"GET /api/v1/voicemail/{id}/audio": {role: "agent", path: "/api/v1/voicemail/999/audio"}, // the user's own mailbox only: TestVoicemail*
		"GET /api/v1/calls/live":           {role: "manager"},                                    // its scope: TestScopeLiveCalls
		"POST /api/v1/calls/{id}/hangup":   {role: "admin", path: "/api/v1/calls/nosuch/hangup"},
		"GET /api/v1/dashboard": {role: "manager", check: byRole(map[string][2][]string{
			"admin":   {{`"sales"`, `"b1"`}, nil},
			"manager": {{`"service"`, `"a4"`}, []string{`"sales"`, `"b1"`}},
			"token":   {nil, []string{`"service"`, `"a1"`}},
		})},
		"GET /api/v1/wallboard/{queue}": {role: "manager", path: "/api/v1/wallboard/service", scoped: true, other: "/api/v1/wallboard/sales"},

		"GET /api/v1/agents/{id}/offers":                 {role: "agent", path: "/api/v1/agents/a1/offers", scoped: true, team: "/api/v1/agents/a4/offers", other: "/api/v1/agents/b1/offers"},
		"POST /api/v1/agents/{id}/offers/{call}/decline": {role: "agent", path: "/api/v1/agents/a1/offers/x/decline", scoped: true, self: true, deny: []string{"manager"}, team: "/api/v1/agents/a4/offers/x/decline", other: "/api/v1/agents/b1/offers/x/decline"},
		"POST /api/v1/agents/{id}/queues/{queue}/login":  {role: "agent", path: "/api/v1/agents/a1/queues/service/login", scoped: true, team: "/api/v1/agents/a3/queues/service/login", other: "/api/v1/agents/b1/queues/sales/login"},
		"POST /api/v1/agents/{id}/queues/{queue}/logout": {role: "agent", path: "/api/v1/agents/a1/queues/service/logout", scoped: true, team: "/api/v1/agents/a3/queues/service/logout", other: "/api/v1/agents/b1/queues/sales/logout"},
		"GET /api/v1/agents/{id}/today":                  {role: "agent", path: "/api/v1/agents/a1/today", scoped: true, team: "/api/v1/agents/a4/today", other: "/api/v1/agents/b1/today"},
		"POST /api/v1/calls/{id}/notes":                  {role: "agent", path: "/api/v1/calls/c-al/notes", body: `{"text":"called back"}`, scoped: true, self: true, deny: []string{"manager"}, team: "/api/v1/calls/c-joe/notes", other: "/api/v1/calls/c-bea/notes"},
		"GET /api/v1/callers/{number}/history":           {role: "agent", path: "/api/v1/callers/+15550001/history", scoped: true, self: true, deny: []string{"manager"}, other: "/api/v1/callers/+15550003/history"},
		"GET /api/v1/agent/ws":                           {role: "agent", scoped: true, deny: []string{"admin"}}, // the phone of the user's own agent (an admin has none); 503 here: no phone hub
		"POST /api/v1/agents/{id}/callback":              {role: "agent", path: "/api/v1/agents/a1/callback", body: `{"number":""}`, scoped: true, self: true, deny: []string{"admin", "manager"}, other: "/api/v1/agents/b1/callback"},
		"GET /api/v1/system/firmware":                    {role: "admin"},
		"POST /api/v1/system/firmware":                   {role: "admin"},
		"GET /api/v1/system/certificate":                 {role: "admin"},
		"POST /api/v1/system/certificate":                {role: "admin"},
		"POST /api/v1/system/certificate/regenerate":     {role: "admin"},
		"GET /api/v1/voicemail/outbox":                   {role: "admin"},
		"POST /api/v1/voicemail/outbox/{id}/retry":       {role: "admin", path: "/api/v1/voicemail/outbox/999/retry"},
		"GET /api/v1/system/status":                      {role: "admin"},
		"GET /api/v1/system/logs":                        {role: "admin"},
		"POST /api/v1/system/reboot":                     {role: "admin"},
		"GET /api/v1/bans":                               {role: "admin"},
		"DELETE /api/v1/bans/{key}":                      {role: "admin", path: "/api/v1/bans/203.0.113.9"},
		"POST /api/v1/system/shutdown":                   {role: "admin"},
		"GET /api/v1/system/factory-reset":               {role: "admin"},
		"POST /api/v1/system/factory-reset/confirm":      {role: "admin"},
		"POST /api/v1/system/factory-reset/cancel":       {role: "admin"},
		"GET /api/v1/audit":                              {role: "admin"},
	}
}

// checkDirectory: everyone sees every extension's number and name (the
// office directory); the mailbox, calling class and registrations only of
// the extensions in their scope.
func checkDirectory(t *testing.T, role, body string) {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("extensions: %v", err)
	}
	detail := map[string]bool{}
	for _, x := range list {
		_, has := x["permission"]
		detail[x["number"].(string)] = has
	}
	if len(detail) != 6 {
		t.Errorf("%s sees %d extensions in the directory, want all 6", role, len(detail))
	}
	want := map[string][]string{"admin": {"101", "103", "104", "110", "201", "210"}, "manager": {"101", "103", "104", "110"}, "agent": {"101"}, "token": nil}[role]
	for n, has := range detail {
		if has != slices.Contains(want, n) {
			t.Errorf("%s: extension %s shows its details = %v, want %v", role, n, has, !has)
		}
	}
}

// pageTable is every UI page, by its ServeMux pattern, and its least role.
var pageTable = map[string]string{
	"GET /{$}": "any", "GET /queues": "any", "GET /agents": "any", "GET /extensions": "any", "GET /routing": "any", "GET /settings": "any",
	"GET /reports": "manager", "GET /calls": "agent", "POST /calls/voicemail/{id}/delete": "agent",
	"GET /login": "public", "GET /setup": "public", "GET /static/pictures.css": "public", "GET /static/": "public",
	"GET /board": "admin", "GET /live": "manager", "GET /wallboard/{queue}": "manager", "GET /agent": "agent",
	"GET /system": "admin", "POST /system/network": "admin", "POST /system/bans/lift": "admin", "POST /system/ntp": "admin",
	"GET /system/factory-reset": "admin", "POST /system/factory-reset": "admin",
	"GET /console": "admin", "GET /console/system": "admin", "POST /console/system": "admin", "GET /console/review": "admin",
	"GET /console/review/diff": "admin", "POST /console/apply": "admin", "POST /console/discard": "admin", "GET /console/history": "admin",
	"POST /console/history/{v}/restore": "admin", "GET /console/sitefile": "admin", "GET /console/sitefile/download": "admin",
	"POST /console/sitefile": "admin", "GET /console/phones": "admin", "GET /console/phones/{number}": "admin",
	"POST /console/phones/{number}/reveal": "admin", "GET /console/audio": "admin", "GET /console/backup": "admin",
	"GET /console/tokens": "admin", "POST /console/tokens": "admin", "POST /console/tokens/{name}/revoke": "admin",
	"GET /console/k/{kind}": "admin", "GET /console/k/{kind}/new": "admin", "POST /console/k/{kind}/new": "admin",
	"GET /console/k/{kind}/o/{key}": "admin", "POST /console/k/{kind}/o/{key}": "admin",
	"POST /console/k/{kind}/o/{key}/delete": "admin", "POST /console/k/{kind}/o/{key}/move": "admin",
}

// seedTeams adds queue log lines of both teams' queues to the box.
func seedTeams(t *testing.T, e *env) {
	t.Helper()
	teamCalls(t, e.st)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	// A caller of service who hung up unanswered: mona's queue's call,
	// not al's.
	if err := e.st.InsertCDR(t.Context(), cdr.Record{CallID: "c-q", Caller: "+15550004", Callee: "5000", Direction: "inbound",
		Path: []string{"queue:service"}, Start: at.Add(4 * time.Minute), End: at.Add(5 * time.Minute), Cause: "abandoned"}); err != nil {
		t.Fatal(err)
	}
	for _, en := range []store.QueueLogEntry{
		{Time: at, Queue: "service", CallID: "q-waiting", Agent: "NONE", Event: acd.EvEnterQueue},
		{Time: at, Queue: "service", CallID: "q-al", Agent: "a1", Event: acd.EvConnect, Data: []string{"3"}},
		{Time: at, Queue: "sales", CallID: "q-sales", Agent: "NONE", Event: acd.EvEnterQueue},
		{Time: at, Queue: "sales", CallID: "q-bea", Agent: "b1", Event: acd.EvConnect, Data: []string{"3"}},
	} {
		if err := e.st.InsertQueueLog(t.Context(), en); err != nil {
			t.Fatal(err)
		}
	}
}

var roleRank = map[string]int{"public": 0, "any": 1, auth.Agent: 1, auth.Manager: 2, auth.Admin: 3}

// TestRouteScopeTable holds every API route and every page the box
// serves to each role: anonymous, agent (al), manager (mona), admin and a
// manager token bound to no agent, on the two-team box. The routes come
// from the server itself (Routes and Pages), so one added without an
// entry here fails; so does a route the web package defines that this
// test's server does not register (webRouteLiterals).
func TestRouteScopeTable(t *testing.T) {
	e := newFullEnv(t)
	seedTeams(t, e)
	table := routeTable()
	registered := map[string]bool{}
	for _, r := range e.srv.Routes() {
		pat := r.Method + " " + r.Path
		registered[pat] = true
		if _, ok := table[pat]; !ok {
			t.Errorf("route %s has no entry in the route scope table (web/scope_routes_test.go): say who may call it and what each role sees", pat)
		}
	}
	for pat := range table {
		if !registered[pat] {
			t.Errorf("route scope table entry %s is not a registered route", pat)
		}
	}
	for _, pg := range e.srv.Pages() {
		registered[pg.Pattern] = true
		if _, ok := pageTable[pg.Pattern]; !ok {
			t.Errorf("page %s has no entry in the page table: say which role may open it", pg.Pattern)
		}
	}
	registered["GET /metrics"] = true // loopback or a bearer token: TestMetrics*
	for _, lit := range webRouteLiterals(t) {
		if !registered[lit] {
			t.Errorf("the web package defines %s but this test's server does not register it: wire its group into newFullEnv", lit)
		}
	}

	tokens := map[string]string{"admin": "t-admin", "manager": "t-mona", "agent": "t-al", "token": "t-nobody"}
	ranks := map[string]int{"anonymous": 0, "agent": 1, "manager": 2, "admin": 3, "token": 2}
	do := func(role, method, path, body string) (int, string) {
		t.Helper()
		hdr := []string{"Origin", "http://example.com"}
		if tok := tokens[role]; tok != "" {
			hdr = append(hdr, "Authorization", "Bearer "+tok)
		}
		if method == "GET" && path == "/api/v1/events" {
			// A stream answers its status, then runs until the client
			// goes: this client has gone already.
			r := httptest.NewRequest(method, path, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
			ctx, cancel := context.WithCancel(r.Context())
			cancel()
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r.WithContext(ctx))
			return w.Code, w.Body.String()
		}
		w := e.req(method, path, body, hdr...)
		return w.Code, w.Body.String()
	}
	pats := slices.Sorted(maps.Keys(table))
	for _, pat := range pats {
		spec := table[pat]
		method, ppath, _ := strings.Cut(pat, " ")
		path := spec.path
		if path == "" {
			path = ppath
		}
		t.Run(pat, func(t *testing.T) {
			for _, role := range []string{"anonymous", "agent", "manager", "admin", "token"} {
				code, body := do(role, method, path, spec.body)
				var want string // ok, 401, 403
				switch {
				case spec.role == "public":
					want = "ok"
				case role == "anonymous":
					want = "401"
				case ranks[role] < roleRank[spec.role]:
					want = "403"
				case slices.Contains(spec.deny, role):
					want = "403"
				case role == "token" && spec.scoped:
					want = "403"
				default:
					want = "ok"
				}
				if !codeIs(code, want) {
					t.Errorf("%s %s as %s = %d %.200s, want %s", method, path, role, code, body, want)
					continue
				}
				if want == "ok" && code == 200 && spec.check != nil {
					spec.check(t, role, body)
				}
			}
			for _, x := range []struct {
				path   string
				allows []string
			}{
				{spec.team, []string{"admin", "manager"}},
				{spec.other, []string{"admin"}},
			} {
				if x.path == "" {
					continue
				}
				for _, role := range []string{"agent", "manager", "admin", "token"} {
					if ranks[role] < roleRank[spec.role] {
						continue
					}
					allowed := slices.Contains(x.allows, role) && !slices.Contains(spec.deny, role)
					if spec.self && role == "manager" {
						allowed = false
					}
					want := "403"
					if allowed {
						want = "ok"
					}
					if code, body := do(role, method, x.path, spec.body); !codeIs(code, want) {
						t.Errorf("%s %s as %s = %d %.200s, want %s", method, x.path, role, code, body, want)
					}
				}
			}
		})
	}

	cookies := map[string]string{"admin": e.login("root", adminPW), "manager": e.login("mona", managerPW), "agent": e.login("al", agentPW)}
	for _, pat := range slices.Sorted(maps.Keys(pageTable)) {
		least := pageTable[pat]
		method, path, _ := strings.Cut(pat, " ")
		path = strings.NewReplacer("{$}", "", "{id}", "999", "{queue}", "service", "{v}", "1", "{number}", "101", "{name}", "nosuch",
			"{kind}", "extensions", "{key}", "101").Replace(path)
		for _, role := range []string{"anonymous", "agent", "manager", "admin"} {
			hdr := []string{"X-Requested-With", "ringbox"}
			if c := cookies[role]; c != "" {
				hdr = append(hdr, "Cookie", c)
			}
			w := e.req(method, path, "", hdr...)
			var ok bool
			switch {
			case least == "public":
				ok = w.Code != 401 && w.Code != 403
			case role == "anonymous":
				ok = w.Code == 401 || w.Code == 303 && strings.HasPrefix(w.Header().Get("Location"), "/login")
			case ranks[role] < roleRank[least]:
				ok = w.Code == 403
			default:
				ok = w.Code != 401 && w.Code != 403 && w.Code < 500 && !(w.Code == 303 && strings.HasPrefix(w.Header().Get("Location"), "/login"))
			}
			if !ok {
				t.Errorf("page %s %s as %s = %d (Location %q), want least role %s", method, path, role, w.Code, w.Header().Get("Location"), least)
			}
		}
	}
}

func codeIs(code int, want string) bool {
	switch want {
	case "ok":
		// 503: allowed, but the box has no such thing here (the test's
		// box has no browser phone hub).
		return code != 401 && code != 403 && (code < 500 || code == 503)
	case "401":
		return code == 401
	}
	return code == 403
}

var patternLit = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) /`)

// webRouteLiterals reads the web package's source for the routes and
// pages it defines: Route literals (Method and Path fields, a path may
// be a constant plus a literal) and "METHOD /path" page patterns.
func webRouteLiterals(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	str := func(consts map[string]string, x ast.Expr) (string, bool) {
		switch v := x.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(v.Value)
			return s, err == nil
		case *ast.Ident:
			s, ok := consts[v.Name]
			return s, ok
		case *ast.SelectorExpr: // http.MethodGet
			if strings.HasPrefix(v.Sel.Name, "Method") {
				return strings.ToUpper(strings.TrimPrefix(v.Sel.Name, "Method")), true
			}
		}
		return "", false
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		consts := map[string]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, id := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			switch v := n.(type) {
			case *ast.CompositeLit:
				var method, path string
				var okM, okP bool
				for _, el := range v.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, _ := kv.Key.(*ast.Ident)
					if key == nil {
						continue
					}
					val := kv.Value
					switch key.Name {
					case "Method":
						method, okM = str(consts, val)
					case "Path":
						if b, ok := val.(*ast.BinaryExpr); ok && b.Op == token.ADD {
							l, ok1 := str(consts, b.X)
							r, ok2 := str(consts, b.Y)
							path, okP = l+r, ok1 && ok2
						} else {
							path, okP = str(consts, val)
						}
					}
				}
				if okM && okP && strings.HasPrefix(path, "/api/") {
					out = append(out, method+" "+path)
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(v.Value); err == nil && v.Kind == token.STRING && patternLit.MatchString(s) && !strings.Contains(s, " /api/") {
					out = append(out, s)
				}
			}
			return true
		})
	}
	if len(out) < 60 {
		t.Fatalf("found only %d routes in the web package's source: the scan is broken", len(out))
	}
	return out
}
