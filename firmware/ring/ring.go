// Package ring rings targets: the one ringing engine of the box. Ring
// groups, hunt groups, extension and agent destinations, outside numbers
// (package flow) and queue offers to agents (package acd) all describe who
// rings when as [Entry] values and hand them to [Ringer.Ring].
//
// # Model
//
// An Entry is one target rung during a window [At, Until) measured from the
// start of the ringing. The first leg to answer (and, with Confirm, to
// press 1 after "call for the office, press 1 to accept, 2 to decline")
// wins; every other leg stops ringing with call.AnsweredElsewhere, so
// phones log no missed call, and a leg that answers too late hears "this
// call was taken". Entries whose Check gives a reason are skipped, not
// rung; when nobody is left ringing the next window starts at once, so a
// caller never waits through silence for a stage whose members all are
// unavailable.
//
// Who may be rung is judged in one place ([Avail] and [Policy]): extension
// do-not-disturb, hunt blocking, agent working hours, presence (on a call,
// desk or mobile) and the agent's own status from the ACD (logged out,
// unavailable, in wrap-up, offered another call).
//
// Ring never answers, bridges or records: the caller of Ring gets the
// answered leg and decides (package flow connects it to the caller).
//
// # Time
//
// Windows, confirm waits and the "call taken" prompt are ordinary Go time;
// tests run them under testing/synctest.
package ring

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/presence"
)

// DefaultConfirmWait is how long an answering leg has to press 1 after the
// confirm prompts.
const DefaultConfirmWait = 10 * time.Second

// Prompt ids the engine plays (audio/prompts has them built in).
const (
	PromptCallForOffice = "call-for-office"
	PromptAcceptDecline = "accept-decline"
	PromptCallTaken     = "call-taken"
)

// Entry is one target rung during [At, Until) from the start of the
// ringing.
type Entry struct {
	Target call.Target
	// Label names the target in the CDR: "ext:101", "agent:bob/ext:101",
	// "agent:bob/mobile:+1555…", "external:+1555…", "fxs:1".
	Label string
	// Keys are the presence keys of whoever answers this entry
	// ("agent:bob", "ext:101", "mobile:+1555…"); the caller of Ring marks
	// them on a call while the call lasts.
	Keys  []string
	At    time.Duration
	Until time.Duration // 0: until the far end gives up
	// Confirm makes an answering leg press 1 before it wins.
	Confirm bool
	// Check says why the entry must not ring at now ("" to ring); nil
	// rings always. It is asked when the entry's window starts.
	Check func(now time.Time) string

	// For dry runs and the log.
	Member string // the group member: agent id, "ext:101", "+1555…"
	Agent  string // the agent rung, if any
	Kind   string // "ext", "mobile", "browser", "external", "fxs"
	Round  int    // 1-based pass through a ring group's stages
	Stage  int    // 1-based stage (ring groups) or step (hunt groups)
}

// Answer is the leg that won a ringing.
type Answer struct {
	Leg   call.Leg
	Entry Entry
	// Rec is the leg's CDR record with Start and Answer filled; End and
	// Cause are for the caller of Ring to fill when the leg ends.
	Rec cdr.Leg
	// StopRinging ends the winner's Request.Ringing mark; the caller of
	// Ring calls it once the call is marked otherwise (presence). nil
	// without a Ringing hook.
	StopRinging func()
}

// Result is how a ringing ended.
type Result struct {
	// Answer is the winner; nil when nobody answered.
	*Answer
	// Cause is Normal with a winner. Without one: Cancelled when the
	// caller hung up, the context's cause when ctx ended, Unavailable when
	// nobody could be rung at all, the one cause every leg ended with
	// (Busy, NoAnswer, ...), else NoAnswer. A decline counts as no answer.
	Cause call.Cause
	// Declined is set when a leg declined (pressed 2, or rejected the call
	// on the phone): queues count it apart from no answer.
	Declined bool
	// Rung is how many entries were rung (not skipped).
	Rung int
}

// Request is one ringing.
type Request struct {
	// Dialer rings the entries' targets.
	Dialer  call.Dialer
	Entries []Entry
	// Caller, when set, ends the ringing with call.Cancelled when it hangs
	// up.
	Caller call.Leg
	// Record is given the CDR record of every leg tried that did not win,
	// once it ended. It may be called after Ring returns (a loser hearing
	// "call taken"), until Wait is done; it must be safe for concurrent
	// use.
	Record func(cdr.Leg)
	// Wait counts the goroutines that may outlive Ring; the caller waits
	// for it before it writes the CDR. nil: an internal one.
	Wait *sync.WaitGroup
	// Claim, when set, is asked whether an answered (and confirmed) leg
	// may take the call; another ringing for the same caller may have won
	// (queues offer a caller to several agents at once). false: the leg
	// hears "call taken" and ends as answered elsewhere.
	Claim func() bool
	// Ringing, when set, is told when an entry starts ringing and returns
	// what to call when it stops: the flow marks agents rung by a group,
	// so that the ACD does not offer them a queue call at the same moment.
	Ringing func(e Entry) (stop func())
	// Log is the call's logger; nil: the Ringer's.
	Log *slog.Logger
	// Call describes the call, for the agent offer events of the
	// Ringer's Offers; without an ID, agents' legs ring unannounced.
	Call CallInfo
}

// Ringer rings. The zero value works (no prompts, 10 s confirm wait); it
// is safe for concurrent use.
type Ringer struct {
	// Prompt returns a prompt by id at rate (8000 or 16000); nil or false:
	// the prompt is skipped.
	Prompt func(id string, rate int) (call.Source, bool)
	// ConfirmWait is how long a leg has to press 1 after the confirm
	// prompts; 0: DefaultConfirmWait.
	ConfirmWait time.Duration
	Logger      *slog.Logger

	pmu       sync.Mutex // protects pickables
	pickables map[*pickable]struct{}
	// Presence, when set, marks each extension while its phone rings
	// (presence.RingingExtPrefix): busy lamps blink with it.
	Presence *presence.Tracker
	// Offers, when set, learns every agent leg that rings for a call
	// (Request.Call), publishes the agent offer events and lets the
	// agent decline from the web page.
	Offers *Offers
}

func (r *Ringer) confirmWait() time.Duration {
	if r.ConfirmWait > 0 {
		return r.ConfirmWait
	}
	return DefaultConfirmWait
}

func (r *Ringer) logger(req *Request) *slog.Logger {
	if req.Log != nil {
		return req.Log
	}
	if r.Logger != nil {
		return r.Logger.With("pkg", "ring")
	}
	return slog.Default().With("pkg", "ring")
}

type legResult struct {
	ans      *Answer
	cause    call.Cause
	declined bool
}

// Ring rings req.Entries on their schedule until one answers (and
// confirms), all have ended, ctx ends or the caller hangs up.
func (r *Ringer) Ring(ctx context.Context, req Request) Result {
	entries := slices.Clone(req.Entries)
	slices.SortStableFunc(entries, func(a, b Entry) int { return int(a.At - b.At) })
	log := r.logger(&req)
	wg := req.Wait
	if wg == nil {
		wg = new(sync.WaitGroup)
	}
	record := req.Record
	if record == nil {
		record = func(cdr.Leg) {}
	}
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var mu sync.Mutex
	won := false
	claim := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if won {
			return false
		}
		if req.Claim != nil && !req.Claim() {
			return false
		}
		won = true
		return true
	}
	var callerDone <-chan struct{}
	if req.Caller != nil {
		callerDone = req.Caller.Done()
	}
	// Every launched leg sends exactly one result; the buffer lets the
	// losers finish after Ring has returned.
	results := make(chan legResult, len(entries))
	start := time.Now()
	// The extensions ringing can be picked up from another phone
	// (pickup.go).
	pk := &pickable{start: start, pick: make(chan pickReq), done: make(chan struct{}), exts: map[int]string{}}
	r.addPickable(pk)
	defer func() {
		r.delPickable(pk)
		close(pk.done)
	}()
	var shift time.Duration // time skipped because nobody was left ringing
	next, active := 0, 0
	res := Result{}
	var causes []call.Cause
	// launch starts every entry that is due. When nobody is ringing and
	// entries are still to come, the next one is due now.
	launch := func() {
		for {
			now := time.Since(start) + shift
			for next < len(entries) && entries[next].At <= now {
				e := entries[next]
				next++
				if e.Until > 0 && e.Until <= e.At {
					continue
				}
				if e.Check != nil {
					if why := e.Check(time.Now()); why != "" {
						log.Info("not rung", "member", e.Member, "target", e.Label, "reason", why)
						continue
					}
				}
				var deadline time.Time
				if e.Until > 0 {
					deadline = start.Add(e.Until - shift)
				}
				active++
				res.Rung++
				wg.Add(1)
				idx := next
				if x := ringingExt(e); x != "" {
					pk.ringing(idx, x)
				}
				go func() {
					defer wg.Done()
					lr := r.ringOne(gctx, &req, e, deadline, claim, wg, record)
					pk.stopped(idx)
					results <- lr
				}()
			}
			if active > 0 || next >= len(entries) {
				return
			}
			shift += entries[next].At - now
		}
	}
	launch()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if active == 0 && next >= len(entries) {
			res.Cause = combine(causes)
			return res
		}
		var due <-chan time.Time
		if next < len(entries) {
			timer.Reset(time.Until(start.Add(entries[next].At - shift)))
			due = timer.C
		}
		select {
		case <-due:
			launch()
		case lr := <-results:
			active--
			if lr.ans != nil {
				cancel(call.AnsweredElsewhere)
				res.Answer, res.Cause = lr.ans, call.Normal
				return res
			}
			res.Declined = res.Declined || lr.declined
			causes = append(causes, lr.cause)
			launch()
		case q := <-pk.pick:
			// Another phone picks the call up: it wins like a leg that
			// answered, if the call is still to be won.
			if !claim() {
				q.reply <- false
				continue
			}
			q.reply <- true
			cancel(call.AnsweredElsewhere)
			res.Answer, res.Cause = picked(q), call.Normal
			return res
		case <-callerDone:
			cancel(call.Cancelled)
			res.Cause = call.Cancelled
			return res
		case <-ctx.Done():
			c := call.CauseOf(context.Cause(ctx))
			cancel(c)
			res.Cause = c
			return res
		}
	}
}

// combine is the cause of a ringing nobody answered.
func combine(causes []call.Cause) call.Cause {
	if len(causes) == 0 {
		return call.Unavailable
	}
	first := causes[0]
	for _, c := range causes[1:] {
		if c != first {
			return call.NoAnswer
		}
	}
	if first == call.Rejected {
		return call.NoAnswer // a decline only moves the call on
	}
	return first
}

// ringOne rings one entry until it answers (and confirms), deadline, or
// ctx ends.
func (r *Ringer) ringOne(ctx context.Context, req *Request, e Entry, deadline time.Time, claim func() bool, wg *sync.WaitGroup, record func(cdr.Leg)) (lr legResult) {
	// A decline from the agent's page cancels this context with
	// call.Rejected: the leg ends as if its phone had pressed 2.
	ctx, decline := context.WithCancelCause(ctx)
	defer decline(nil)
	lctx := ctx
	if !deadline.IsZero() {
		var stop context.CancelFunc
		lctx, stop = context.WithDeadlineCause(ctx, deadline, call.NoAnswer)
		defer stop()
	}
	rec := cdr.Leg{Target: e.Label, Agent: e.Agent, Start: time.Now()}
	stopRinging := func() {}
	if req.Ringing != nil {
		if stop := req.Ringing(e); stop != nil {
			stopRinging = sync.OnceFunc(stop)
		}
	}
	won := false
	defer func() {
		if !won {
			stopRinging()
		}
	}()
	end := func(leg call.Leg, cause call.Cause) legResult {
		rec.End, rec.Cause = time.Now(), cause.String()
		if leg != nil {
			fillRoute(&rec, leg)
		}
		record(rec)
		return legResult{cause: cause, declined: cause == call.Rejected}
	}
	t := e.Target
	if t.Kind == call.TargetBrowser {
		t.Call = req.Call.ID // the page matches its ringing to the offer
	}
	leg, err := req.Dialer.Dial(lctx, t)
	if err != nil {
		return end(nil, call.CauseOf(err))
	}
	if x := ringingExt(e); x != "" && r.Presence != nil {
		from := e.Target.From
		if from.Number == "" {
			from = req.Call.From
		}
		defer r.Presence.BeginCaller(presence.RingingExtPrefix+x, presence.Caller{Number: from.Number, Name: from.Name})()
	}
	// The agent's device rings now (a phone that is not registered never
	// does, and pops nothing up on the agent's page).
	if r.Offers != nil && e.Agent != "" && req.Call.ID != "" {
		done := r.Offers.begin(e.Agent, req.Call, agentTargets(req.Entries, e.Agent), decline)
		defer func() { done(lr.ans != nil, lr.cause) }()
	}
	rec.ID = leg.ID()
	if err := leg.Answer(lctx); err != nil {
		cause := call.CauseOf(err)
		if lctx.Err() != nil {
			cause = call.CauseOf(context.Cause(lctx))
		}
		leg.Hangup(cause)
		return end(leg, cause)
	}
	rec.Answer = time.Now()
	rec.ID = leg.ID()
	fillRoute(&rec, leg)
	if e.Confirm {
		if cause := r.confirm(ctx, leg); cause != call.Normal {
			if cause == call.AnsweredElsewhere {
				r.tooLate(leg, wg)
			} else {
				leg.Hangup(cause)
			}
			return end(leg, cause)
		}
	}
	if !claim() {
		r.tooLate(leg, wg)
		return end(leg, call.AnsweredElsewhere)
	}
	won = true
	return legResult{ans: &Answer{Leg: leg, Entry: e, Rec: rec, StopRinging: stopRinging}}
}

// RouteInfo is implemented by legs that went out through a trunk: the
// trunk's id and the number sent to it, for the CDR.
type RouteInfo interface {
	Trunk() string
	Sent() string
}

func fillRoute(rec *cdr.Leg, leg call.Leg) {
	if ri, ok := leg.(RouteInfo); ok {
		rec.Trunk, rec.Number = ri.Trunk(), ri.Sent()
	}
}

// confirm plays "call for the office, press 1 to accept, 2 to decline" to
// an answered leg and waits for the key: Normal for 1, Rejected for 2,
// NoAnswer when no key comes (a mobile's own voicemail never presses 1),
// or the ringing's cause when it ended meanwhile.
func (r *Ringer) confirm(ctx context.Context, leg call.Leg) call.Cause {
	m := leg.Media()
	rate := RateOf(m)
	if src := r.prompts(rate, PromptCallForOffice, PromptAcceptDecline); src != nil {
		if err := m.Play(ctx, src, true); err != nil {
			if ctx.Err() != nil {
				return call.CauseOf(context.Cause(ctx))
			}
			return call.NoAnswer
		}
	}
	t := time.NewTimer(r.confirmWait())
	defer t.Stop()
	for {
		select {
		case d := <-m.Digits():
			switch d.Key {
			case '1':
				return call.Normal
			case '2':
				return call.Rejected
			}
		case <-t.C:
			return call.NoAnswer
		case <-leg.Done():
			return call.NoAnswer
		case <-ctx.Done():
			return call.CauseOf(context.Cause(ctx))
		}
	}
}

// TooLate tells a leg that answered after the call was taken, then hangs
// it up as answered elsewhere; it returns at once. wg counts the prompt.
func (r *Ringer) TooLate(leg call.Leg, wg *sync.WaitGroup) { r.tooLate(leg, wg) }

func (r *Ringer) tooLate(leg call.Leg, wg *sync.WaitGroup) {
	src := r.prompts(RateOf(leg.Media()), PromptCallTaken)
	if src == nil {
		leg.Hangup(call.AnsweredElsewhere)
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer leg.Hangup(call.AnsweredElsewhere)
		select {
		case <-leg.Done():
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		leg.Media().Play(ctx, src, false)
	}()
}

// prompts chains the prompts that exist; nil when none does.
func (r *Ringer) prompts(rate int, ids ...string) call.Source {
	if r.Prompt == nil {
		return nil
	}
	var srcs []call.Source
	for _, id := range ids {
		if s, ok := r.Prompt(id, rate); ok && s != nil {
			srcs = append(srcs, s)
		}
	}
	if len(srcs) == 0 {
		return nil
	}
	return &chain{srcs: srcs}
}

type chain struct{ srcs []call.Source }

func (c *chain) ReadFrame(f []int16) bool {
	for len(c.srcs) > 0 {
		if c.srcs[0].ReadFrame(f) {
			return true
		}
		c.srcs = c.srcs[1:]
	}
	return false
}

// RateOf is the PCM rate of a leg's media: 16 kHz for G.722, else 8 kHz.
func RateOf(m call.Media) int {
	if m.Codec() == "G722" {
		return 16000
	}
	return 8000
}
