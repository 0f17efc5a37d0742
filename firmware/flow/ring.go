package flow

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/events"
	"ringbox/firmware/presence"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

func (e *Engine) presence() *presence.Tracker {
	e.presOnce.Do(func() {
		e.pres = e.Presence
		if e.pres == nil {
			e.pres = presence.New(e.Bus)
		}
	})
	return e.pres
}

// ringer is the box's one ringing engine, with the flow's prompts.
func (e *Engine) ringer() *ring.Ringer {
	e.ringOnce.Do(func() {
		if e.Ringer != nil {
			e.rng = e.Ringer
			return
		}
		e.rng = &ring.Ringer{ConfirmWait: e.ConfirmWait, Logger: e.Logger, Prompt: func(id string, rate int) (call.Source, bool) {
			src := e.promptSource(e.Config.Current().Site.System.Lang(), rate, id)
			return src, src != nil
		}}
	})
	return e.rng
}

// avail judges who may be rung for a call on snap.
func (c *Call) avail() ring.Avail {
	av := ring.Avail{Snap: c.snap, Busy: c.e.presence().Busy}
	if c.e.Agents != nil {
		av.Agents = c.e.Agents
	}
	return av
}

// opts are the ring options of this call: the caller as shown, their
// codecs, and the number a forwarded outside call was for.
func (c *Call) opts(o ring.Opts) ring.Opts {
	if o.From == (call.Party{}) {
		o.From = c.info.From
		// A phone that sends no display name is shown by its name in
		// the site (an extension's, an agent's): what rung phones and
		// analog caller ID display.
		if o.From.Name == "" {
			o.From.Name = c.rec.CallerName
		}
	}
	o.Codecs = c.in.Media().Codecs()
	if c.info.Trunk != "" {
		o.Diversion = c.info.DID
	}
	return o
}

func (c *Call) addLeg(l cdr.Leg) {
	c.mu.Lock()
	c.rec.Legs = append(c.rec.Legs, l)
	c.mu.Unlock()
}

// ring rings entries with the box's ringing engine while the caller hears
// ringback (or the music class).
func (c *Call) ring(ctx context.Context, entries []ring.Entry, music string) ring.Result {
	c.setLive(LiveRinging, nil)
	stopTone := c.ringback(ctx, music)
	defer stopTone()
	return c.e.ringer().Ring(ctx, ring.Request{Dialer: &c.router, Entries: entries, Caller: c.in,
		Record: c.addLeg, Wait: &c.bg, Log: c.log, Ringing: c.e.markRinging, Call: c.callInfo()})
}

// callInfo describes the call for the agent offer events: who calls,
// since when, and through what the call reaches the agent: the group or
// queue it is in, else the number it came in on.
func (c *Call) callInfo() ring.CallInfo {
	ci := ring.CallInfo{ID: c.info.CallID, From: c.info.From, Since: c.rec.Start}
	if ci.From.Name == "" {
		ci.From.Name = c.rec.CallerName
	}
	if n := len(c.rec.Path); n > 0 {
		last := c.rec.Path[n-1]
		kind, _, _ := strings.Cut(last, ":")
		switch kind {
		case site.DestRingGroup, site.DestHunt, site.DestQueue:
			ci.Via = last
		}
	}
	if ci.Via == "" {
		ci.Via = c.info.DID
	}
	if ci.Via == "" && len(c.rec.Path) > 0 {
		ci.Via = c.rec.Path[len(c.rec.Path)-1]
	}
	return ci
}

// markRinging marks an agent a group rings (presence key
// "ringing:agent:ID"), so the ACD does not offer them a queue call at the
// same moment.
func (e *Engine) markRinging(en ring.Entry) func() {
	if en.Agent == "" {
		return nil
	}
	return e.presence().Begin(ring.RingingKey(en.Agent))
}

// ringback sends progress to an unanswered caller once, then plays the
// zone's ringback tone (or the music class) until the returned stop is
// called; stop waits for the player to finish.
func (c *Call) ringback(ctx context.Context, music string) (stop func()) {
	if !c.answered && !c.progressed {
		c.progressed = true
		c.in.Progress(ctx)
	}
	rate := rateOf(c.in.Media())
	var src call.Source
	if music != "" && c.e.Music != nil {
		src = c.e.Music(music)
	}
	if src == nil {
		zone, err := tone.Zone(c.snap.Site.System.Zone())
		if err != nil {
			zone, _ = tone.Zone("us")
		}
		if zone != nil {
			src = zone.Source(tone.Ringback, rate)
		}
	}
	if src == nil {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.in.Media().Play(pctx, src, false)
		// A hold-music listener holds a place in its class's fan-out.
		if cl, ok := src.(interface{ Close() }); ok {
			cl.Close()
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// StoredWait bounds how long answering a call waits for its answer to be
// committed: a database that slow must not keep callers ringing.
const StoredWait = 2 * time.Second

// answer answers the caller once; the CDR's answer time is then.
//
// The answer is in the database before the caller is answered: a crash
// right after cannot lose the call (its row is older still) nor record it
// as never answered.
func (c *Call) answer(ctx context.Context) error {
	if c.answered {
		return nil
	}
	at := time.Now()
	t, track := c.e.CDR.(cdr.Tracker)
	if track {
		timer := time.NewTimer(StoredWait)
		select {
		case <-t.CallAnswered(c.rec.CallID, at):
		case <-timer.C:
			c.log.Warn("answering although the answer is not stored yet", "waited", StoredWait)
		case <-ctx.Done():
			timer.Stop()
			t.CallAnswered(c.rec.CallID, time.Time{})
			return context.Cause(ctx)
		}
		timer.Stop()
	}
	if err := c.in.Answer(ctx); err != nil {
		if track {
			t.CallAnswered(c.rec.CallID, time.Time{}) // not answered after all
		}
		return err
	}
	c.answered = true
	c.rec.Answer = time.Now()
	if track && c.rec.Answer.Sub(at) >= time.Millisecond {
		// The answer as it happened, after the wait: what the CDR says.
		t.CallAnswered(c.rec.CallID, c.rec.Answer)
	}
	return nil
}

// callerKeys are the presence keys of the calling side: the calling
// extension and its agent.
func (c *Call) callerKeys() []string {
	if c.info.Extension == "" {
		return nil
	}
	return ring.ExtKeys(c.snap.Site, c.info.Extension)
}

// callerAgent is the agent whose extension placed the call, if any.
func (c *Call) callerAgent() string {
	if c.info.Extension == "" {
		return ""
	}
	for _, a := range c.snap.Site.Agents {
		if a.Extension == c.info.Extension {
			return a.ID
		}
	}
	return ""
}

// connect is where every answered call goes, whatever rang it (an
// extension, a group, an outside number, a queue's agent): it answers the
// caller (if nothing had), marks both sides on a call, tells the ACD about
// agents' calls, bridges (recording when an announcement asked) until one
// side hangs up, and fills the CDR. done, when set, is the queue's: it
// learns who hung up once the call is over.
func (c *Call) connect(ctx context.Context, a *ring.Answer, done func(byCaller bool)) call.Cause {
	out := a.Leg
	// x is who is on the call while it is bridged: transfers
	// (transfer.go) change the far party and its CDR leg.
	x := &bridged{out: out, rec: a.Rec, ext: entryExtension(a.Entry), pending: c.pendingTransfer, pendingConsult: c.pendingConsult}
	c.pendingTransfer = nil
	byCaller := false
	defer func() {
		if !x.recorded {
			x.rec.End = time.Now()
			x.rec.Cause = call.Normal.String()
			if err := x.out.Err(); err != nil {
				x.rec.Cause = call.CauseOf(err).String()
			}
			c.addLeg(x.rec)
		}
		if done != nil {
			done(byCaller)
		}
	}()
	// A caller who has heard nothing yet answers with the winner's codec,
	// so the bridge relays without transcoding.
	if p, ok := c.in.Media().(call.CodecPreferrer); ok {
		p.PreferCodec(call.Unwrap(out).Media().Codec())
	}
	if t, ok := c.e.CDR.(cdr.Tracker); ok && x.rec.Trunk != "" {
		// A restart's CDR names the trunk that carried the call too; handed
		// in before the answer, it is stored before the caller hears it.
		t.CallRouted(c.rec.CallID, x.rec.Trunk, x.rec.Number)
	}
	if err := c.answer(ctx); err != nil {
		out.Hangup(call.Normal)
		byCaller = true
		return call.CauseOf(err)
	}
	// The far party's mark is x's: a transfer moves it to whoever is
	// then on the call (transfer.go).
	endPres := c.e.presence().Begin(c.callerKeys()...)
	defer endPres()
	x.endPres = c.e.presence().Begin(slices.Clone(a.Entry.Keys)...)
	defer func() { x.endPres() }()
	if a.StopRinging != nil {
		a.StopRinging()
	}
	if c.e.Agents != nil {
		// Queue calls are the ACD's own; any other call of an agent (the
		// callee, or the agent who placed it) is told, for the agent's
		// state and the wrap-up after all calls.
		// The callee agent's call ends when they leave it, which a
		// transfer makes earlier than the call's end (x.leave).
		if done == nil && a.Entry.Agent != "" {
			x.leave = append(x.leave, c.e.Agents.Talking(a.Entry.Agent, c.info.CallID))
		}
		if ag := c.callerAgent(); ag != "" && ag != a.Entry.Agent {
			defer c.e.Agents.Talking(ag, c.info.CallID)()
		}
	}
	if done != nil {
		// A queue's agent who transfers the caller on is done with the
		// call then: wrap-up and the queue log do not wait for its end.
		x.leaveDone = func() {
			done(false)
			done = nil
		}
	}
	defer func() {
		for _, f := range x.leave {
			f()
		}
	}()
	c.peer = out
	c.rec.Agent, c.rec.AnsweredBy = a.Entry.Agent, a.Entry.Label
	if x.rec.Trunk != "" {
		c.rec.Trunk, c.rec.NumberSent = x.rec.Trunk, x.rec.Number
	}
	c.setLive(LiveTalking, func(l *LiveCall) {
		l.Answered, l.AnsweredBy, l.Agent = time.Now(), a.Entry.Label, a.Entry.Agent
	})
	c.e.publish(events.CallAnswered{Call: c.info.CallID, By: a.Entry.Label, Agent: a.Entry.Agent})
	berr := c.bridgeTransfers(ctx, x)
	out = x.out
	switch {
	case x.handed:
		// The far party joined another call (an attended transfer by the
		// party on this side): it is that call's now, not to hang up.
		c.rec.HangupBy = cdr.BySystem
		return call.Normal
	case x.over:
		// A transfer sent the call on (a queue, a group, a recall that
		// was not answered): it ended there.
		return x.cause
	}
	// Whoever is still up is hung up normally; remember who ended it.
	select {
	case <-c.in.Done():
		c.rec.HangupBy, byCaller = cdr.ByCaller, true
	default:
		select {
		case <-out.Done():
			c.rec.HangupBy = cdr.ByCallee
		default:
			c.rec.HangupBy = cdr.BySystem
		}
	}
	cause := call.Normal
	if berr != nil && call.CauseOf(berr) == call.MediaTimeout {
		// The RTP stopped: the bridge noticed before either leg ended.
		cause = call.MediaTimeout
		c.rec.HangupBy = cdr.BySystem
	} else if berr != nil && ctx.Err() == nil {
		c.log.Error("bridge failed", "with", a.Entry.Label, "err", berr)
		cause = call.Failure
		c.rec.HangupBy = cdr.BySystem
	}
	// The box itself may have ended a leg: no RTP, or the box is
	// stopping. That is the system's doing, not the caller's.
	// (The unwrapped leg: a routed leg learns its trunk leg's end a moment
	// after the bridge does.)
	for _, l := range []call.Leg{c.in, call.Unwrap(out)} {
		if e := l.Err(); e != nil {
			if cc := call.CauseOf(e); cc == call.MediaTimeout || cc == call.Shutdown || cc == call.SessionExpired {
				cause = cc
				c.rec.HangupBy, byCaller = cdr.BySystem, false
			}
		}
	}
	out.Hangup(call.Normal)
	return cause
}

// bridge relays caller and out, recording when an announcement asked. It
// returns why the bridge ended when neither leg hung up (a media timeout,
// a failure).
func (c *Call) bridge(ctx context.Context, out call.Leg) error {
	if c.e.Bridger == nil {
		return nil
	}
	if c.record {
		if rb, ok := c.e.Bridger.(call.RecordingBridger); ok {
			if path := c.recordPath(); path != "" {
				res, err := rb.BridgeRecorded(ctx, c.in, out, path)
				c.rec.Recording = res.Path
				if c.rec.Recording == "" {
					c.rec.Recording = path
				}
				if res.Err != nil || (err != nil && ctx.Err() == nil) {
					c.log.Warn("recording stopped", "path", path, "err", res.Err, "bridge_err", err)
				}
				if res.Err != nil {
					// The call went on; the manager must learn the file is short.
					c.e.publish(events.RecordingStopped{Call: c.info.CallID, Path: res.Path, Reason: res.Err.Error()})
				}
				return err
			}
		} else {
			c.log.Warn("recording asked but the bridge cannot record")
		}
	}
	return c.e.Bridger.Bridge(ctx, c.in, out)
}

// recordPath is where this call's recording goes:
// RecordingsDir/YYYY-MM-DD/CALLID.wav (the date in the site's zone).
func (c *Call) recordPath() string {
	dir := c.e.RecordingsDir
	if dir == "" && c.e.DataDir != "" {
		dir = filepath.Join(c.e.DataDir, "recordings")
	}
	if dir == "" {
		c.log.Warn("recording asked but no recordings directory is set")
		return ""
	}
	dir = filepath.Join(dir, time.Now().In(c.snap.Loc).Format(time.DateOnly))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		c.log.Error("recordings directory", "dir", dir, "err", err)
		return ""
	}
	return filepath.Join(dir, safeFileName(c.info.CallID)+".wav")
}

func safeFileName(s string) string {
	b := []byte(s)
	for i, ch := range b {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_', ch == '.' && i > 0:
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "call"
	}
	return string(b)
}
