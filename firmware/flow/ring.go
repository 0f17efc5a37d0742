package flow

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/presence"
)

// DefaultConfirmWait is how long an answering leg has to press 1 after the
// "call for the office" prompts.
const DefaultConfirmWait = 10 * time.Second

// ringEntry is one target rung during [at, until) from the start of the
// ringing. Entries are skipped, not rung, when check gives a reason.
type ringEntry struct {
	target  call.Target
	label   string        // CDR leg target: "ext:101", "agent:bob/mobile:+1555…"
	keys    []string      // presence keys while bridged
	at      time.Duration // start
	until   time.Duration // end; 0: until the far end gives up
	confirm bool          // the leg must press 1 before it is bridged

	// check says why the entry must not ring at now ("" to ring); busy
	// reports whether any of its keys is on a call. nil: always rings.
	check func(now time.Time, busy func(keys ...string) bool) string

	// For Plan and the log.
	member string
	round  int // 1-based pass through the stages (ring groups)
	stage  int // 1-based stage (ring groups) or step (hunt groups)
	kind   string
}

// answered is the winner of a ringing.
type answered struct {
	leg   call.Leg
	entry *ringEntry
	rec   cdr.Leg // completed and added to the CDR by connect
}

type ringResult struct {
	ans   *answered
	cause call.Cause
}

func (e *Engine) presence() *presence.Tracker {
	e.presOnce.Do(func() {
		e.pres = e.Presence
		if e.pres == nil {
			e.pres = presence.New(e.Bus)
		}
	})
	return e.pres
}

func (e *Engine) confirmWait() time.Duration {
	if e.ConfirmWait > 0 {
		return e.ConfirmWait
	}
	return DefaultConfirmWait
}

func (c *Call) addLeg(l cdr.Leg) {
	c.mu.Lock()
	c.rec.Legs = append(c.rec.Legs, l)
	c.mu.Unlock()
}

// ring rings entries on their schedule until one answers (and confirms),
// all have ended, or the caller hangs up. Meanwhile the caller hears
// ringback (or the music class). With no winner it returns the cause:
// Busy or another single cause when every leg ended with it, Cancelled when
// the caller left, Unavailable when nobody could be rung, else NoAnswer.
func (c *Call) ring(ctx context.Context, entries []ringEntry, music string) (*answered, call.Cause) {
	entries = slices.Clone(entries)
	slices.SortStableFunc(entries, func(a, b ringEntry) int { return int(a.at - b.at) })
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopTone := c.ringback(gctx, music)
	defer stopTone()

	var mu sync.Mutex
	won := false
	claim := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if won {
			return false
		}
		won = true
		return true
	}
	busy := c.e.presence().Busy
	results := make(chan ringResult, len(entries))
	start := time.Now()
	var shift time.Duration // time skipped because nobody was left ringing
	next, active := 0, 0
	var causes []call.Cause
	// launch starts every entry that is due; when nobody is ringing and
	// entries are still to come, the next one is due now.
	launch := func() {
		for {
			now := time.Since(start) + shift
			for next < len(entries) && entries[next].at <= now {
				e := &entries[next]
				next++
				if e.until > 0 && e.until <= e.at {
					continue
				}
				if e.check != nil {
					if why := e.check(time.Now(), busy); why != "" {
						c.log.Info("not rung", "member", e.member, "target", e.label, "reason", why)
						continue
					}
				}
				var deadline time.Time
				if e.until > 0 {
					deadline = start.Add(e.until - shift)
				}
				active++
				c.bg.Add(1)
				go func() {
					defer c.bg.Done()
					results <- c.ringOne(gctx, e, deadline, claim)
				}()
			}
			if active > 0 || next >= len(entries) {
				return
			}
			shift += entries[next].at - now
		}
	}
	launch()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if active == 0 && next >= len(entries) {
			return nil, combine(causes)
		}
		var due <-chan time.Time
		if next < len(entries) {
			timer.Reset(time.Until(start.Add(entries[next].at - shift)))
			due = timer.C
		}
		select {
		case <-due:
			launch()
		case r := <-results:
			active--
			if r.ans != nil {
				cancel(call.AnsweredElsewhere)
				return r.ans, call.Normal
			}
			causes = append(causes, r.cause)
			launch()
		case <-c.in.Done():
			cancel(call.Cancelled)
			return nil, call.Cancelled
		case <-ctx.Done():
			cancel(context.Cause(ctx))
			return nil, call.CauseOf(context.Cause(ctx))
		}
	}
}

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
		return call.NoAnswer // a decline only moves the group on
	}
	return first
}

// ringOne rings one entry until it answers (and confirms), deadline, or
// ctx ends.
func (c *Call) ringOne(ctx context.Context, e *ringEntry, deadline time.Time, claim func() bool) ringResult {
	lctx := ctx
	if !deadline.IsZero() {
		var stop context.CancelFunc
		lctx, stop = context.WithDeadlineCause(ctx, deadline, call.NoAnswer)
		defer stop()
	}
	rec := cdr.Leg{Target: e.label, Start: time.Now()}
	end := func(cause call.Cause) ringResult {
		rec.End, rec.Cause = time.Now(), cause.String()
		c.addLeg(rec)
		return ringResult{cause: cause}
	}
	leg, err := c.e.Dialer.Dial(lctx, e.target)
	if err != nil {
		return end(call.CauseOf(err))
	}
	rec.ID = leg.ID()
	if err := leg.Answer(lctx); err != nil {
		cause := call.CauseOf(context.Cause(lctx))
		if lctx.Err() == nil {
			cause = call.CauseOf(err)
		}
		leg.Hangup(cause)
		return end(cause)
	}
	rec.Answer = time.Now()
	if e.confirm {
		if cause := c.confirm(ctx, leg); cause != call.Normal {
			if cause == call.AnsweredElsewhere {
				c.tooLate(leg)
			}
			leg.Hangup(cause)
			return end(cause)
		}
	}
	if !claim() {
		c.tooLate(leg)
		leg.Hangup(call.AnsweredElsewhere)
		return end(call.AnsweredElsewhere)
	}
	return ringResult{ans: &answered{leg: leg, entry: e, rec: rec}}
}

// confirm plays "call for the office, press 1 to accept, 2 to decline" to
// an answered leg and waits for the key: Normal for 1, Rejected for 2,
// NoAnswer when no key comes (a mobile's own voicemail never presses 1),
// or the ringing's cause when it ended meanwhile.
func (c *Call) confirm(ctx context.Context, leg call.Leg) call.Cause {
	m := leg.Media()
	if src := c.prompts(rateOf(m), "call-for-office", "accept-decline"); src != nil {
		if err := m.Play(ctx, src, true); err != nil {
			if ctx.Err() != nil {
				return call.CauseOf(context.Cause(ctx))
			}
			return call.NoAnswer
		}
	}
	t := time.NewTimer(c.e.confirmWait())
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

// tooLate tells a leg that answered after the winner that the call was
// taken.
func (c *Call) tooLate(leg call.Leg) {
	select {
	case <-leg.Done():
		return
	default:
	}
	if src := c.prompts(rateOf(leg.Media()), "call-taken"); src != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		leg.Media().Play(ctx, src, false)
	}
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

// answer answers the caller once.
func (c *Call) answer(ctx context.Context) error {
	if c.answered {
		return nil
	}
	if err := c.in.Answer(ctx); err != nil {
		return err
	}
	c.answered = true
	c.rec.Answer = time.Now()
	return nil
}

// callerKeys are the presence keys of the calling side: the calling
// extension and its agent.
func (c *Call) callerKeys() []string {
	if c.info.Extension == "" {
		return nil
	}
	return c.e.extKeys(c.snap, c.info.Extension)
}

// connect answers the caller (if the flow had not yet), marks everyone on
// the call busy, and bridges the caller with the winner until one ends.
func (c *Call) connect(ctx context.Context, a *answered) call.Cause {
	out := a.leg
	defer func() {
		a.rec.End = time.Now()
		if err := out.Err(); err != nil {
			a.rec.Cause = call.CauseOf(err).String()
		} else {
			a.rec.Cause = call.Normal.String()
		}
		c.addLeg(a.rec)
	}()
	if err := c.answer(ctx); err != nil {
		out.Hangup(call.Normal)
		return call.CauseOf(err)
	}
	end := c.e.presence().Begin(append(slices.Clone(a.entry.keys), c.callerKeys()...)...)
	defer end()
	c.peer = out
	c.e.publish("call.answered", map[string]any{"call": c.info.CallID, "by": a.entry.label})
	berr := c.bridge(ctx, out)
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
	if berr != nil && call.CauseOf(berr) == call.MediaTimeout {
		// The RTP stopped: the bridge noticed before either leg ended.
		cause = call.MediaTimeout
		c.rec.HangupBy = "system"
	}
	if e := c.in.Err(); e != nil && call.CauseOf(e) == call.MediaTimeout {
		cause = call.MediaTimeout
	}
	if e := out.Err(); e != nil && call.CauseOf(e) == call.MediaTimeout {
		cause = call.MediaTimeout
	}
	out.Hangup(call.Normal)
	return cause
}

// bridge relays caller and out, recording when an announcement asked. It
// returns why the bridge ended when neither leg hung up (a media timeout).
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
					c.e.publish("recording.stopped", map[string]any{"call": c.info.CallID, "path": res.Path, "reason": res.Err.Error()})
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
