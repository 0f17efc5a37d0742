package acd

import (
	"bytes"
	"errors"
	"net/http"

	"time"

	"ringbox/firmware/auth"
	"ringbox/web"
)

// Routes returns the ACD's REST routes for web.Server.HandleRoute.
//
// Agents may change and see only themselves, managers themselves and the
// agents who report to them (directly or through other managers), admins
// anyone; the handlers check that on top of each route's least role.
func (e *Engine) Routes() []web.Route {
	return []web.Route{
		{Method: "GET", Path: "/api/v1/agents", Role: auth.Agent, Section: "agents", Summary: "Agents with status and state (agents see themselves, managers their reports)", Handler: http.HandlerFunc(e.apiAgents)},
		{Method: "GET", Path: "/api/v1/agents/{id}", Role: auth.Agent, Section: "agents", Summary: "One agent's status and state", Handler: http.HandlerFunc(e.apiAgent)},
		{Method: "POST", Path: "/api/v1/agents/{id}/login", Role: auth.Agent, Summary: `Log in to all the agent's queues; {"unavailable":true,"reason":"..."} logs in unavailable`, Handler: e.agentCmd("login")},
		{Method: "POST", Path: "/api/v1/agents/{id}/logout", Role: auth.Agent, Summary: "Log out of all the agent's queues", Handler: e.agentCmd("logout")},
		{Method: "POST", Path: "/api/v1/agents/{id}/available", Role: auth.Agent, Summary: "Set the agent available", Handler: e.agentCmd("available")},
		{Method: "POST", Path: "/api/v1/agents/{id}/unavailable", Role: auth.Agent, Summary: `Set the agent unavailable: {"reason":"lunch","until":"30m" or RFC 3339}`, Handler: e.agentCmd("unavailable")},
		{Method: "POST", Path: "/api/v1/agents/{id}/wrapup", Role: auth.Agent, Summary: `Extend wrap-up {"extend":"30s"} or end it {"end":true}`, Handler: e.agentCmd("wrapup")},
		{Method: "GET", Path: "/api/v1/queues", Role: auth.Agent, Section: "queues", Summary: "Queues with waiting callers and agents, live", Handler: http.HandlerFunc(e.apiQueues)},
		{Method: "GET", Path: "/api/v1/queues/{id}", Role: auth.Agent, Section: "queues", Summary: "One queue, live", Handler: http.HandlerFunc(e.apiQueue)},
		{Method: "GET", Path: "/api/v1/queues/{id}/stats", Role: auth.Manager, Section: "queues", Summary: "Queue statistics from the queue log (?from&to, RFC 3339 or a duration back from now)", Handler: http.HandlerFunc(e.apiStats)},
		{Method: "GET", Path: "/api/v1/queuelog", Role: auth.Manager, Section: "queues", Summary: "The queue log as an Asterisk queue_log text file (?from&to)", Handler: http.HandlerFunc(e.apiQueueLog)},
	}
}

// scope says which agents p may see and change: nil means everyone.
func (e *Engine) scope(p auth.Principal) map[string]bool {
	if p.Role == auth.Admin {
		return nil
	}
	s := map[string]bool{}
	if p.Agent != "" {
		s[p.Agent] = true
	}
	if p.Role == auth.Manager && p.Agent != "" {
		agents := e.cfg.Config.Site().Agents
		// Reports of reports too, until nothing changes.
		for changed := true; changed; {
			changed = false
			for _, a := range agents {
				if !s[a.ID] && a.ReportsTo != "" && s[a.ReportsTo] {
					s[a.ID] = true
					changed = true
				}
			}
		}
	}
	return s
}

func (e *Engine) allowed(r *http.Request, id string) bool {
	p, ok := web.PrincipalFrom(r.Context())
	if !ok {
		return false
	}
	s := e.scope(p)
	return s == nil || s[id]
}

func (e *Engine) apiAgents(w http.ResponseWriter, r *http.Request) {
	p, _ := web.PrincipalFrom(r.Context())
	all, err := e.Agents(r.Context())
	if err != nil {
		web.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s := e.scope(p)
	out := []AgentInfo{}
	for _, a := range all {
		if s == nil || s[a.ID] {
			out = append(out, a)
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (e *Engine) apiAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !e.allowed(r, id) {
		web.WriteError(w, http.StatusForbidden, "you may see only yourself and the agents who report to you")
		return
	}
	a, err := e.Agent(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, a)
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

func (e *Engine) agentCmd(verb string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !e.allowed(r, id) {
			web.WriteError(w, http.StatusForbidden, "you may change only yourself and the agents who report to you")
			return
		}
		var b cmdBody
		if r.ContentLength != 0 && r.Body != nil {
			if err := web.DecodeJSON(r, &b); err != nil {
				var re *web.RequestError
				if errors.As(err, &re) {
					web.WriteError(w, re.Status, re.Msg)
					return
				}
				web.WriteError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		until, err := parseUntil(b.Until, time.Now())
		if err != nil {
			web.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		ctx := r.Context()
		var res Result
		switch verb {
		case "login":
			res, err = e.Login(ctx, id, b.Unavailable, b.Reason, until, SourceAPI)
		case "logout":
			res, err = e.Logout(ctx, id, SourceAPI)
		case "available":
			res, err = e.SetAvailable(ctx, id, SourceAPI)
		case "unavailable":
			res, err = e.SetUnavailable(ctx, id, b.Reason, until, SourceAPI)
		case "wrapup":
			switch {
			case b.End:
				res, err = e.EndWrapup(ctx, id)
			default:
				d, perr := time.ParseDuration(b.Extend)
				if perr != nil || d <= 0 {
					web.WriteError(w, http.StatusBadRequest, `"extend" must be a positive duration like 30s (or send {"end":true})`)
					return
				}
				res, err = e.ExtendWrapup(ctx, id, d)
			}
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		web.WriteJSON(w, http.StatusOK, res)
	})
}

func writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNoAgent):
		web.WriteError(w, http.StatusNotFound, "no such agent")
	case errors.Is(err, ErrNotWrap):
		web.WriteError(w, http.StatusConflict, "the agent is not in wrap-up")
	case errors.Is(err, ErrBadInput):
		web.WriteError(w, http.StatusBadRequest, "bad request: check the reason, the time and the duration")
	default:
		web.WriteError(w, http.StatusServiceUnavailable, err.Error())
	}
}

func (e *Engine) apiQueues(w http.ResponseWriter, r *http.Request) {
	qs, err := e.Queues(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	if qs == nil {
		qs = []QueueInfo{}
	}
	web.WriteJSON(w, http.StatusOK, qs)
}

func (e *Engine) apiQueue(w http.ResponseWriter, r *http.Request) {
	q, ok, err := e.Queue(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		writeErr(w, err)
	case !ok:
		web.WriteError(w, http.StatusNotFound, "no such queue")
	default:
		web.WriteJSON(w, http.StatusOK, q)
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

func (e *Engine) apiStats(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var target time.Duration
	found := false
	for _, q := range e.cfg.Config.Site().Queues {
		if q.ID == id {
			target, found = q.ServiceTarget(), true
		}
	}
	if !found {
		web.WriteError(w, http.StatusNotFound, "no such queue")
		return
	}
	from, to, err := period(r, time.Now())
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, err := e.cfg.Store.ListQueueLog(r.Context(), from, to, id)
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, "read the queue log: "+err.Error())
		return
	}
	st := ComputeStats(id, entries, target)
	st.From, st.To = from, to
	p, _ := web.PrincipalFrom(r.Context())
	if s := e.scope(p); s != nil {
		kept := st.Agents[:0]
		for _, a := range st.Agents {
			if s[a.Agent] {
				kept = append(kept, a)
			}
		}
		st.Agents = kept
	}
	web.WriteJSON(w, http.StatusOK, st)
}

func (e *Engine) apiQueueLog(w http.ResponseWriter, r *http.Request) {
	from, to, err := period(r, time.Now())
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, err := e.cfg.Store.ListQueueLog(r.Context(), from, to, r.URL.Query().Get("queue"))
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, "read the queue log: "+err.Error())
		return
	}
	p, _ := web.PrincipalFrom(r.Context())
	if s := e.scope(p); s != nil {
		// A manager sees caller events and their own agents' lines.
		kept := entries[:0]
		for _, en := range entries {
			if en.Agent == "NONE" || en.Agent == "" || s[en.Agent] {
				kept = append(kept, en)
			}
		}
		entries = kept
	}
	var buf bytes.Buffer
	WriteQueueLog(&buf, entries)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="queue_log"`)
	w.Write(buf.Bytes())
}
