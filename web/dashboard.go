package web

// The live dashboard (/live) and the queue wallboards (/wallboard/{queue})
// for managers, with their JSON: calls in progress, queues and agents
// right now, and a queue's figures for today. The pages are server
// rendered; dashboard.js re-fetches the small JSON when the event stream
// says something changed. docs/dashboard.md describes both.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
)

// LiveCalls is the routing engine as the dashboard sees it (*flow.Engine).
type LiveCalls interface {
	LiveCalls() []flow.LiveCall
	Hangup(ctx context.Context, id, by string) error
}

// Dashboard is what the live dashboard and the wallboards read.
type Dashboard struct {
	Calls  LiveCalls
	ACD    *acd.Engine
	Config *config.Store
	// CallScope says whether manager p may see call c in progress; admins
	// see every call. nil: managers see every call too.
	//
	// This is the hook for the managers' scope (web/scope.go): a manager
	// should see the calls of the agents who report to them and of their
	// queues. Set it where the server is wired.
	CallScope func(p auth.Principal, c flow.LiveCall) bool
	Logger    *slog.Logger // nil: slog.Default()
}

// Dashboard registers the live dashboard's and the wallboards' pages and
// API routes on s.
func (s *Server) Dashboard(d *Dashboard) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.Logger = d.Logger.With("pkg", "web", "part", "dashboard")
	for _, r := range []Route{
		{Method: "GET", Path: "/api/v1/calls/live", Role: auth.Manager, Section: "calls",
			Summary: "Calls in progress: caller, callee, state, who answered, since when, path so far",
			Handler: http.HandlerFunc(d.apiCalls)},
		{Method: "POST", Path: "/api/v1/calls/{id}/hangup", Role: auth.Admin,
			Summary: "End a call in progress (its CDR is written as hung up by the system)",
			Handler: http.HandlerFunc(d.apiHangup)},
		{Method: "GET", Path: "/api/v1/dashboard", Role: auth.Manager,
			Summary: "The live dashboard: queues (waiting, longest wait, agents by state) and agents, now",
			Handler: http.HandlerFunc(d.apiBoard)},
		{Method: "GET", Path: "/api/v1/wallboard/{queue}", Role: auth.Manager,
			Summary: "A queue's wallboard: waiting, longest wait, agents by state, answered, abandoned and service level today",
			Handler: http.HandlerFunc(d.apiWallboard)},
	} {
		s.HandleRoute(r)
	}
	s.HandlePage("GET /live", auth.Manager, func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		s.renderDash(w, http.StatusOK, "live", dashPage{
			pageData:  pageData{Title: "Live", Page: "live", Active: "live", User: toJSON(p)},
			CanHangup: auth.Allows(p.Role, auth.Admin),
			Queues:    d.queueNamesFor(p),
		})
	})
	s.HandlePage("GET /wallboard/{queue}", auth.Manager, func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		id := r.PathValue("queue")
		q, ok := d.queue(id)
		if !ok {
			s.renderDash(w, http.StatusNotFound, "wallboard-missing", dashPage{
				pageData: pageData{Title: "No such queue", Page: "live", Active: "live", User: toJSON(p)},
				Queue:    queueName{ID: id}, Queues: d.queueNames(),
			})
			return
		}
		s.renderDash(w, http.StatusOK, "wallboard", dashPage{
			pageData: pageData{Title: q.Name + " wallboard", Page: "wallboard", User: toJSON(p)},
			Queue:    q,
		})
	})
}

// dashPage is the data of the dashboard's templates.
type dashPage struct {
	pageData
	CanHangup bool
	Queue     queueName   // the wallboard's
	Queues    []queueName // links to every wallboard
}

type queueName struct{ ID, Name string }

func (s *Server) renderDash(w http.ResponseWriter, status int, name string, d dashPage) {
	d.pageData = s.filled(d.pageData)
	s.execute(w, status, name, d)
}

func (d *Dashboard) queueNames() []queueName {
	var out []queueName
	for _, q := range d.Config.Site().Queues {
		out = append(out, queueName{q.ID, orID(q.Name, q.ID)})
	}
	return out
}

// queueNamesFor is the wallboards p may open: their team's queues.
func (d *Dashboard) queueNamesFor(p auth.Principal) []queueName {
	sc := ScopeOf(p, d.Config.Site())
	return slices.DeleteFunc(d.queueNames(), func(q queueName) bool { return !sc.Queue(q.ID) })
}

func (d *Dashboard) queue(id string) (queueName, bool) {
	for _, q := range d.queueNames() {
		if q.ID == id {
			return q, true
		}
	}
	return queueName{}, false
}

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

// apiCalls lists the calls in progress the caller may see.
func (d *Dashboard) apiCalls(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	calls := d.Calls.LiveCalls()
	if p.Role != auth.Admin && d.CallScope != nil {
		calls = slices.DeleteFunc(calls, func(c flow.LiveCall) bool { return !d.CallScope(p, c) })
	}
	writeList(w, calls)
}

// apiHangup ends a call in progress (admins only, by the route's role).
func (d *Dashboard) apiHangup(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	id := r.PathValue("id")
	err := d.Calls.Hangup(r.Context(), id, p.Login)
	if errors.Is(err, flow.ErrNoCall) {
		WriteError(w, http.StatusNotFound, "no call "+id+" in progress: it may have ended already")
		return
	}
	if err != nil {
		d.Logger.Error("hang up", "call", id, "err", err)
		WriteError(w, http.StatusInternalServerError, "the call could not be hung up")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Agent buckets: what the dashboard and the wallboard count agents as.
const (
	bucketAvailable   = "available"   // logged in, available, idle, within hours
	bucketOnCall      = "on_call"     // on a call, or being offered one (ringing)
	bucketWrapup      = "wrapup"      // in wrap-up after a call
	bucketUnavailable = "unavailable" // paused (with a reason) or outside their hours
	bucketLoggedOut   = "logged_out"
)

// agentBucket sorts an agent into one bucket. What is happening wins over
// what they chose: an agent who paused during a call is still on it.
func agentBucket(st acd.Status, state acd.State, offHours bool) string {
	switch {
	case st == acd.LoggedOut:
		return bucketLoggedOut
	case state == acd.OnCall || state == acd.Offered:
		return bucketOnCall
	case state == acd.Wrapup:
		return bucketWrapup
	case st == acd.Unavailable || offHours:
		return bucketUnavailable
	}
	return bucketAvailable
}

// AgentCounts are a queue's agents by bucket.
type AgentCounts struct {
	Available   int `json:"available"`
	OnCall      int `json:"on_call"`
	Wrapup      int `json:"wrapup"`
	Unavailable int `json:"unavailable"`
	LoggedOut   int `json:"logged_out"`
}

func (c *AgentCounts) add(bucket string) {
	switch bucket {
	case bucketAvailable:
		c.Available++
	case bucketOnCall:
		c.OnCall++
	case bucketWrapup:
		c.Wrapup++
	case bucketUnavailable:
		c.Unavailable++
	case bucketLoggedOut:
		c.LoggedOut++
	}
}

// QueueBoard is one queue on the dashboard or a wallboard.
type QueueBoard struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Waiting     int         `json:"waiting"`
	LongestWait float64     `json:"longest_wait_seconds"` // of the callers waiting now
	Agents      AgentCounts `json:"agents"`
	Today       *QueueToday `json:"today,omitempty"` // wallboards only
}

// QueueToday is a queue's figures since midnight in the site's zone.
type QueueToday struct {
	Since     time.Time `json:"since"`
	Offered   int       `json:"offered"`
	Answered  int       `json:"answered"`
	Abandoned int       `json:"abandoned"`
	// ServiceLevel is the percentage of answered callers answered within
	// ServiceTarget seconds; nil before anyone was answered.
	ServiceLevel  *float64 `json:"service_level"`
	ServiceTarget int      `json:"service_target"`
}

func queueBoard(qi acd.QueueInfo) QueueBoard {
	qb := QueueBoard{ID: qi.ID, Name: orID(qi.Name, qi.ID), Waiting: len(qi.Callers)}
	for _, c := range qi.Callers {
		qb.LongestWait = max(qb.LongestWait, c.Wait)
	}
	for _, m := range qi.Agents {
		qb.Agents.add(agentBucket(m.Status, m.State, m.OffHours))
	}
	return qb
}

// AgentBoard is one agent on the dashboard.
type AgentBoard struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Extension string    `json:"extension,omitempty"`
	Bucket    string    `json:"bucket"` // available | on_call | wrapup | unavailable | logged_out
	State     acd.State `json:"state"`  // idle | offered | on_call | wrapup
	Reason    string    `json:"reason,omitempty"`
	// Since is when the agent entered what Bucket shows: the state's
	// start while on a call or in wrap-up, else the status's.
	Since       time.Time `json:"since"`
	WrapupUntil time.Time `json:"wrapup_until,omitzero"`
	Queues      []string  `json:"queues"`
	Answered    int       `json:"answered"`
}

// Board is the live dashboard's JSON.
type Board struct {
	Queues []QueueBoard `json:"queues"`
	Agents []AgentBoard `json:"agents"`
}

func (d *Dashboard) apiBoard(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	qs, err := d.ACD.Queues(r.Context())
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "queues: "+err.Error())
		return
	}
	as, err := d.ACD.Agents(r.Context())
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "agents: "+err.Error())
		return
	}
	b := Board{Queues: []QueueBoard{}, Agents: []AgentBoard{}}
	scope := ScopeOf(p, d.ACD.Site())
	for _, q := range qs {
		// A manager's board shows the queues their team serves.
		if scope.Queue(q.ID) {
			b.Queues = append(b.Queues, queueBoard(q))
		}
	}
	for _, a := range as {
		if !scope.Agent(a.ID) {
			continue
		}
		ab := AgentBoard{ID: a.ID, Name: orID(a.Name, a.ID), Extension: a.Extension, Bucket: agentBucket(a.Status, a.State, a.OffHours),
			State: a.State, Reason: a.Reason, Since: a.Since, WrapupUntil: a.WrapupUntil, Queues: a.Queues, Answered: a.Answered}
		if ab.Bucket == bucketOnCall || ab.Bucket == bucketWrapup {
			ab.Since = a.StateSince
		}
		b.Agents = append(b.Agents, ab)
	}
	WriteJSON(w, http.StatusOK, b)
}

// apiWallboard is one queue now and today.
func (d *Dashboard) apiWallboard(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("queue")
	qi, ok, err := d.ACD.Queue(r.Context(), id)
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "queue: "+err.Error())
		return
	}
	if !ok {
		WriteError(w, http.StatusNotFound, "no queue "+id)
		return
	}
	if p, _ := PrincipalFrom(r.Context()); !ScopeOf(p, d.ACD.Site()).Queue(id) {
		WriteError(w, http.StatusForbidden, forbiddenQueue)
		return
	}
	qb := queueBoard(qi)
	now := time.Now()
	since := midnight(now, d.Config.Current().Loc)
	st, err := d.ACD.Stats(r.Context(), id, since, now)
	if err != nil {
		// The live half is still worth showing on a TV.
		d.Logger.Error("wallboard statistics", "queue", id, "err", err)
	} else {
		qb.Today = &QueueToday{Since: since, Offered: st.Offered, Answered: st.Answered, Abandoned: st.Abandoned,
			ServiceTarget: st.ServiceTarget}
		if st.Answered > 0 {
			sl := st.ServiceLevel
			qb.Today.ServiceLevel = &sl
		}
	}
	WriteJSON(w, http.StatusOK, qb)
}

// midnight is the start of t's day in loc (the site's zone: "today" is the
// office's day, not UTC's).
func midnight(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, dd := t.In(loc).Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}
