package acd

import (
	"context"
	"ringbox/firmware/events"
	"slices"
	"sort"
	"time"
)

// AgentInfo is an agent as the API and the dashboard show it.
type AgentInfo struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Extension   string    `json:"extension,omitempty"`
	Status      Status    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"`
	Until       time.Time `json:"until,omitzero"` // unavailable until
	State       State     `json:"state"`
	StateSince  time.Time `json:"state_since"`
	WrapupUntil time.Time `json:"wrapup_until,omitzero"`
	OffHours    bool      `json:"off_hours"`
	Queues      []string  `json:"queues"`
	// QueuesOut are the queues the agent logged out of alone while
	// logged in to the others.
	QueuesOut   []string `json:"queues_out,omitempty"`
	Answered    int      `json:"answered"`
	Missed      int      `json:"missed"`
	Declined    int      `json:"declined"`
	MissedInRow int      `json:"missed_in_row"`
	TalkSeconds int      `json:"talk_seconds"`
	ReportsTo   string   `json:"reports_to,omitempty"`
}

// Result is what an agent command did.
type Result struct {
	Agent AgentInfo `json:"agent"`
	// Warning is set when the agent was the last one present in a queue
	// with callers waiting: those callers go to the queue's on_empty.
	Warning string `json:"warning,omitempty"`
}

func (e *Engine) info(a *agent) AgentInfo {
	in := AgentInfo{
		ID: a.id, Name: a.cfg.Name, Extension: a.cfg.Extension, Status: a.status, Reason: a.reason,
		Since: a.since, Until: a.autoReturn, State: a.state, StateSince: a.stateSince,
		OffHours: !a.inHours, Queues: slices.Clone(e.agentQs[a.id]),
		Answered: a.answered, Missed: a.missed, Declined: a.declined, MissedInRow: a.missedInRow,
		TalkSeconds: int(a.talk / time.Second), ReportsTo: a.cfg.ReportsTo,
	}
	if a.state == Wrapup {
		in.WrapupUntil = a.wrapupUntil
	}
	for _, q := range in.Queues {
		if a.outOf[q] {
			in.QueuesOut = append(in.QueuesOut, q)
		}
	}
	if in.Queues == nil {
		in.Queues = []string{}
	}
	return in
}

// command runs f on agent id in the actor, then steps the engine so that
// the change takes effect at once.
func (e *Engine) command(ctx context.Context, id string, f func(a *agent) (string, error)) (Result, error) {
	var res Result
	var err error
	derr := e.do(ctx, func() {
		a := e.agents[id]
		if a == nil || !e.inConfig(id) {
			err = ErrNoAgent
			return
		}
		res.Warning, err = f(a)
		res.Agent = e.info(a)
	})
	if derr != nil {
		return res, derr
	}
	return res, err
}

func (e *Engine) inConfig(id string) bool {
	for _, a := range e.snap.Site.Agents {
		if a.ID == id {
			return true
		}
	}
	return false
}

// Login logs the agent in to all their queues: available, or unavailable
// with reason when unavailable is set (one atomic step: no call is offered
// in between).
func (e *Engine) Login(ctx context.Context, id string, unavailable bool, reason string, until time.Time, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		e.rejoinAll(a, source)
		if unavailable {
			e.setStatus(a, Unavailable, reasonOr(reason), until, source)
		} else if a.status == LoggedOut {
			e.setStatus(a, Available, "", time.Time{}, source)
		}
		return "", nil
	})
}

// Logout logs the agent out of all their queues.
func (e *Engine) Logout(ctx context.Context, id, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		e.setStatus(a, LoggedOut, "", time.Time{}, source)
		return e.checkEmpty(a.id), nil
	})
}

// SetAvailable makes a logged-in (or logged-out) agent available.
func (e *Engine) SetAvailable(ctx context.Context, id, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		e.setStatus(a, Available, "", time.Time{}, source)
		return "", nil
	})
}

// SetUnavailable makes the agent unavailable with reason until until (zero:
// until they change it). A logged-out agent is logged in unavailable.
func (e *Engine) SetUnavailable(ctx context.Context, id, reason string, until time.Time, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		if !until.IsZero() && !until.After(time.Now()) {
			return "", ErrBadInput
		}
		e.setStatus(a, Unavailable, reasonOr(reason), until, source)
		return "", nil
	})
}

func reasonOr(r string) string {
	if r == "" {
		return "break"
	}
	return r
}

// ExtendWrapup adds d to the agent's wrap-up.
func (e *Engine) ExtendWrapup(ctx context.Context, id string, d time.Duration) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		if a.state != Wrapup {
			return "", ErrNotWrap
		}
		if d <= 0 || d > time.Hour {
			return "", ErrBadInput
		}
		a.wrapupUntil = a.wrapupUntil.Add(d)
		e.activity(a, SourceAPI)
		e.publish(events.AgentState{Agent: a.id, State: string(a.state), From: string(a.state), Until: a.wrapupUntil})
		return "", nil
	})
}

// EndWrapup ends the agent's wrap-up now.
func (e *Engine) EndWrapup(ctx context.Context, id string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		if a.state != Wrapup {
			return "", ErrNotWrap
		}
		e.setState(a, Idle, "", "")
		return "", nil
	})
}

// ToggleLogin logs a logged-out agent in (available) and a logged-in one
// out.
func (e *Engine) ToggleLogin(ctx context.Context, id, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		if a.status == LoggedOut {
			e.setStatus(a, Available, "", time.Time{}, source)
			return "", nil
		}
		e.setStatus(a, LoggedOut, "", time.Time{}, source)
		return e.checkEmpty(a.id), nil
	})
}

// ToggleAvailable switches between available and unavailable; a
// logged-out agent is logged in unavailable.
func (e *Engine) ToggleAvailable(ctx context.Context, id, source string) (Result, error) {
	return e.command(ctx, id, func(a *agent) (string, error) {
		if a.status == Available {
			e.setStatus(a, Unavailable, "break", time.Time{}, source)
		} else {
			if a.status == LoggedOut {
				e.setStatus(a, Unavailable, "break", time.Time{}, source)
				return "", nil
			}
			e.setStatus(a, Available, "", time.Time{}, source)
		}
		return "", nil
	})
}

// Button is the agent's queue-login button on the box: a short press
// toggles login; a long press logs a logged-out agent in unavailable and
// otherwise toggles available/unavailable.
func (e *Engine) Button(agentID string, long bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if long {
		_, err = e.ToggleAvailable(ctx, agentID, SourceButton)
	} else {
		_, err = e.ToggleLogin(ctx, agentID, SourceButton)
	}
	return err
}

// Agents lists every configured agent.
func (e *Engine) Agents(ctx context.Context) ([]AgentInfo, error) {
	var out []AgentInfo
	err := e.do(ctx, func() {
		for _, ac := range e.snap.Site.Agents {
			if a := e.agents[ac.ID]; a != nil {
				out = append(out, e.info(a))
			}
		}
	})
	return out, err
}

// Agent returns one agent.
func (e *Engine) Agent(ctx context.Context, id string) (AgentInfo, error) {
	var out AgentInfo
	var found bool
	err := e.do(ctx, func() {
		if a := e.agents[id]; a != nil && e.inConfig(id) {
			out, found = e.info(a), true
		}
	})
	if err == nil && !found {
		err = ErrNoAgent
	}
	return out, err
}

// AgentByExtension returns the id of the agent whose extension is ext.
func (e *Engine) agentByExtension(ext string) string {
	for _, a := range e.cfg.Config.Site().Agents {
		if a.Extension == ext && ext != "" {
			return a.ID
		}
	}
	return ""
}

// QueueInfo is a queue's live view.
type QueueInfo struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Strategy  string        `json:"strategy"`
	Callers   []CallerInfo  `json:"callers"`
	Agents    []QueueMember `json:"agents"`
	Present   int           `json:"present"`   // logged in, within hours
	Available int           `json:"available"` // could take a call now
	AvgHandle float64       `json:"avg_handle_seconds"`
}

// CallerInfo is one waiting caller.
type CallerInfo struct {
	Call     string   `json:"call"`
	From     string   `json:"from"`
	Name     string   `json:"name,omitempty"`
	Position int      `json:"position"`
	Wait     float64  `json:"wait_seconds"`
	Ringing  []string `json:"ringing,omitempty"` // agents being offered the caller
}

// QueueMember is an agent as a queue shows them.
type QueueMember struct {
	Agent    string `json:"agent"`
	Level    int    `json:"level"`
	Status   Status `json:"status"`
	Reason   string `json:"reason,omitempty"`
	State    State  `json:"state"`
	OffHours bool   `json:"off_hours"`
	// LoggedOut: the agent logged out of this queue alone.
	LoggedOut bool `json:"logged_out_here,omitempty"`
}

// Queues lists every queue, live.
func (e *Engine) Queues(ctx context.Context) ([]QueueInfo, error) {
	var out []QueueInfo
	err := e.do(ctx, func() {
		for i := range e.snap.Site.Queues {
			out = append(out, e.queueInfo(e.snap.Site.Queues[i].ID))
		}
	})
	return out, err
}

// Queue returns one queue, live.
func (e *Engine) Queue(ctx context.Context, id string) (QueueInfo, bool, error) {
	var out QueueInfo
	var ok bool
	err := e.do(ctx, func() {
		for i := range e.snap.Site.Queues {
			if e.snap.Site.Queues[i].ID == id {
				out, ok = e.queueInfo(id), true
			}
		}
	})
	return out, ok, err
}

func (e *Engine) queueInfo(id string) QueueInfo {
	qc, _ := e.queueCfg(id)
	now := time.Now()
	qi := QueueInfo{ID: id, Name: qc.Name, Strategy: qc.StrategyName(), Callers: []CallerInfo{}, Agents: []QueueMember{}}
	if q := e.queues[id]; q != nil {
		qi.AvgHandle = q.aht().Seconds()
	}
	pos := 0
	for _, c := range e.waiting {
		if c.queue != id {
			continue
		}
		pos++
		ci := CallerInfo{Call: c.id, From: c.from.Number, Name: c.from.Name, Position: pos, Wait: now.Sub(c.joined).Seconds()}
		for aid := range c.offers {
			ci.Ringing = append(ci.Ringing, aid)
		}
		sort.Strings(ci.Ringing)
		qi.Callers = append(qi.Callers, ci)
	}
	for _, m := range e.members[id] {
		qi.Agents = append(qi.Agents, QueueMember{Agent: m.a.id, Level: m.level, Status: m.a.status, Reason: m.a.reason, State: m.a.state, OffHours: !m.a.inHours, LoggedOut: m.a.outOf[id]})
		if m.a.presentIn(id) {
			qi.Present++
		}
		if e.free(m.a, now) {
			qi.Available++
		}
	}
	return qi
}

// Waiting is how many callers wait in the queues agentID serves (all
// queues when agentID is "").
func (e *Engine) Waiting(ctx context.Context, agentID string) (int, error) {
	n := 0
	err := e.do(ctx, func() {
		qs := e.agentQs[agentID]
		for _, c := range e.waiting {
			if agentID == "" || slices.Contains(qs, c.queue) {
				n++
			}
		}
	})
	return n, err
}
