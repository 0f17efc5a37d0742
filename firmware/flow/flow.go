// Package flow routes calls through the destinations of the site file:
// extensions, external numbers, and (as later issues add them) IVRs, ring
// groups, hunt groups, queues, announcements, schedules and voicemail.
//
// Each call runs on its own goroutine, reading top to bottom like the dial
// plan it is: a node function handles one destination and returns the next
// one. The call keeps the configuration snapshot it started with.
//
// flow sees only the call model (package call); it never imports sip or
// board.
package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/presence"
	"ringbox/firmware/site"
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
	// Features adds feature codes (queue login, voicemail) to the built-in
	// ones; see features.go.
	Features map[string]FeatureFunc
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
	for i := range c.snap.Site.Schedules {
		if s := &c.snap.Site.Schedules[i]; s.ID == id {
			return s.OpenAt(now, c.snap.Loc)
		}
	}
	return false
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
	case "hangup":
		return "", call.Normal
	case "extension":
		return "", c.ringExtension(ctx, id)
	case "external":
		return "", c.dialOut(ctx, id, site.PermInternational)
	}
	c.log.Warn("destination not routable in this firmware", "dest", dest)
	return "", call.Unavailable
}

// ringExtension rings one extension and bridges the caller to whoever
// answers.
func (c *Call) ringExtension(ctx context.Context, num string) call.Cause {
	x, ok := c.extension(num)
	if !ok {
		return call.NotFound
	}
	if x.DND {
		return call.Busy
	}
	ring := c.e.ExtensionRing
	if ring == 0 {
		ring = DefaultExtensionRing
	}
	return c.dialAndBridge(ctx, call.Target{Kind: call.TargetExtension, Number: num, From: c.info.From}, ring, "ext:"+num)
}

// dialOut sends the call to an outside number through the outbound routes.
func (c *Call) dialOut(ctx context.Context, number, class string) call.Cause {
	t := call.Target{Kind: call.TargetExternal, Number: number, From: c.info.From, Class: class}
	return c.dialAndBridge(ctx, t, 0, "external:"+number)
}

// dialAndBridge rings t for at most ring (0: until the far end gives up),
// relays ringing to the caller, and bridges on answer.
func (c *Call) dialAndBridge(ctx context.Context, t call.Target, ring time.Duration, label string) call.Cause {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if ring > 0 {
		var stop context.CancelFunc
		rctx, stop = context.WithTimeoutCause(rctx, ring, call.NoAnswer)
		defer stop()
	}
	legRec := cdr.Leg{Target: label, Start: time.Now()}
	out, err := c.e.Dialer.Dial(rctx, t)
	if err != nil {
		cause := call.CauseOf(err)
		legRec.End, legRec.Cause = time.Now(), cause.String()
		c.rec.Legs = append(c.rec.Legs, legRec)
		return cause
	}
	legRec.ID = out.ID()
	defer func() {
		legRec.End = time.Now()
		if ok := out.Err(); ok != nil {
			legRec.Cause = call.CauseOf(ok).String()
		}
		c.rec.Legs = append(c.rec.Legs, legRec)
	}()

	// The caller hanging up cancels the ringing leg.
	go func() {
		select {
		case <-c.in.Done():
			cancel(call.Cancelled)
		case <-rctx.Done():
		}
	}()
	if r, ok := out.(call.Ringer); ok {
		go func() {
			select {
			case <-r.Ringing():
				c.in.Progress(rctx)
			case <-rctx.Done():
			}
		}()
	}
	if err := out.Answer(rctx); err != nil {
		cause := call.CauseOf(context.Cause(rctx))
		if rctx.Err() == nil {
			cause = call.CauseOf(err)
		}
		out.Hangup(cause)
		legRec.Cause = cause.String()
		return cause
	}
	legRec.Answer = time.Now()
	if err := c.in.Answer(ctx); err != nil {
		out.Hangup(call.Normal)
		return call.CauseOf(err)
	}
	c.rec.Answer = time.Now()
	c.peer = out
	c.e.publish("call.answered", map[string]any{"call": c.info.CallID, "by": label})
	if c.e.Bridger != nil {
		c.e.Bridger.Bridge(ctx, c.in, out)
	}
	// Whoever is still up is hung up normally; remember who ended it.
	select {
	case <-c.in.Done():
		c.rec.HangupBy = "caller"
	default:
		select {
		case <-out.Done():
			c.rec.HangupBy = "callee"
		default:
			c.rec.HangupBy = "system"
		}
	}
	cause := call.Normal
	if e := c.in.Err(); e != nil && call.CauseOf(e) == call.MediaTimeout {
		cause = call.MediaTimeout
	}
	if e := out.Err(); e != nil && call.CauseOf(e) == call.MediaTimeout {
		cause = call.MediaTimeout
	}
	out.Hangup(call.Normal)
	return cause
}

// finish ends the inbound leg and writes the CDR.
func (c *Call) finish(cause call.Cause) {
	c.in.Hangup(cause)
	c.rec.End = time.Now()
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
