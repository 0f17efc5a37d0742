// Package flow routes calls through the destinations of the site file:
// IVRs, staged ring groups, hunt groups, queues (through [QueueRunner]),
// announcements, extensions, agents, voicemail, external numbers and
// hang-up, with schedules deciding inbound routes.
//
// Each call runs on its own goroutine, reading top to bottom like the dial
// plan it is: a node function handles one destination and returns the next
// one. The call keeps the configuration snapshot it started with.
//
// # Ringing
//
// Every node that rings someone (extension, agent, ring group, hunt group,
// external) builds a list of timed targets, each ringing during a window
// measured from the start of the ringing, and hands it to one controller
// ([Call] ring). The first target to answer (and, with confirm, to press 1)
// wins; the others stop with call.AnsweredElsewhere. Members that are on a
// call, off hours or in do-not-disturb are skipped, not rung, and when
// nobody is left ringing the next window starts at once instead of the
// caller waiting through silence. [Engine.Plan] runs the same schedule dry.
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
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/presence"
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
}

// Engine routes calls.
type Engine struct {
	Config  *config.Store
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
	// OverrideStore saves schedule overrides; nil: memory only.
	OverrideStore OverrideStore
	// Features adds feature codes (queue login) to the built-in ones; see
	// features.go.
	Features map[string]FeatureFunc

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
	// Audit records schedule overrides (the store's InsertAudit behind a
	// closure); nil: only the log.
	Audit func(ctx context.Context, actor, action, object, detail string) error
	// Actor names who made an HTTP request, for the audit log; nil: "api".
	Actor func(r *http.Request) string
	// ConfirmWait is how long an answering leg has to press 1 after the
	// confirm prompts (0: 10s).
	ConfirmWait time.Duration

	presOnce sync.Once
	pres     *presence.Tracker

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
// the queue sends the caller on (on_timeout, on_empty, exit_to). It returns
// the next destination, or "" with the cause when the call is over. The
// ACD (package acd) implements it.
type QueueRunner interface {
	RunQueue(ctx context.Context, q QueueCall) (next string, cause call.Cause)
}

// QueueCall is a caller entering a queue.
type QueueCall struct {
	Queue  string // queue id
	CallID string
	Caller call.Leg
	From   call.Party
	Snap   *config.Snapshot // the call's configuration
	// Path so far, for the queue log and the CDR.
	Path []string
	// RecordPath, when set, asks the queue to record the conversation
	// there (with call.RecordingBridger): an announcement with record:
	// true came before.
	RecordPath string
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
	peer   call.Leg // the bridged party, once answered

	answered   bool // the inbound leg was answered
	progressed bool // Progress was sent
	record     bool // bridge with recording (an announcement asked)
	busy       bool // the last ringing ended busy (voicemail's busy greeting)

	bg sync.WaitGroup // ring goroutines still finishing (losers, call-taken)
	mu sync.Mutex     // protects rec.Legs
}

// Handle routes one inbound leg until the call ends. It writes the call's
// CDR before returning.
func (e *Engine) Handle(ctx context.Context, in call.Leg, info Inbound) {
	c := &Call{
		e:      e,
		snap:   e.Config.Current(),
		in:     in,
		info:   info,
		visits: map[string]int{},
		log:    e.logger().With("call", info.CallID),
	}
	c.rec = cdr.Record{
		CallID:     info.CallID,
		Caller:     info.From.Number,
		CallerName: info.From.Name,
		Callee:     info.To,
		Trunk:      info.Trunk,
		Start:      time.Now(),
	}
	switch {
	case info.Trunk != "":
		c.rec.Direction = "inbound"
	case c.isExtension(info.To):
		c.rec.Direction = "internal"
	default:
		c.rec.Direction = "outbound"
	}
	e.publish("call.started", map[string]any{"call": info.CallID, "from": info.From.Number, "to": info.To, "direction": c.rec.Direction})

	cause := c.route(ctx)
	c.finish(cause)
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger.With("pkg", "flow")
	}
	return slog.Default().With("pkg", "flow")
}

func (e *Engine) publish(typ string, data any) {
	if e.Bus != nil {
		e.Bus.Publish(typ, data)
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
	case c.info.Extension != "" && strings.HasPrefix(c.info.To, "*"):
		f, ok := c.e.feature(c.info.To)
		if !ok {
			return call.NotFound
		}
		c.rec.Path = append(c.rec.Path, "feature:"+c.info.To)
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

// inboundDestination walks the inbound routes in file order: the first
// route whose match is the DID (or the FXO port, or "*") takes the call,
// unless it has a schedule that is closed and no otherwise, in which case
// the call falls through to the next route (docs/site-file.md).
func (c *Call) inboundDestination(now time.Time) string {
	for _, r := range c.snap.Site.Inbound {
		if r.Match != "*" && r.Match != c.info.DID {
			continue
		}
		if r.When == "" {
			return r.To
		}
		if c.scheduleOpen(r.When, now) {
			return r.To
		}
		if r.Otherwise != "" {
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
	switch kind {
	case site.DestHangup:
		return "", call.Normal
	case site.DestExtension:
		return c.extensionNode(ctx, id)
	case site.DestAgent:
		return c.agentNode(ctx, id)
	case site.DestExternal:
		return "", c.dialOut(ctx, id, site.PermInternational)
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
	}
	c.log.Warn("destination not routable in this firmware", "dest", dest)
	return "", call.Unavailable
}

// dialOut sends the call to an outside number through the outbound routes.
func (c *Call) dialOut(ctx context.Context, number, class string) call.Cause {
	t := call.Target{Kind: call.TargetExternal, Number: number, From: c.info.From, Class: class}
	ans, cause := c.ring(ctx, []ringEntry{{target: t, label: "external:" + number, keys: c.e.numberKeys(c.snap, number)}}, "")
	if ans == nil {
		return cause
	}
	return c.connect(ctx, ans)
}

// finish ends the inbound leg and writes the CDR.
func (c *Call) finish(cause call.Cause) {
	c.in.Hangup(cause)
	c.rec.End = time.Now()
	// Losing legs may still be hearing "call taken"; their CDR legs count.
	c.bg.Wait()
	c.mu.Lock()
	slices.SortStableFunc(c.rec.Legs, func(a, b cdr.Leg) int { return a.Start.Compare(b.Start) })
	c.mu.Unlock()
	if !c.rec.Answer.IsZero() {
		c.rec.Billable = c.rec.End.Sub(c.rec.Answer).Truncate(time.Second)
	}
	c.rec.Cause = cause.String()
	if c.rec.HangupBy == "" {
		c.rec.HangupBy = "system"
		select {
		case <-c.in.Done():
			if e := c.in.Err(); e != nil && call.CauseOf(e) == call.Cancelled {
				c.rec.HangupBy = "caller"
			}
		default:
		}
	}
	if c.e.CDR != nil {
		// The call is over; its context may be gone, the record must not be.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.e.CDR.InsertCDR(ctx, c.rec); err != nil {
			c.log.Error("save cdr", "err", fmt.Errorf("save cdr %s: %w", c.rec.CallID, err))
		}
	}
	c.e.publish("call.ended", map[string]any{"call": c.info.CallID, "cause": c.rec.Cause, "billable": c.rec.Billable.Seconds()})
}
