package acd

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"ringbox/audio/prompts"
	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

// caller is one caller in a queue. The actor owns every field but out,
// which carries exactly one outcome to the caller's goroutine, and qc,
// which is read-only.
type caller struct {
	id      string
	queue   string
	leg     call.Leg
	from    call.Party
	qc      flow.QueueCall
	joined  time.Time
	origPos int
	out     chan outcome

	offers    map[string]*offer    // agent id -> offer in progress
	retryAt   map[string]time.Time // agent id -> not before
	progStart time.Time
	progCount int
	sent      bool
	done      bool // left the waiting list
	agent     string
	connected time.Time
}

// outcome is how a caller leaves the waiting list.
type outcome struct {
	ans   *ring.Answer // the agent who answered; nil otherwise
	dest  string       // next destination; "" ends the call with cause
	cause call.Cause
}

func (c *caller) send(o outcome) {
	if !c.sent {
		c.sent = true
		c.out <- o
	}
}

var _ flow.QueueRunner = (*Engine)(nil)

// RunQueue holds a caller in queue q.Queue until an agent answers (the
// flow then connects them and calls the result's Done when the call is
// over) or the queue sends the caller on: exit_to on the exit key,
// on_timeout after max_wait, on_empty with no present agent. It answers
// the caller's leg (through q.Answer) so the caller hears music. It
// implements flow.QueueRunner.
func (e *Engine) RunQueue(ctx context.Context, qc flow.QueueCall) flow.QueueResult {
	select {
	case <-e.started:
	case <-ctx.Done():
		return flow.QueueResult{Cause: call.CauseOf(context.Cause(ctx))}
	}
	snap := qc.Snap
	if snap == nil {
		snap = e.cfg.Config.Current()
		qc.Snap = snap
	}
	var q *site.Queue
	for i := range snap.Site.Queues {
		if snap.Site.Queues[i].ID == qc.Queue {
			q = &snap.Site.Queues[i]
		}
	}
	if q == nil {
		return flow.QueueResult{Cause: call.NotFound}
	}
	answer := qc.Answer
	if answer == nil {
		answer = qc.Caller.Answer
	}
	if err := answer(ctx); err != nil {
		return flow.QueueResult{Cause: call.CauseOf(err)}
	}
	from := qc.From
	if from.Number == "" {
		from = qc.Caller.Remote()
	}
	if qc.Dialer == nil {
		qc.Dialer = e.cfg.Dialer
	}
	if qc.Opts.From == (call.Party{}) {
		qc.Opts.From = from
	}
	c := &caller{id: qc.CallID, queue: q.ID, leg: qc.Caller, from: from, qc: qc, out: make(chan outcome, 1),
		offers: map[string]*offer{}, retryAt: map[string]time.Time{}}
	if c.id == "" {
		c.id = qc.Caller.ID()
	}
	if err := e.do(context.Background(), func() { e.join(c) }); err != nil {
		return flow.QueueResult{Cause: call.Shutdown}
	}
	h := e.newHold(snap, q, c.leg)
	defer h.stop()

	var maxWait <-chan time.Time
	if d := q.MaxWait.D(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		maxWait = t.C
	}
	var comfort, announce <-chan time.Time
	if q.Comfort != nil && q.Comfort.Every > 0 && len(q.Comfort.Prompts) > 0 {
		t := time.NewTicker(q.Comfort.Every.D())
		defer t.Stop()
		comfort = t.C
	}
	if q.AnnouncePosition > 0 {
		t := time.NewTicker(q.AnnouncePosition.D())
		defer t.Stop()
		announce = t.C
	}
	nextComfort := 0
	// leave asks the actor to let c go; if an agent was connected (or the
	// queue emptied) a moment before, that outcome wins.
	leave := func(ev, key, dest string, cause call.Cause) outcome {
		mine := false
		if err := e.do(context.Background(), func() {
			if !c.done {
				mine = true
				e.exit(c, ev, key, dest)
			}
		}); err != nil {
			// The engine stopped: its shutdown sent the outcome.
			return <-c.out
		}
		o := <-c.out
		if mine {
			o.cause = cause
		}
		return o
	}
	var o outcome
wait:
	for {
		select {
		case o = <-c.out:
			break wait
		case <-c.leg.Done():
			o = leave(EvAbandon, "", "", call.Cancelled)
			break wait
		case <-ctx.Done():
			o = leave(EvAbandon, "", "", call.CauseOf(context.Cause(ctx)))
			break wait
		case <-maxWait:
			o = leave(EvExitTimeout, "", orHangup(q.OnTimeout), call.NoAnswer)
			break wait
		case d := <-c.leg.Media().Digits():
			if q.ExitKey != "" && q.ExitTo != "" && string(d.Key) == q.ExitKey {
				o = leave(EvExitKey, q.ExitKey, q.ExitTo, call.Normal)
				break wait
			}
		case <-comfort:
			id := q.Comfort.Prompts[nextComfort%len(q.Comfort.Prompts)]
			nextComfort++
			if pcm, ok := e.cfg.Prompt(h.lang, id, h.rate); ok {
				h.splice([][]int16{pcm})
			}
		case <-announce:
			var pos int
			var ewt time.Duration
			if e.do(ctx, func() { pos, ewt = e.estimate(c) }) == nil && pos > 0 {
				h.splice(e.announcement(h.lang, h.rate, pos, ewt))
			}
		}
	}
	h.stop()
	if o.ans == nil {
		return flow.QueueResult{Next: o.dest, Cause: o.cause}
	}
	start := time.Now()
	return flow.QueueResult{Answer: o.ans, Done: func(byCaller bool) {
		talk := time.Since(start)
		if err := e.do(context.Background(), func() { e.callEnded(c, byCaller, talk) }); err != nil {
			e.log.Warn("queue call ended after the engine stopped", "queue", c.queue, "call", c.id)
		}
	}}
}

func orHangup(dest string) string {
	if dest == "" {
		return site.DestHangup
	}
	return dest
}

// announcement is "you are caller number N" and, when the estimate is a
// minute or more, "your estimated waiting time is about M minutes".
func (e *Engine) announcement(lang string, rate, pos int, ewt time.Duration) [][]int16 {
	clips, _ := prompts.Position(lang, min(pos, prompts.MaxNumber), rate)
	if ewt >= time.Minute {
		m := int(math.Ceil(ewt.Minutes()))
		if w, ok := prompts.WaitMinutes(lang, min(m, prompts.MaxNumber), rate); ok {
			clips = append(clips, w...)
		}
	}
	return clips
}

// join adds c to the waiting list (actor).
func (e *Engine) join(c *caller) {
	c.joined = time.Now()
	e.waiting = append(e.waiting, c)
	c.origPos = e.waitingIn(c.queue)
	e.qlog(c.queue, c.id, "NONE", EvEnterQueue, "", c.from.Number, itoa(int64(c.origPos)))
	e.publish(events.QueueCaller{Queue: c.queue, Call: c.id, Event: "joined", From: c.from.Number, Position: c.origPos})
	if e.presentIn(c.queue) == 0 {
		if qc, ok := e.queueCfg(c.queue); ok && qc.OnEmpty != "" {
			e.exit(c, EvExitEmpty, "", qc.OnEmpty)
		}
	}
}

// position is c's place among its queue's waiting callers (1 first).
func (e *Engine) position(c *caller) int {
	n := 0
	for _, w := range e.waiting {
		if w.queue == c.queue {
			n++
		}
		if w == c {
			return n
		}
	}
	return 0
}

// estimate is c's position and estimated wait: the callers ahead share the
// queue's agents who are logged in and available (busy or not), each call
// taking the recent average handle time. No history: no estimate.
func (e *Engine) estimate(c *caller) (int, time.Duration) {
	pos := e.position(c)
	if pos == 0 {
		return 0, 0
	}
	q := e.queues[c.queue]
	agents := 0
	for _, m := range e.members[c.queue] {
		if m.a.status == Available && m.a.inHours && !m.a.outOf[c.queue] {
			agents++
		}
	}
	return pos, time.Duration(math.Ceil(float64(pos)/float64(max(agents, 1)))) * q.aht()
}

// remove takes c off the waiting list.
func (e *Engine) remove(c *caller) {
	if i := slices.Index(e.waiting, c); i >= 0 {
		e.waiting = slices.Delete(e.waiting, i, i+1)
	}
}

// exit ends c's wait with a terminal queue-log event and sends it on.
func (e *Engine) exit(c *caller, ev, key, dest string) {
	if c.done {
		return
	}
	pos := e.position(c)
	c.done = true
	e.remove(c)
	for _, o := range c.offers {
		o.stop(call.Cancelled)
	}
	wait := secs(time.Since(c.joined))
	data := []string{itoa(int64(pos)), itoa(int64(c.origPos)), wait}
	if ev == EvExitKey {
		data = append([]string{key}, data...)
	}
	e.qlog(c.queue, c.id, "NONE", ev, data...)
	e.publish(events.QueueCaller{Queue: c.queue, Call: c.id, Event: eventName(ev), To: dest})
	c.send(outcome{dest: dest, cause: call.Normal})
}

// callEnded records the end of a connected queue call and starts wrap-up.
func (e *Engine) callEnded(c *caller, byCaller bool, talk time.Duration) {
	a := e.agents[c.agent]
	ev := EvCompleteAgent
	if byCaller {
		ev = EvCompleteCaller
	}
	e.qlog(c.queue, c.id, c.agent, ev, secs(c.connected.Sub(c.joined)), secs(talk), itoa(int64(c.origPos)))
	e.publish(events.QueueCaller{Queue: c.queue, Call: c.id, Event: "completed", Agent: c.agent})
	if a == nil {
		return
	}
	qc, _ := e.queueCfg(c.queue)
	a.talk += talk
	a.onCall = nil
	wrap := qc.Wrapup.D()
	if q := e.queues[c.queue]; q != nil {
		q.addHandle(talk + wrap)
	}
	e.afterCall(a, wrap, c.queue, c.id)
}

// hold is what a waiting caller hears: the queue's music (or ringback when
// there is no such music) with comfort messages spliced in.
type hold struct {
	lang     string
	rate     int
	sp       splicer
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
	closer   func()
}

type splicer interface {
	call.Source
	Splice(clip []int16)
}

// newHold starts playing to leg; stop ends it.
func (e *Engine) newHold(snap *config.Snapshot, q *site.Queue, leg call.Leg) *hold {
	h := &hold{lang: e.lang(), rate: rateOf(leg.Media()), done: make(chan struct{})}
	if e.cfg.MOH != nil {
		class := q.HoldMusic
		if class == "" {
			class = "default"
		}
		if l, err := e.cfg.MOH.Listen(class, h.rate); err == nil {
			h.sp, h.closer = l, l.Close
		} else {
			e.log.Warn("hold music", "queue", q.ID, "class", class, "err", err)
		}
	}
	if h.sp == nil {
		var inner call.Source = silence{}
		if z, err := tone.Zone(snap.Site.System.Zone()); err == nil {
			inner = z.Source(tone.Ringback, h.rate)
		}
		h.sp = &spliced{inner: inner}
	}
	if pcm, ok := e.cfg.Prompt(h.lang, "please-hold", h.rate); ok {
		h.sp.Splice(pcm)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		playHold(ctx, leg.Media(), h.sp)
	}()
	return h
}

// g711Source is a hold-music listener that hands out frames already
// encoded, one encoding per class and codec shared by every listener.
type g711Source interface {
	ReadULaw(f []byte) bool
	ReadALaw(f []byte) bool
}

// encodedPlayer is a leg's Media that sends pre-encoded G.711 frames.
type encodedPlayer interface {
	PlayEncoded(ctx context.Context, src interface {
		ReadULaw([]byte) bool
		ReadALaw([]byte) bool
	}, bargeIn bool) error
}

// playHold plays hold music without encoding it per caller when the leg
// speaks G.711 and can take encoded frames; otherwise as PCM.
func playHold(ctx context.Context, m call.Media, src call.Source) {
	if enc, ok := src.(g711Source); ok {
		if p, ok := m.(encodedPlayer); ok && (m.Codec() == "PCMU" || m.Codec() == "PCMA") {
			p.PlayEncoded(ctx, enc, false)
			return
		}
	}
	m.Play(ctx, src, false)
}

// splice plays clips to this caller now, replacing one still playing.
func (h *hold) splice(clips [][]int16) {
	var all []int16
	for _, c := range clips {
		all = append(all, c...)
	}
	if len(all) > 0 {
		h.sp.Splice(all)
	}
}

// Splicing reports whether a message is playing (tests).
func (h *hold) splicing() bool {
	if s, ok := h.sp.(interface{ Splicing() bool }); ok {
		return s.Splicing()
	}
	return false
}

func (h *hold) stop() {
	h.stopOnce.Do(func() {
		h.cancel()
		<-h.done
		if h.closer != nil {
			h.closer()
		}
	})
}

// spliced is a source with clips spliced over it, like moh.Listener, for
// callers who hear ringback.
type spliced struct {
	inner call.Source
	mu    sync.Mutex // protects clip
	clip  []int16
}

func (s *spliced) Splice(clip []int16) {
	s.mu.Lock()
	s.clip = clip
	s.mu.Unlock()
}

func (s *spliced) Splicing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clip) > 0
}

func (s *spliced) ReadFrame(f []int16) bool {
	s.mu.Lock()
	if len(s.clip) > 0 {
		n := copy(f, s.clip)
		clear(f[n:])
		s.clip = s.clip[n:]
		s.mu.Unlock()
		return true
	}
	s.mu.Unlock()
	return s.inner.ReadFrame(f)
}

type silence struct{}

func (silence) ReadFrame(f []int16) bool { clear(f); return true }

func rateOf(m call.Media) int {
	if m.Codec() == "G722" {
		return 16000
	}
	return 8000
}
