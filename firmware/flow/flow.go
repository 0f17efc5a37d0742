// Package flow routes calls through the destinations of the site file:
// IVRs, staged ring groups, hunt groups, queues (through [QueueRunner]),
// announcements, extensions, agents, voicemail, external numbers and
// hang-up, with schedules deciding inbound routes.
//
// Each call runs on its own goroutine, reading top to bottom like the dial
// plan it is: a node function handles one destination and returns the next
// one. The call keeps the configuration snapshot it started with.
//
// # One call path
//
// The flow owns a call from the INVITE to its CDR. Every node that rings
// someone (extension, agent, ring group, hunt group, external) lays out
// timed entries and hands them to the box's one ringing engine (package
// ring); a queue hands the caller to the ACD ([QueueRunner]), which decides
// who and when and gives back the agent's answered leg. Whatever answered,
// the flow connects it the same way: it answers the caller, marks presence,
// tells the ACD about agents' calls, bridges (recording when asked) and
// writes the CDR. Outside numbers are rung through the outbound routes of
// the call's own snapshot (dialplan.Router), trying trunks in turn.
// [Engine.Plan] runs a ring group's schedule dry.
//
// # Calls in progress
//
// The engine lists the calls it is routing ([Engine.LiveCalls]: state,
// who answered, the path so far) and ends one on request ([Engine.Hangup])
// by cancelling the call's context; live.go.
//
// # Time
//
// Ring windows, IVR timeouts and confirm waits are ordinary timers; tests
// run them under testing/synctest.
//
// flow sees only the call model (package call); it never imports sip or
// board.
package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/dialplan"
	"ringbox/firmware/events"
	"ringbox/firmware/presence"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
	"ringbox/firmware/voicemail"
)

// DefaultExtensionRing is how long an extension rings when nothing else
// says (a direct call, or the extension: destination).
const DefaultExtensionRing = 30 * time.Second

// Inbound describes a new call reaching the box.
type Inbound struct {
	CallID    string
	From      call.Party
	To        string // the dialled number (user part)
	Extension string // the calling extension, when an extension called
	Trunk     string // the trunk the call came in on, when from a trunk
	DID       string // the number dialled on the trunk
	Asserted  string // a trunk call's P-Asserted-Identity number, "" for none (disa.go)
	// Start is when the call began, when that was before Handle (a call
	// back starts when the user's phone is rung); zero: now.
	Start time.Time
}

// Engine routes calls.
type Engine struct {
	Config *config.Store
	// Dialer rings extensions, trunks and analog ports (the SIP edge);
	// outside numbers go through the outbound routes first.
	Dialer  call.Dialer
	Bridger call.Bridger
	CDR     cdr.Writer  // may be nil in tests
	Bus     *events.Bus // may be nil
	Logger  *slog.Logger
	// ExtensionRing overrides DefaultExtensionRing (tests).
	ExtensionRing time.Duration
	// Presence tracks who is on a call; nil: a private tracker.
	Presence *presence.Tracker
	// Queues runs queue: destinations (package acd); nil: queues answer
	// as unavailable.
	Queues QueueRunner
	// Agents is the ACD as groups see it: whether an agent may be rung,
	// and agents' calls that are not queue calls (for their state and the
	// wrap-up after all calls); nil: every agent counts as available.
	Agents Agents
	// OverrideStore saves schedule overrides; nil: memory only.
	OverrideStore OverrideStore
	// Features adds feature codes (queue login) to the built-in ones; see
	// features.go.
	Features map[string]FeatureFunc
	// FeaturePrefixes are feature codes followed by digits (*45 then a
	// queue number); the function reads the digits from Info().To.
	FeaturePrefixes map[string]FeatureFunc

	// HuntState persists where round-robin hunt groups start (the store
	// implements it); nil: kept in memory, lost on restart.
	HuntState HuntState
	// Prompts returns an uploaded prompt by id at rate; nil or false: the
	// built-in prompt of system.language.
	Prompts func(id string, rate int) (call.Source, bool)
	// Music returns the hold-music stream of a class, for ring groups with
	// music; nil (or a nil Source): the zone's ringback tone.
	Music func(class string) call.Source
	// RecordingsDir is where recorded calls go; "": DataDir/recordings.
	RecordingsDir string
	// DataDir is the appliance's data directory.
	DataDir string
	// Voicemail takes and plays messages; nil: voicemail: destinations
	// are unavailable.
	Voicemail *voicemail.Service
	// PromptStore stores prompts recorded from a phone (*70 then the
	// prompt id; promptrecord.go); nil: *70 answers as unavailable.
	PromptStore PromptStore
	// Audit records schedule overrides and refused outbound calls (the
	// store's InsertAudit behind a closure); nil: only the log.
	Audit func(ctx context.Context, actor, action, object, detail string) error
	// ConfirmWait is how long an answering leg has to press 1 after the
	// confirm prompts (0: 10s), for the Ringer the engine makes itself.
	ConfirmWait time.Duration
	// Ringer is the box's ringing engine, shared with the ACD; nil: one
	// with the flow's prompts.
	Ringer *ring.Ringer
	// Conferences mixes meet-me rooms and three-way calls (the media
	// engine); nil: conference: destinations are unavailable.
	Conferences call.Conferencer
	// Guard keeps the toll-fraud limits across calls (tollfraud.go); nil:
	// the engine makes one. AlertMail sends toll-fraud alerts; nil:
	// voicemail.SendText through system.smtp.
	Guard     *dialplan.Guard
	AlertMail func(ctx context.Context, relay site.SMTP, to, subject, text string) error
	guardOnce sync.Once

	presOnce sync.Once
	pres     *presence.Tracker
	ringOnce sync.Once
	rng      *ring.Ringer
	calls    calls        // calls in progress (Wait)
	xfers    bridges      // bridged calls by leg id, for attended transfers (transfer.go)
	placed   placedCalls  // extensions' calls by their leg id, for semi-attended transfers (transfer.go)
	parks    parkLot      // parked calls by slot (park.go)
	handoffs atomic.Int64 // calls handed off by their caller's transfer, for their ids
	live     liveCalls    // calls in progress as the dashboard sees them (live.go)
	rooms    rooms        // meet-me rooms with members (conference.go)
	disaGate disaGate     // calls to disa per caller, for its rate limit (disa.go)

	mu        sync.Mutex // protects following
	overrides map[string]override
	rr        map[string]int // in-memory round-robin starts when HuntState is nil
}

// HuntState persists round-robin starts: HuntNext returns where the next
// call to group starts (0..n-1) and advances it.
type HuntState interface {
	HuntNext(ctx context.Context, group string, n int) (int, error)
}

// QueueRunner holds a caller in a queue until an agent takes the call or
// the queue sends the caller on (on_timeout, on_empty, exit_to). The ACD
// (package acd) implements it: it decides who and when, and never answers
// an agent to the caller, bridges or records; the flow does.
type QueueRunner interface {
	RunQueue(ctx context.Context, q QueueCall) QueueResult
}

// QueueCall is a caller entering a queue.
type QueueCall struct {
	Queue  string // queue id
	CallID string
	Caller call.Leg
	From   call.Party
	Snap   *config.Snapshot // the call's configuration
	// Path so far, for the queue log.
	Path []string
	// Answer answers the caller (so they hear music); the flow keeps the
	// CDR's answer time.
	Answer func(context.Context) error
	// Dialer rings agents (outside numbers through the call's routes).
	Dialer call.Dialer
	// Opts carry the caller as agents' phones show them and the caller's
	// codecs; the queue adds its own confirm.
	Opts ring.Opts
	// Record and Wait are the CDR's: every agent leg tried is recorded.
	Record func(cdr.Leg)
	Wait   *sync.WaitGroup
	// Info describes the call for the agent offer events (who calls,
	// since when, through what).
	Info ring.CallInfo
	// Skills are the minimum skill levels the call needs, set by the
	// inbound route or IVR option it came through; nil: the queue's own.
	Skills map[string]int
}

// QueueResult is how a caller left a queue: to Next (or the call is over
// with Cause), or with an agent who answered.
type QueueResult struct {
	Next  string
	Cause call.Cause
	// Answer is the agent's answered leg: the flow connects it.
	Answer *ring.Answer
	// Done is called once the connected call is over, with whether the
	// caller hung up (queue log, wrap-up). Set with Answer.
	Done func(byCaller bool)
}

// Agents is the ACD beyond its queues.
type Agents interface {
	ring.Agents
	// Talking tells the ACD that agent is on a call that is not a queue
	// call (answered from a group, a direct call, or one they placed);
	// the returned end is called when it is over.
	Talking(agent, callID string) (end func())
}

// Call is one call's routing state.
type Call struct {
	e    *Engine
	snap *config.Snapshot
	in   call.Leg
	info Inbound
	log  *slog.Logger

	rec    cdr.Record
	visits map[string]int
	peer   call.Leg        // the bridged party, once answered
	router dialplan.Router // outside numbers, over the call's snapshot

	handedIn bool // the inbound leg joined another call (attended transfer): not ours to hang up
	// pendingTransfer is the transfer a handed-off call starts with
	// (transfer.go, handOff).
	pendingTransfer *call.Transfer
	pendingConsult  bool // pendingTransfer is a *2 consultation
	answered        bool // the inbound leg was answered
	progressed      bool // Progress was sent
	record          bool // bridge with recording (an announcement asked)
	busy            bool // the last ringing ended busy (voicemail's busy greeting)

	skills map[string]int // the skills the call needs in a queue (callers.go)

	bg sync.WaitGroup // ring goroutines still finishing (losers, call-taken)
	mu sync.Mutex     // protects rec.Legs
}

// Handle routes one inbound leg until the call ends. It writes the call's
// CDR before returning.
func (e *Engine) Handle(ctx context.Context, in call.Leg, info Inbound) {
	e.calls.add()
	defer e.calls.done()
	c := e.newCall(in, info)
	c.rec.Start = info.Start
	if c.rec.Start.IsZero() {
		c.rec.Start = time.Now()
	}
	if t, ok := e.CDR.(cdr.Tracker); ok {
		// A restart finds the call if the process dies before its CDR.
		t.CallStarted(c.rec)
	}
	// Hangup (live.go) ends the call through its context, so that every
	// ringing leg, timer and bridge of the call learns the cause.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer e.live.add(LiveCall{ID: info.CallID, Direction: c.rec.Direction, Caller: info.From.Number,
		CallerName: c.rec.CallerName, Callee: info.To, Extension: info.Extension, Trunk: info.Trunk,
		State: LiveRouting, StateSince: c.rec.Start, Started: c.rec.Start, Path: []string{}}, cancel)()
	e.publish(events.CallStarted{Call: info.CallID, From: info.From.Number, To: info.To, Direction: c.rec.Direction})
	if info.Extension != "" && info.To != "" {
		defer e.placed.add(in, info.To)()
	}
	defer e.markCalling(in, info.Extension)()

	cause := c.route(ctx)
	c.finish(cause)
}

// saveCDR writes r, the record of a call that is over.
func (e *Engine) saveCDR(r cdr.Record, log *slog.Logger) {
	if e.CDR == nil {
		return
	}
	// The call is over; its context may be gone, the record must not be.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.CDR.InsertCDR(ctx, r); err != nil {
		log.Error("save cdr", "err", fmt.Errorf("save cdr %s: %w", r.CallID, err))
	}
}

// markCalling marks extension ext as placing a call (busy lamps,
// presence.CallingExtPrefix) until its leg ends or the returned function
// is called, whichever is first: a phone that transferred its call away
// is free again although the call goes on.
func (e *Engine) markCalling(in call.Leg, ext string) (end func()) {
	if ext == "" {
		return func() {}
	}
	endMark := e.presence().Begin(presence.CallingExtPrefix + ext)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-in.Done():
		case <-stop:
		}
		endMark()
	})
	return func() {
		close(stop)
		wg.Wait()
	}
}

// Wait returns when every call in progress has written its CDR, or with
// ctx's error when ctx ends first. Calls that start meanwhile count too.
func (e *Engine) Wait(ctx context.Context) error { return e.calls.wait(ctx) }

// calls counts calls in progress; unlike a WaitGroup it may gain calls
// while someone waits.
type calls struct {
	mu   sync.Mutex // protects following
	n    int
	zero chan struct{} // closed when n drops to 0
}

func (c *calls) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.zero = make(chan struct{})
	}
	c.n++
}

func (c *calls) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 {
		close(c.zero)
	}
}

func (c *calls) wait(ctx context.Context) error {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return nil
	}
	z := c.zero
	c.mu.Unlock()
	select {
	case <-z:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) newCall(in call.Leg, info Inbound) *Call {
	c := &Call{
		e:      e,
		snap:   e.Config.Current(),
		in:     in,
		info:   info,
		visits: map[string]int{},
		log:    e.logger().With("call", info.CallID),
	}
	c.router = c.newRouter()
	c.rec = cdr.Record{
		CallID:     info.CallID,
		Caller:     info.From.Number,
		CallerName: info.From.Name,
		Callee:     info.To,
		Trunk:      info.Trunk,
	}
	switch {
	case info.Trunk != "":
		c.rec.Direction = cdr.Inbound
	case c.isExtension(info.To), strings.HasPrefix(info.To, "*"),
		info.Extension != "" && c.snap.Site.ConferenceByNumber(info.To) != nil:
		c.rec.Direction = cdr.Internal
	default:
		c.rec.Direction = cdr.Outbound
	}
	if c.rec.CallerName == "" {
		c.rec.CallerName = c.callerName()
	}
	return c
}

// callerName is the name the CDR shows for a caller who sent none: the
// calling extension's, or the agent whose mobile called.
func (c *Call) callerName() string {
	if x, ok := c.extension(c.info.Extension); ok && x.Name != "" {
		return x.Name
	}
	for _, a := range c.snap.Site.Agents {
		if c.info.From.Number != "" && (a.Mobile == c.info.From.Number || a.Extension == c.info.From.Number) && a.Name != "" {
			return a.Name
		}
	}
	return ""
}

// forbidden records an outbound call the caller's permission refused.
func (c *Call) forbidden(ctx context.Context, t call.Target, d dialplan.Decision) {
	detail := fmt.Sprintf("%s may not dial %s: %s", c.info.From.Number, t.Number, d.Reason(t.Class))
	c.log.Warn("outbound call forbidden", "from", c.info.From.Number, "number", t.Number, "sent", d.Number,
		"number_class", d.Class.String(), "class", t.Class, "route", d.Route.Pattern, "refused", d.Refused)
	if c.e.Audit != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.e.Audit(actx, "sip", "call.forbidden", t.Number, detail); err != nil {
			c.log.Error("audit", "err", err)
		}
	}
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger.With("pkg", "flow")
	}
	return slog.Default().With("pkg", "flow")
}

func (e *Engine) publish(p events.Payload) {
	if e.Bus != nil {
		e.Bus.Publish(p)
	}
}

func (c *Call) isExtension(num string) bool {
	for _, x := range c.snap.Site.Extensions {
		if x.Number == num {
			return true
		}
	}
	return false
}

func (c *Call) extension(num string) (site.Extension, bool) {
	for _, x := range c.snap.Site.Extensions {
		if x.Number == num {
			return x, true
		}
	}
	return site.Extension{}, false
}

// route decides the first destination and runs the graph.
func (c *Call) route(ctx context.Context) call.Cause {
	var dest string
	switch {
	case c.info.Trunk != "":
		dest = c.inboundDestination(time.Now())
		if dest == "" {
			c.log.Info("no inbound route", "did", c.info.DID, "trunk", c.info.Trunk)
			return call.NotFound
		}
	case c.isExtension(c.info.To):
		dest = "extension:" + c.info.To
	case c.info.Extension != "" && c.isParkSlot(c.info.To):
		c.rec.Path = append(c.rec.Path, "park:"+c.info.To)
		c.enter("park:" + c.info.To)
		return c.retrieve(ctx, c.info.To)
	case c.isConferenceNumber():
		dest, _ = c.conferenceNumber()
	case c.info.Extension != "" && c.queueNumbered(c.info.To) != "":
		dest = site.DestQueue + ":" + c.queueNumbered(c.info.To)
	case c.info.Extension != "" && strings.HasPrefix(c.info.To, "*"):
		f, ok := c.e.feature(c.info.To)
		if !ok {
			return call.NotFound
		}
		c.rec.Path = append(c.rec.Path, "feature:"+c.info.To)
		c.enter("feature:" + c.info.To)
		return f(ctx, c)
	default:
		return c.dialOut(ctx, c.info.To, c.callerClass())
	}
	return c.run(ctx, dest)
}

func (c *Call) callerClass() string {
	if x, ok := c.extension(c.info.Extension); ok {
		return x.Permission
	}
	return site.PermInternal
}

// inboundDestination tries the routes with a caller: first (callers.go),
// then walks the others in file order: the first
// route whose match is the DID (or the FXO port, or "*") takes the call,
// unless it has a schedule that is closed and no otherwise, in which case
// the call falls through to the next route (docs/site-file.md).
func (c *Call) inboundDestination(now time.Time) string {
	if dest := c.callerRoute(now); dest != "" { // callers.go
		return dest
	}
	for _, r := range c.snap.Site.Inbound {
		if r.Caller != "" {
			continue
		}
		if r.Match != "*" && r.Match != c.info.DID {
			continue
		}
		if r.When == "" || c.scheduleOpen(r.When, now) {
			c.needSkills(r.Skills)
			return r.To
		}
		if r.Otherwise != "" {
			c.needSkills(r.Skills)
			return r.Otherwise
		}
	}
	return ""
}

func (c *Call) scheduleOpen(id string, now time.Time) bool {
	return c.e.scheduleOpen(c.snap, id, now)
}

// run follows destinations until one ends the call.
func (c *Call) run(ctx context.Context, dest string) call.Cause {
	limit := c.snap.Site.System.Loops()
	loopTo := c.snap.Site.System.LoopDest()
	for dest != "" {
		c.visits[dest]++
		if c.visits[dest] > limit {
			c.log.Warn("routing loop", "dest", dest, "visits", c.visits[dest])
			if c.visits[loopTo] > 0 || loopTo == dest {
				return call.Loop
			}
			dest = loopTo
			continue
		}
		c.rec.Path = append(c.rec.Path, dest)
		c.enter(dest)
		next, cause := c.node(ctx, dest)
		if next == "" {
			return cause
		}
		dest = next
	}
	return call.Normal
}

// ErrUnknownDestination is returned for a destination this firmware cannot
// route (never for a validated site).
var ErrUnknownDestination = errors.New("flow: unknown destination")

// node runs one destination and returns the next one ("" when the call is
// over, with its cause).
func (c *Call) node(ctx context.Context, dest string) (string, call.Cause) {
	kind, id, _ := strings.Cut(dest, ":")
	if cause, ok := refusal(kind); ok { // callers.go
		return "", cause
	}
	switch kind {
	case site.DestHangup:
		return "", call.Normal
	case site.DestExtension:
		return c.extensionNode(ctx, id)
	case site.DestAgent:
		return c.agentNode(ctx, id)
	case site.DestExternal:
		return "", c.dialOut(ctx, id, site.PermPremium) // the installer's number: any class
	case site.DestIVR:
		return c.ivr(ctx, id)
	case site.DestRingGroup:
		return c.ringGroup(ctx, id)
	case site.DestHunt:
		return c.hunt(ctx, id)
	case site.DestAnnounce:
		return c.announce(ctx, id)
	case site.DestVoicemail:
		return c.voicemail(ctx, id)
	case site.DestQueue:
		return c.queue(ctx, id)
	case site.DestConference:
		return c.conference(ctx, id)
	case site.DestDISA:
		return c.disa(ctx)
	}
	c.log.Warn("destination not routable in this firmware", "dest", dest)
	return "", call.Unavailable
}

// dialOut sends the call to an outside number through the outbound routes,
// judged with the caller's permission class.
func (c *Call) dialOut(ctx context.Context, number, class string) call.Cause {
	o := c.opts(ring.Opts{})
	t := call.Target{Kind: call.TargetExternal, Number: number, From: o.From, Class: class, Codecs: o.Codecs, Diversion: o.Diversion}
	res := c.ring(ctx, []ring.Entry{{Target: t, Label: "external:" + number, Keys: ring.NumberKeys(c.snap.Site, number), Member: number, Kind: "external"}}, "")
	if res.Answer == nil {
		return res.Cause
	}
	return c.connect(ctx, res.Answer, nil)
}

// finish ends the inbound leg and writes the CDR.
func (c *Call) finish(cause call.Cause) {
	callerGone := false
	select {
	case <-c.in.Done():
		callerGone = true
	default:
	}
	if !c.handedIn {
		c.in.Hangup(cause)
	}
	c.rec.End = time.Now()
	// Losing legs may still be hearing "call taken"; their CDR legs count.
	c.bg.Wait()
	c.mu.Lock()
	slices.SortStableFunc(c.rec.Legs, func(a, b cdr.Leg) int { return a.Start.Compare(b.Start) })
	c.mu.Unlock()
	if !c.rec.Answer.IsZero() {
		c.rec.Billable = c.rec.End.Sub(c.rec.Answer).Truncate(time.Second)
	}
	if callerGone && call.CauseOf(c.in.Err()) == call.NoAck {
		// The box answered and the caller never acknowledged: the edge
		// ended the call (its ports are free), which the CDR says.
		cause, callerGone = call.NoAck, false
	}
	if callerGone {
		// The caller hung up whatever was going on (a message, a menu, a
		// queue): a normal end, not a failure of the box.
		if c.rec.HangupBy == "" {
			c.rec.HangupBy = cdr.ByCaller
		}
		switch cause {
		case call.MediaTimeout, call.Shutdown, call.SessionExpired:
		default:
			cause = call.Normal
			if c.rec.Answer.IsZero() {
				cause = call.Cancelled
			}
		}
	}
	if c.rec.HangupBy == "" {
		c.rec.HangupBy = cdr.BySystem
	}
	c.rec.Cause = cause.String()
	if c.rec.Direction == cdr.Outbound && c.rec.Trunk == "" {
		// Unanswered: the trunk tried last.
		for i := len(c.rec.Legs) - 1; i >= 0; i-- {
			if l := c.rec.Legs[i]; l.Trunk != "" {
				c.rec.Trunk, c.rec.NumberSent = l.Trunk, l.Number
				break
			}
		}
	}
	c.e.saveCDR(c.rec, c.log)
	c.e.publish(events.CallEnded{Call: c.info.CallID, Cause: c.rec.Cause, Billable: c.rec.Billable.Seconds()})
}
