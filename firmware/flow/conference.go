package flow

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// Meet-me conference rooms (site conferences:) and three-way calls, on
// the media engine's mixer (Engine.Conferences).
//
// A caller reaches a room by dialling its number from an extension or
// through a conference:ID destination. The box answers; when the room
// has a PIN, the caller hears the stutter dial tone and types the PIN
// and # (a 5-second pause ends it too); a wrong PIN is told with the
// invalid-option prompt and the tone again; the third wrong PIN says
// goodbye and hangs up. A full room gives 3 seconds of busy tone. A
// member alone hears silence (the join tone told them they are in);
// everyone hears a rising beep when someone joins and a falling one when
// someone leaves (announce: tone, the default), and the member's mute key
// (default *6) toggles their mute: one low beep muted, two high ones
// unmuted. The room's mixer starts with its first member and ends with
// its last.

// Timing of the PIN entry.
const (
	pinDigitGap = 5 * time.Second  // a pause this long ends the PIN
	pinWait     = 15 * time.Second // no key at all this long: a wrong try
	pinTries    = 3
	fullTone    = 3 * time.Second // busy tone for a full room
)

// rooms are the meet-me rooms that have members, by id.
type rooms struct {
	mu sync.Mutex // protects m
	m  map[string]*room
}

// room is one running conference and how many members it holds or is
// about to hold.
type room struct {
	conf call.Conference
	n    int
}

// enter reserves a place in room id (max members), starting its mixer
// for the first member; false when the room is full.
func (r *rooms) enter(id string, max int, open func() call.Conference) (*room, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*room{}
	}
	rm := r.m[id]
	if rm == nil {
		rm = &room{conf: open()}
		r.m[id] = rm
	}
	if rm.n >= max {
		return nil, false
	}
	rm.n++
	return rm, true
}

// leave gives the place back; the last member out closes the mixer.
func (r *rooms) leave(id string, rm *room) {
	r.mu.Lock()
	rm.n--
	last := rm.n == 0
	if last && r.m[id] == rm {
		delete(r.m, id)
	}
	r.mu.Unlock()
	if last {
		rm.conf.Close()
	}
}

// members is the number of members of room id (0 when it is not running).
func (r *rooms) members(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm := r.m[id]; rm != nil {
		return rm.n
	}
	return 0
}

// conferenceNumber is the room an extension dialled by number, if any.
func (c *Call) conferenceNumber() (string, bool) {
	if c.info.Extension == "" {
		return "", false
	}
	if r := c.snap.Site.ConferenceByNumber(c.info.To); r != nil {
		return site.DestConference + ":" + r.ID, true
	}
	return "", false
}

func (c *Call) isConferenceNumber() bool {
	_, ok := c.conferenceNumber()
	return ok
}

// conference is the conference:ID destination: PIN, then the room until
// the caller hangs up.
func (c *Call) conference(ctx context.Context, id string) (string, call.Cause) {
	r := c.snap.Site.FindConference(id)
	if r == nil || c.e.Conferences == nil {
		c.log.Warn("conference unavailable", "room", id, "mixer", c.e.Conferences != nil)
		return "", call.Unavailable
	}
	if err := c.answer(ctx); err != nil {
		return "", call.CauseOf(err)
	}
	if r.PIN != "" && !c.askPIN(ctx, r.PIN) {
		if ctx.Err() == nil && !ended(c.in) {
			c.log.Warn("conference: wrong pin", "room", id, "caller", c.info.From.Number, "tries", pinTries)
			c.play(ctx, false, "goodbye")
			return "", call.Forbidden
		}
		return "", call.Normal
	}
	rm, ok := c.e.rooms.enter(id, r.Members(), c.e.Conferences.Conference)
	if !ok {
		c.log.Info("conference full", "room", id, "max", r.Members())
		c.playZoneTone(ctx, tone.Busy, fullTone)
		return "", call.Busy
	}
	defer c.e.rooms.leave(id, rm)
	// The member is on a call: busy lamps show it, groups skip them.
	defer c.e.presence().Begin(c.callerKeys()...)()
	c.log.Info("conference join", "room", id, "caller", c.info.From.Number)
	label := site.DestConference + ":" + id
	c.rec.AnsweredBy = label
	c.setLive(LiveTalking, func(l *LiveCall) { l.Answered, l.AnsweredBy = time.Now(), label })
	c.e.publish(events.CallAnswered{Call: c.info.CallID, By: label})
	return "", c.member(ctx, rm.conf, r.Tones(), r.Mute())
}

// member keeps c.in in conf until it hangs up or ctx ends, with join and
// leave tones when tones, and the mute key.
func (c *Call) member(ctx context.Context, conf call.Conference, tones bool, muteKey string) call.Cause {
	if tones {
		conf.Announce(nil, beeps(joinBeeps...))
	}
	mctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.muteKeys(mctx, conf, c.in, muteKey)
	}()
	err := conf.Join(mctx, c.in)
	cancel()
	wg.Wait()
	if tones && conf.Len() > 0 {
		conf.Announce(nil, beeps(leaveBeeps...))
	}
	c.log.Info("conference leave", "caller", c.info.From.Number, "why", err)
	if call.CauseOf(err) == call.Unavailable {
		return call.Unavailable // the leg's audio is not on a stream the mixer can take
	}
	return call.Normal
}

// muteKeys toggles l's mute in conf each time it types key, until ctx
// ends.
func (c *Call) muteKeys(ctx context.Context, conf call.Conference, l call.Leg, key string) {
	var typed []byte
	digits := l.Media().Digits()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-digits:
			typed = append(typed, d.Key)
			if len(typed) > len(key) {
				typed = typed[len(typed)-len(key):]
			}
			if string(typed) != key {
				continue
			}
			typed = typed[:0]
			muted := !conf.Muted(l)
			if !conf.SetMuted(l, muted) {
				continue
			}
			c.log.Info("conference mute", "leg", l.ID(), "muted", muted)
			if muted {
				conf.Announce(l, beeps(mutedBeeps...))
			} else {
				conf.Announce(l, beeps(unmutedBeeps...))
			}
		}
	}
}

// askPIN asks for pin up to pinTries times; true when it was typed.
func (c *Call) askPIN(ctx context.Context, pin string) bool {
	for try := range pinTries {
		if try > 0 {
			if err := c.play(ctx, false, "invalid-option"); err != nil {
				return false
			}
		}
		got, ok := c.readPIN(ctx)
		if !ok {
			return false
		}
		if got == pin {
			return true
		}
		c.log.Info("conference: wrong pin", "try", try+1)
	}
	return false
}

// readPIN plays the stutter dial tone until the first key, then reads
// keys until #, a pause of pinDigitGap, or 16 keys; ok false when the
// call ended.
func (c *Call) readPIN(ctx context.Context) (string, bool) {
	digits := c.in.Media().Digits()
	if zone, err := tone.Zone(c.snap.Site.System.Zone()); err == nil {
		// Barge-in: the first key stops the tone and stays in Digits.
		tctx, cancel := context.WithTimeout(ctx, pinWait)
		c.in.Media().Play(tctx, zone.Source(tone.Stutter, rateOf(c.in.Media())), true)
		cancel()
	}
	var b strings.Builder
	t := time.NewTimer(pinDigitGap)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", false
		case <-c.in.Done():
			return "", false
		case <-t.C:
			return b.String(), true
		case d := <-digits:
			if d.Key == '#' {
				return b.String(), true
			}
			b.WriteByte(d.Key)
			if b.Len() >= 16 {
				return b.String(), true
			}
			t.Reset(pinDigitGap)
		}
	}
}

// playZoneTone plays the zone's tone k to the caller for d.
func (c *Call) playZoneTone(ctx context.Context, k tone.Kind, d time.Duration) {
	zone, err := tone.Zone(c.snap.Site.System.Zone())
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	c.in.Media().Play(pctx, zone.Source(k, rateOf(c.in.Media())), false)
}

// The conference's beeps (Hz; each 100 ms, 40 ms apart).
var (
	joinBeeps    = []float64{600, 900}
	leaveBeeps   = []float64{900, 600}
	mutedBeeps   = []float64{400}
	unmutedBeeps = []float64{900, 900}
)

// beeps is a short tone sequence at 16 kHz, the rate of
// call.Conference.Announce, at -16 dBm0: heard over the talk, not
// drowning it.
func beeps(hz ...float64) call.Source {
	const rate, on, off = 16000, 5, 2 // frames of 20 ms
	return &beepSrc{hz: hz, amp: 22706 * math.Pow(10, -16.0/20), on: on, off: off, rate: rate}
}

type beepSrc struct {
	hz          []float64
	amp         float64
	on, off     int
	rate        float64
	frame, tone int
	phase       float64
}

func (b *beepSrc) ReadFrame(f []int16) bool {
	if b.tone >= len(b.hz) {
		return false
	}
	if b.frame < b.on {
		step := 2 * math.Pi * b.hz[b.tone] / b.rate
		for i := range f {
			f[i] = int16(b.amp * math.Sin(b.phase))
			b.phase += step
		}
	} else {
		clear(f)
	}
	b.frame++
	if b.frame == b.on+b.off {
		b.frame, b.phase = 0, 0
		b.tone++
	}
	return true
}

// FeatureThreeWay, typed by the transferrer while talking to the party of
// a *2 consultation, merges the held caller into a three-way call.
const FeatureThreeWay = "*3"

// consultBridge bridges the transferrer (by) and the consulted party
// until either hangs up or ctx ends; merged when the transferrer typed
// *3 first (the bridge is then over and the three parties go to a
// conference).
func (c *Call) consultBridge(ctx context.Context, by, peer call.Leg) (merged bool) {
	if c.e.Bridger == nil {
		return false
	}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.e.Bridger.Bridge(bctx, by, peer) // until one of them hangs up, or the caller does
	}()
	defer func() {
		cancel()
		<-done
	}()
	if c.e.Conferences == nil {
		<-done
		return false
	}
	var last byte
	digits := by.Media().Digits()
	for {
		select {
		case <-done:
			return false
		case d := <-digits:
			if last == FeatureThreeWay[0] && d.Key == FeatureThreeWay[1] {
				return true
			}
			last = d.Key
		}
	}
}

// threeWay mixes the caller, the transferrer (x.out, by) and the
// consulted party (peer) until fewer than two of them are left: like
// desk PBXs, the transferrer hanging up leaves the two others talking,
// and so does any one of the three. The call's record keeps the consult
// as an attended transfer whose result is "three-way".
func (c *Call) threeWay(ctx context.Context, x *bridged, by, peer call.Leg, prec cdr.Leg, xr cdr.Transfer) {
	c.log.Info("three-way call", "by", x.ext, "with", peer.ID())
	conf := c.e.Conferences.Conference()
	defer conf.Close()
	// The call's context may end with the caller's leg, and the two
	// others go on without the caller: the members live on a context of
	// their own, ended when the call is ended by the box (a hang-up from
	// the dashboard, a shutdown) or fewer than two are left.
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	legs := []call.Leg{c.in, by, peer}
	left := make(chan call.Leg, len(legs))
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := conf.Join(jctx, l)
			c.log.Info("three-way: left", "leg", l.ID(), "why", err)
			left <- l
		}()
	}
	conf.Announce(nil, beeps(joinBeeps...))
	for n, ctxDone := len(legs), ctx.Done(); n >= 2; {
		select {
		case <-left:
			if n--; n >= 2 {
				conf.Announce(nil, beeps(leaveBeeps...))
			}
		case <-ctxDone:
			ctxDone = nil
			if !ended(c.in) {
				n = 0 // the box ends the call
			}
		}
	}
	cancel()
	wg.Wait()
	peer.Hangup(call.Normal)
	prec.End, prec.Cause = time.Now(), call.Normal.String()
	c.addLeg(prec)
	xr.Result, xr.Leg = "three-way", peer.ID()
	c.rec.Transfers = append(c.rec.Transfers, xr)
	c.endParty(x, call.Normal)
	x.over, x.cause = true, call.Normal
}
