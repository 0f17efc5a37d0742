package web

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/site"
)

// AgentRoutes are the ACD's routes: agents, queues, statistics and the
// queue log.
//
// Agents may change and see only themselves, managers themselves and the
// agents who report to them (directly or through other managers), admins
// anyone; the handlers check that on top of each route's least role.
func AgentRoutes(e *acd.Engine) []Route {
	h := agentAPI{e}
	return []Route{
		{Method: "GET", Path: "/api/v1/agents", Role: auth.Agent, Section: "agents", Summary: "Agents with status and state (agents see themselves, managers their reports)", Handler: http.HandlerFunc(h.apiAgents)},
		{Method: "GET", Path: "/api/v1/agents/{id}", Role: auth.Agent, Section: "agents", Summary: "One agent's status and state", Handler: http.HandlerFunc(h.apiAgent)},
		{Method: "POST", Path: "/api/v1/agents/{id}/login", Role: auth.Agent, Summary: `Log in to all the agent's queues; {"unavailable":true,"reason":"..."} logs in unavailable`, Handler: h.agentCmd("login")},
		{Method: "POST", Path: "/api/v1/agents/{id}/logout", Role: auth.Agent, Summary: "Log out of all the agent's queues", Handler: h.agentCmd("logout")},
		{Method: "POST", Path: "/api/v1/agents/{id}/available", Role: auth.Agent, Summary: "Set the agent available", Handler: h.agentCmd("available")},
		{Method: "POST", Path: "/api/v1/agents/{id}/unavailable", Role: auth.Agent, Summary: `Set the agent unavailable: {"reason":"lunch","until":"30m" or RFC 3339}`, Handler: h.agentCmd("unavailable")},
		{Method: "POST", Path: "/api/v1/agents/{id}/wrapup", Role: auth.Agent, Summary: `Extend wrap-up {"extend":"30s"} or end it {"end":true}`, Handler: h.agentCmd("wrapup")},
		{Method: "GET", Path: "/api/v1/queues", Role: auth.Agent, Section: "queues", Summary: "Queues with waiting callers and agents, live", Handler: http.HandlerFunc(h.apiQueues)},
		{Method: "GET", Path: "/api/v1/queues/{id}", Role: auth.Agent, Section: "queues", Summary: "One queue, live", Handler: http.HandlerFunc(h.apiQueue)},
		{Method: "GET", Path: "/api/v1/queues/{id}/stats", Role: auth.Manager, Section: "queues", Summary: "Queue statistics from the queue log (?from&to, RFC 3339 or a duration back from now)", Handler: http.HandlerFunc(h.apiStats)},
		{Method: "GET", Path: "/api/v1/queuelog", Role: auth.Manager, Section: "queues", Summary: "The queue log (?from&to, queue): JSON entries for Accept: application/json or format=json, else an Asterisk queue_log text file", Handler: http.HandlerFunc(h.apiQueueLog)},
	}
}

type agentAPI struct{ e *acd.Engine }

// scope is the caller's scope (scope.go) in the site the ACD runs.
func (h agentAPI) scope(r *http.Request) Scope {
	p, _ := PrincipalFrom(r.Context())
	return ScopeOf(p, h.e.Site())
}

func (h agentAPI) allowed(r *http.Request, id string) bool {
	return h.scope(r).Agent(id)
}

func (h agentAPI) apiAgents(w http.ResponseWriter, r *http.Request) {
	all, err := h.e.Agents(r.Context())
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	sc := h.scope(r)
	out := []acd.AgentInfo{}
	for _, a := range all {
		if sc.Agent(a.ID) {
			out = append(out, a)
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

func (h agentAPI) apiAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.allowed(r, id) {
		WriteError(w, http.StatusForbidden, forbiddenAgent)
		return
	}
	a, err := h.e.Agent(r.Context(), id)
	if err != nil {
		writeAgentErr(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, a)
}

type cmdBody struct {
	Unavailable bool   `json:"unavailable"`
	Reason      string `json:"reason"`
	Until       string `json:"until"`  // RFC 3339, or a duration from now ("30m")
	Extend      string `json:"extend"` // wrap-up: a duration
	End         bool   `json:"end"`    // wrap-up: end now
}

// parseUntil reads a return time: RFC 3339 or a Go duration from now.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New(`"until" must be in the future`)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New(`"until" must be a time like 2026-05-04T13:30:00+02:00 or a duration like 30m`)
	}
	if !t.After(now) {
		return time.Time{}, errors.New(`"until" must be in the future`)
	}
	return t, nil
}

func (h agentAPI) agentCmd(verb string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !h.allowed(r, id) {
			WriteError(w, http.StatusForbidden, "you may change only yourself and the agents who report to you")
			return
		}
		var b cmdBody
		if r.ContentLength != 0 && r.Body != nil {
			if !decode(w, r, &b) {
				return
			}
		}
		until, err := parseUntil(b.Until, time.Now())
		if err != nil {
			WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		ctx := r.Context()
		var res acd.Result
		switch verb {
		case "login":
			res, err = h.e.Login(ctx, id, b.Unavailable, b.Reason, until, acd.SourceAPI)
		case "logout":
			res, err = h.e.Logout(ctx, id, acd.SourceAPI)
		case "available":
			res, err = h.e.SetAvailable(ctx, id, acd.SourceAPI)
		case "unavailable":
			res, err = h.e.SetUnavailable(ctx, id, b.Reason, until, acd.SourceAPI)
		case "wrapup":
			switch {
			case b.End:
				res, err = h.e.EndWrapup(ctx, id)
			default:
				d, perr := time.ParseDuration(b.Extend)
				if perr != nil || d <= 0 {
					WriteError(w, http.StatusBadRequest, `"extend" must be a positive duration like 30s (or send {"end":true})`)
					return
				}
				res, err = h.e.ExtendWrapup(ctx, id, d)
			}
		}
		if err != nil {
			writeAgentErr(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, res)
	})
}

func writeAgentErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, acd.ErrNoAgent):
		WriteError(w, http.StatusNotFound, "no such agent")
	case errors.Is(err, acd.ErrNotWrap):
		WriteError(w, http.StatusConflict, "the agent is not in wrap-up")
	case errors.Is(err, acd.ErrBadInput):
		WriteError(w, http.StatusBadRequest, "bad request: check the reason, the time and the duration")
	default:
		WriteError(w, http.StatusServiceUnavailable, err.Error())
	}
}

func (h agentAPI) apiQueues(w http.ResponseWriter, r *http.Request) {
	qs, err := h.e.Queues(r.Context())
	if err != nil {
		writeAgentErr(w, err)
		return
	}
	sc := h.scope(r)
	kept := qs[:0]
	for _, q := range qs {
		if sc.Queue(q.ID) {
			kept = append(kept, scopeMembers(q, sc))
		}
	}
	writeList(w, kept)
}

// scopeMembers keeps the queue's members in scope: a manager sees how
// many agents are present in a queue their team serves, but the status
// of their own people only. An agent sees the callers' numbers only in a
// queue they hold (logged in to it: the next caller may be theirs);
// elsewhere each caller is a position and a wait, and nobody else's
// ringing phone is shown.
func scopeMembers(q acd.QueueInfo, sc Scope) acd.QueueInfo {
	if sc.All {
		return q
	}
	var ms []acd.QueueMember
	holds := false
	for _, m := range q.Agents {
		if sc.Agent(m.Agent) {
			ms = append(ms, m)
			if m.Status != acd.LoggedOut && !m.LoggedOut {
				holds = true
			}
		}
	}
	q.Agents = ms
	callers := make([]acd.CallerInfo, 0, len(q.Callers))
	for _, c := range q.Callers {
		kept := acd.CallerInfo{Position: c.Position, Wait: c.Wait}
		if sc.Team || holds {
			kept.Call, kept.From, kept.Name = c.Call, c.From, c.Name
		}
		for _, a := range c.Ringing {
			if sc.Agent(a) {
				kept.Ringing = append(kept.Ringing, a)
			}
		}
		callers = append(callers, kept)
	}
	q.Callers = callers
	return q
}

// forbiddenQueue is the 403 message for a queue outside the scope.
const forbiddenQueue = "you may see only the queues that you or the agents who report to you serve"

func (h agentAPI) apiQueue(w http.ResponseWriter, r *http.Request) {
	q, ok, err := h.e.Queue(r.Context(), r.PathValue("id"))
	sc := h.scope(r)
	switch {
	case err != nil:
		writeAgentErr(w, err)
	case !ok:
		WriteError(w, http.StatusNotFound, "no such queue")
	case !sc.Queue(q.ID):
		WriteError(w, http.StatusForbidden, forbiddenQueue)
	default:
		WriteJSON(w, http.StatusOK, scopeMembers(q, sc))
	}
}

// period reads ?from&to: RFC 3339 times, or durations back from now
// ("24h"); from defaults to 24 hours ago, to to now.
func period(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	get := func(name string, def time.Time) (time.Time, error) {
		v := r.URL.Query().Get(name)
		if v == "" {
			return def, nil
		}
		if d, err := time.ParseDuration(v); err == nil {
			return now.Add(-d), nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, errors.New(name + " must be an RFC 3339 time or a duration back from now like 24h")
		}
		return t, nil
	}
	from, err := get("from", now.Add(-24*time.Hour))
	if err != nil {
		return from, from, err
	}
	to, err := get("to", now.Add(time.Millisecond))
	return from, to, err
}

func (h agentAPI) apiStats(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	from, to, err := period(r, time.Now())
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	sc := h.scope(r)
	if !sc.Queue(id) && slices.ContainsFunc(h.e.Site().Queues, func(q site.Queue) bool { return q.ID == id }) {
		WriteError(w, http.StatusForbidden, forbiddenQueue)
		return
	}
	st, err := h.e.Stats(r.Context(), id, from, to)
	if errors.Is(err, acd.ErrNoQueue) {
		WriteError(w, http.StatusNotFound, "no such queue")
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !sc.All {
		kept := st.Agents[:0]
		for _, a := range st.Agents {
			if sc.Agent(a.Agent) {
				kept = append(kept, a)
			}
		}
		st.Agents = kept
	}
	WriteJSON(w, http.StatusOK, st)
}

func (h agentAPI) apiQueueLog(w http.ResponseWriter, r *http.Request) {
	from, to, err := period(r, time.Now())
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, err := h.e.QueueLog(r.Context(), from, to, r.URL.Query().Get("queue"))
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if sc := h.scope(r); !sc.All {
		// A manager sees the caller events of their team's queues and
		// their own agents' lines.
		kept := entries[:0]
		for _, en := range entries {
			if (en.Agent == "NONE" || en.Agent == "") && sc.Queue(en.Queue) || sc.Agent(en.Agent) {
				kept = append(kept, en)
			}
		}
		entries = kept
	}
	if wantsJSON(r) {
		// The web page's viewer reads JSON; a text file in its place left
		// the queue log card blank.
		out := make([]queueLogJSON, 0, len(entries))
		for _, en := range entries {
			out = append(out, queueLogJSON{Time: en.Time, Queue: en.Queue, CallID: en.CallID, Agent: en.Agent, Event: en.Event, Data: en.Data})
		}
		w.Header().Set("Cache-Control", "no-store")
		WriteJSON(w, http.StatusOK, out)
		return
	}
	var buf bytes.Buffer
	acd.WriteQueueLog(&buf, entries)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="queue_log"`)
	w.Write(buf.Bytes())
}

// queueLogJSON is one queue log entry as the JSON queue log gives it.
type queueLogJSON struct {
	Time   time.Time `json:"time"`
	Queue  string    `json:"queue"`
	CallID string    `json:"call_id"`
	Agent  string    `json:"agent"`
	Event  string    `json:"event"`
	Data   []string  `json:"data"`
}

// wantsJSON reports whether the caller asked for JSON rather than the
// queue_log file: format=json, or an Accept naming JSON and not text/plain
// (the page's fetch sends Accept: application/json; curl and wallboard
// scripts send */* and keep getting the file).
func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "text":
		return false
	}
	acc := r.Header.Get("Accept")
	return strings.Contains(acc, "application/json") && !strings.Contains(acc, "text/plain")
}
