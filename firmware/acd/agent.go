package acd

import (
	"context"
	"fmt"
	"slices"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Status is what the agent chose.
type Status string

// Agent statuses.
const (
	LoggedOut   Status = "logged_out"
	Available   Status = "available"
	Unavailable Status = "unavailable"
)

// State is what is happening to the agent.
type State string

// Agent states.
const (
	Idle    State = "idle"
	Offered State = "offered"
	OnCall  State = "on_call"
	Wrapup  State = "wrapup"
)

// ReasonMissedCalls is the unavailable reason set after max_no_answer
// missed offers in a row.
const ReasonMissedCalls = "missed calls"

// agent is one agent's live state; only the actor touches it.
type agent struct {
	id  string
	cfg site.Agent

	status     Status
	reason     string
	since      time.Time // status since
	autoReturn time.Time // unavailable until; zero: until changed

	state       State
	stateSince  time.Time
	wrapupUntil time.Time
	idleSince   time.Time // longest_idle: end of the last call, or login

	presKeys   []string        // cached keys(), set with cfg
	outOf      map[string]bool // queues the agent logged out of while logged in to others
	inHours    bool
	taken      bool // plan: not free, or already picked
	hoursKnown bool
	offer      *offer
	onCall     *caller // the queue call in progress
	talking    int     // other calls in progress (Engine.Talking)

	answered, missed, declined int // since the engine started
	missedInRow                int
	talk                       time.Duration
}

// keys are the agent's presence keys: any of them busy means on a call.
func (a *agent) keys() []string { return a.presKeys }

func presKeys(a *agent) []string {
	k := []string{"agent:" + a.id}
	if a.cfg.Extension != "" {
		k = append(k, "ext:"+a.cfg.Extension)
	}
	if a.cfg.Mobile != "" {
		k = append(k, "mobile:"+a.cfg.Mobile)
	}
	return k
}

// loggedIn reports whether the agent counts as present in their queues.
func (a *agent) present() bool { return a.status != LoggedOut && a.inHours }

// presentIn reports whether the agent counts as present in queue q: logged
// in, to that queue too, within hours.
func (a *agent) presentIn(q string) bool { return a.present() && !a.outOf[q] }

// free reports whether the agent may be offered a call now: available,
// idle, within hours, not on any call (desk or mobile), not being rung by a
// group and with a phone that can ring.
func (e *Engine) free(a *agent, now time.Time) bool {
	return a.status == Available && a.state == Idle && a.inHours && a.offer == nil &&
		!e.pres.Busy(a.keys()...) && !e.pres.Busy(ring.RingingKey(a.id)) && ring.Reachable(e.snap.Site, &a.cfg)
}

// blocked is why a may not be rung by a group now, "" when it may (see
// Engine.Blocked). Hours and presence are the ringing engine's to judge.
func blocked(a *agent) string {
	switch {
	case a.status == LoggedOut:
		return "logged out"
	case a.status == Unavailable:
		if a.reason != "" {
			return "unavailable (" + a.reason + ")"
		}
		return "unavailable"
	case a.state == Offered:
		return "offered a queue call"
	case a.state == OnCall:
		return "on a call"
	case a.state == Wrapup:
		return "in wrap-up"
	}
	return ""
}

// member is an agent serving a queue.
type member struct {
	a     *agent
	level int
	pos   int
}

// queue is one queue's live state.
type queue struct {
	id     string
	rrNext int             // round_robin: the member position to try first
	recent []time.Duration // handle times (talk + wrap-up) of the last calls
	lastQ  site.Queue      // the queue's settings as last seen
}

const recentCalls = 20

func (q *queue) addHandle(d time.Duration) {
	q.recent = append(q.recent, d)
	if len(q.recent) > recentCalls {
		q.recent = q.recent[len(q.recent)-recentCalls:]
	}
}

// aht is the average handle time of the recent calls (0: no history).
func (q *queue) aht() time.Duration {
	if len(q.recent) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range q.recent {
		sum += d
	}
	return sum / time.Duration(len(q.recent))
}

// refreshConfig rebuilds the agent and member indexes when a new snapshot
// was published.
func (e *Engine) refreshConfig() {
	snap := e.cfg.Config.Current()
	if snap == e.snap {
		return
	}
	e.snap = snap
	e.hoursAt = time.Time{}
	for _, ac := range snap.Site.Agents {
		a := e.agents[ac.ID]
		if a == nil {
			now := time.Now()
			a = &agent{id: ac.ID, status: LoggedOut, state: Idle, since: now, stateSince: now, idleSince: now}
			e.agents[ac.ID] = a
		}
		a.cfg = ac
		a.presKeys = presKeys(a)
	}
	e.members = map[string][]member{}
	e.agentQs = map[string][]string{}
	for i := range snap.Site.Queues {
		qc := &snap.Site.Queues[i]
		q := e.queues[qc.ID]
		if q == nil {
			q = &queue{id: qc.ID}
			e.queues[qc.ID] = q
		}
		q.lastQ = *qc
		var ms []member
		for pos, qa := range qc.Agents {
			a := e.agents[qa.Agent]
			if a == nil {
				continue
			}
			ms = append(ms, member{a: a, level: qa.Levels(), pos: pos})
			e.agentQs[a.id] = append(e.agentQs[a.id], qc.ID)
		}
		e.members[qc.ID] = ms
	}
}

// queueCfg is the current settings of queue id.
func (e *Engine) queueCfg(id string) (*site.Queue, bool) {
	for i := range e.snap.Site.Queues {
		if e.snap.Site.Queues[i].ID == id {
			return &e.snap.Site.Queues[i], true
		}
	}
	if q := e.queues[id]; q != nil {
		return &q.lastQ, true
	}
	return nil, false
}

// restore loads the saved statuses: who is logged in, paused and why.
func (e *Engine) restore(ctx context.Context) error {
	saved, err := e.cfg.Store.LoadAgentStatuses(ctx)
	if err != nil {
		return fmt.Errorf("load agent statuses: %w", err)
	}
	for _, s := range saved {
		a := e.agents[s.Agent]
		if a == nil {
			continue
		}
		switch Status(s.Status) {
		case Available, Unavailable, LoggedOut:
			a.status = Status(s.Status)
		default:
			continue
		}
		a.reason, a.since, a.autoReturn = s.Reason, s.Since, s.AutoReturn
		if a.status != Unavailable {
			a.reason, a.autoReturn = "", time.Time{}
		}
		e.restoreOutOf(a, s.OutOf)
	}
	return nil
}

// seedHandleTimes fills the queues' recent handle times from the last
// day's queue log, so the first wait estimates after a restart are honest.
func (e *Engine) seedHandleTimes(ctx context.Context) {
	now := time.Now()
	entries, err := e.cfg.Store.ListQueueLog(ctx, now.Add(-24*time.Hour), time.Time{}, "")
	if err != nil {
		e.log.Warn("read queue log", "err", err)
		return
	}
	for _, en := range entries {
		if en.Event != EvCompleteAgent && en.Event != EvCompleteCaller {
			continue
		}
		q := e.queues[en.Queue]
		if q == nil || len(en.Data) < 2 {
			continue
		}
		var secs int
		fmt.Sscan(en.Data[1], &secs)
		wrap := time.Duration(0)
		if qc, ok := e.queueCfg(en.Queue); ok {
			wrap = qc.Wrapup.D()
		}
		q.addHandle(time.Duration(secs)*time.Second + wrap)
	}
}

// setStatus changes an agent's status, persists it, logs and publishes it.
func (e *Engine) setStatus(a *agent, st Status, reason string, until time.Time, source string) {
	now := time.Now()
	old, oldReason := a.status, a.reason
	if st != Unavailable {
		reason, until = "", time.Time{}
	}
	if old == st && oldReason == reason && a.autoReturn.Equal(until) {
		return
	}
	a.status, a.reason, a.autoReturn, a.since = st, reason, until, now
	if st == Available && old != Available && a.state == Idle {
		a.idleSince = now
	}
	if st == Available {
		a.missedInRow = 0
	}
	// Someone who stops taking calls is not left ringing.
	if st != Available && a.offer != nil {
		a.offer.cancel(call.Cancelled)
	}
	ctx, cancel := dbctx()
	defer cancel()
	var outOf []string
	if st != LoggedOut {
		outOf = a.outOfList()
	}
	if err := e.cfg.Store.SaveAgentStatus(ctx, store.AgentStatus{Agent: a.id, Status: string(st), Reason: reason, Since: now, AutoReturn: until, OutOf: outOf}); err != nil {
		e.log.Error("save agent status", "agent", a.id, "err", err)
	}
	e.activity(a, source)
	e.publish(events.AgentStatus{Agent: a.id, Status: string(st), From: string(old), Reason: reason, Source: source, Until: until})
	e.log.Info("agent status", "agent", a.id, "from", old, "to", st, "reason", reason, "source", source)

	// The queue log: membership and pauses, per queue as Asterisk writes
	// them. An atomic "log in unavailable" is ADDMEMBER then PAUSE with
	// no moment in between where a call could be offered.
	for _, qid := range e.agentQs[a.id] {
		if a.outOf[qid] {
			continue // not a member there: logged out of that queue alone
		}
		switch {
		case old == LoggedOut && st != LoggedOut:
			e.qlog(qid, "NONE", a.id, EvAddMember)
			if st == Unavailable {
				e.qlog(qid, "NONE", a.id, EvPause, reason)
			}
		case old != LoggedOut && st == LoggedOut:
			if old == Unavailable {
				e.qlog(qid, "NONE", a.id, EvUnpause, oldReason)
			}
			e.qlog(qid, "NONE", a.id, EvRemoveMember)
		case st == Unavailable && old == Available:
			e.qlog(qid, "NONE", a.id, EvPause, reason)
		case st == Available && old == Unavailable:
			e.qlog(qid, "NONE", a.id, EvUnpause, oldReason)
		case st == Unavailable && old == Unavailable:
			e.qlog(qid, "NONE", a.id, EvPause, reason) // a new reason
		}
	}
	if st == LoggedOut {
		a.outOf = nil // the next login is to every queue
	}
}

// setState changes an agent's state and records it.
func (e *Engine) setState(a *agent, st State, queue, callID string) {
	if a.state == st {
		return
	}
	now := time.Now()
	old := a.state
	a.state, a.stateSince = st, now
	if st == Idle {
		a.idleSince = now
		a.wrapupUntil = time.Time{}
	}
	e.activity(a, SourceSystem)
	ev := events.AgentState{Agent: a.id, State: string(st), From: string(old), Queue: queue, Call: callID}
	if st == Wrapup {
		ev.Until = a.wrapupUntil
	}
	e.publish(ev)
}

func (e *Engine) activity(a *agent, source string) {
	ctx, cancel := dbctx()
	defer cancel()
	if err := e.cfg.Store.InsertAgentActivity(ctx, store.AgentActivity{Agent: a.id, Status: string(a.status), State: string(a.state), Reason: a.reason, Source: source}); err != nil {
		e.log.Error("agent activity", "agent", a.id, "err", err)
	}
}

// updateHours recomputes who is within working hours, once a minute, and
// applies automatic login and logout at the edges.
func (e *Engine) updateHours(now time.Time) {
	minute := now.Truncate(time.Minute)
	if minute.Equal(e.hoursAt) {
		return
	}
	e.hoursAt = minute
	local := now.In(e.snap.Loc)
	for _, a := range e.agents {
		in := len(a.cfg.Hours) == 0 || site.InRanges(a.cfg.Hours, local)
		was, known := a.inHours, a.hoursKnown
		a.inHours, a.hoursKnown = in, true
		if !a.cfg.AutoLogin || len(a.cfg.Hours) == 0 || (known && was == in) {
			continue
		}
		switch {
		case in && a.status == LoggedOut:
			e.setStatus(a, Available, "", time.Time{}, SourceHours)
		case !in && a.status != LoggedOut && known:
			// At the end of the hours a talking agent finishes the call;
			// logged out, they get no more.
			e.setStatus(a, LoggedOut, "", time.Time{}, SourceHours)
		}
	}
}

// step applies everything that is due, sends callers of empty queues on,
// offers calls, and sets the wake-up timer for the next due thing.
func (e *Engine) step() {
	e.refreshConfig()
	now := time.Now()
	e.updateHours(now)
	for _, a := range e.agents {
		if a.status == Unavailable && !a.autoReturn.IsZero() && !now.Before(a.autoReturn) {
			e.setStatus(a, Available, "", time.Time{}, SourceSystem)
		}
		if a.state == Wrapup && !now.Before(a.wrapupUntil) {
			e.setState(a, Idle, "", "")
		}
	}
	e.checkEmpty("")
	e.dispatch(now)
	e.reschedule(now)
}

// reschedule sets the wake-up timer to the earliest due time.
func (e *Engine) reschedule(now time.Time) {
	next := now.Truncate(time.Minute).Add(time.Minute) // working hours
	soon := func(t time.Time) {
		if !t.IsZero() && t.After(now) && t.Before(next) {
			next = t
		}
	}
	for _, a := range e.agents {
		if a.state == Wrapup {
			soon(a.wrapupUntil)
		}
		if a.status == Unavailable {
			soon(a.autoReturn)
		}
	}
	for _, c := range e.waiting {
		qc, ok := e.queueCfg(c.queue)
		if !ok {
			continue
		}
		for _, t := range c.retryAt {
			soon(t)
		}
		// The next level opens.
		maxLevel := 1
		for _, m := range e.members[c.queue] {
			maxLevel = max(maxLevel, m.level)
		}
		for l := 2; l <= maxLevel; l++ {
			soon(c.joined.Add(time.Duration(l-1) * qc.LevelAfter()))
		}
		skillWakes(c, qc, soon) // skills.go
		if qc.StrategyName() == "ring_progressively" && len(c.offers) > 0 {
			soon(c.progStart.Add(time.Duration(int(now.Sub(c.progStart)/progressiveStep)+1) * progressiveStep))
		}
	}
	e.wake.Reset(next.Sub(now))
}

// checkEmpty sends the callers of queues with no present agent to
// on_empty. left names the agent whose leaving emptied a queue, for the
// warning; it returns the warning text ("" when none).
func (e *Engine) checkEmpty(left string) string {
	var warning string
	for _, c := range slices.Clone(e.waiting) {
		if e.presentIn(c.queue) > 0 {
			continue
		}
		qc, ok := e.queueCfg(c.queue)
		if !ok || qc.OnEmpty == "" {
			continue
		}
		n := e.waitingIn(c.queue)
		if left != "" && slices.Contains(e.agentQs[left], c.queue) {
			w := fmt.Sprintf("you were the last agent in queue %s: %d waiting caller(s) go to %s", c.queue, n, qc.OnEmpty)
			if warning == "" {
				warning = w
			}
		}
		e.publish(events.QueueEmptyWarning{Queue: c.queue, Waiting: n, Agent: left, To: qc.OnEmpty})
		for _, w := range slices.Clone(e.waiting) {
			if w.queue == c.queue {
				e.exit(w, EvExitEmpty, "", qc.OnEmpty)
			}
		}
	}
	return warning
}

// presentIn counts the queue's present agents.
func (e *Engine) presentIn(qid string) int {
	n := 0
	for _, m := range e.members[qid] {
		if m.a.presentIn(qid) {
			n++
		}
	}
	return n
}

func (e *Engine) waitingIn(qid string) int {
	n := 0
	for _, c := range e.waiting {
		if c.queue == qid {
			n++
		}
	}
	return n
}
