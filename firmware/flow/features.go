package flow

import (
	"context"
	"math"
	"ringbox/firmware/events"
	"ringbox/firmware/ring"
	"strconv"
	"strings"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// Feature codes dialled from an extension (docs/features.md). Queue codes
// are added by package acd through Engine.Features.
const (
	FeatureEchoTest  = "*43" // hear yourself: checks audio both ways
	FeatureToneTest  = "*44" // a 1004 Hz test tone; digits pressed are reported
	FeatureVoicemail = "*97" // listen to the calling extension's mailbox
	// FeatureSchedule toggles the manual override of the first schedule;
	// *28N toggles the N-th schedule (file order, from 1).
	FeatureSchedule = "*28"
)

// FeatureFunc runs a feature code for the calling extension; it returns the
// cause the call ends with.
type FeatureFunc func(ctx context.Context, c *Call) call.Cause

func (e *Engine) feature(code string) (FeatureFunc, bool) {
	if f, ok := e.Features[code]; ok {
		return f, true
	}
	switch code {
	case FeatureEchoTest:
		return echoTest, true
	case FeatureToneTest:
		return toneTest, true
	case FeatureVoicemail:
		return listenVoicemail, true
	}
	if f, ok := pickupFeature(code); ok {
		return f, true
	}
	if f, ok := mailboxFeature(code); ok {
		return f, true
	}
	if id, ok := promptID(code); ok {
		return func(ctx context.Context, c *Call) call.Cause { return recordPrompt(ctx, c, id) }, true
	}
	if n, ok := strings.CutPrefix(code, FeatureSchedule); ok {
		idx := 1
		if n != "" {
			v, err := strconv.Atoi(n)
			if err != nil || v < 1 {
				return nil, false
			}
			idx = v
		}
		return func(ctx context.Context, c *Call) call.Cause { return toggleSchedule(ctx, c, idx) }, true
	}
	for p, f := range e.FeaturePrefixes {
		if rest, ok := strings.CutPrefix(code, p); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return f, true
		}
	}
	return nil, false
}

// toggleSchedule flips the override of the idx-th schedule (*28, *28N)
// and confirms with the confirm tone (open) or the busy tone for two
// seconds (closed). Extensions with the internal permission (lobby and
// door phones) may not use it.
func toggleSchedule(ctx context.Context, c *Call, idx int) call.Cause {
	x := ring.FindExt(c.snap.Site, c.info.Extension)
	if x == nil || x.PermissionClass() == site.PermInternal {
		return call.Forbidden
	}
	if idx > len(c.snap.Site.Schedules) {
		return call.NotFound
	}
	id := c.snap.Site.Schedules[idx-1].ID
	open, err := c.e.toggleOverride(ctx, "ext:"+x.Number, id)
	if err != nil {
		c.log.Error("schedule override", "schedule", id, "err", err)
		return call.Failure
	}
	if err := c.answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	zone, err := tone.Zone(c.snap.Site.System.Zone())
	if err != nil {
		return call.Normal
	}
	k := tone.Confirm
	if !open {
		k = tone.Busy
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c.in.Media().Play(pctx, zone.Source(k, rateOf(c.in.Media())), false)
	return call.Normal
}

// Answer answers the caller (once); the CDR counts the call answered from
// then.
func (c *Call) Answer(ctx context.Context) error { return c.answer(ctx) }

// In is the call's inbound leg.
func (c *Call) In() call.Leg { return c.in }

// Info is how the call reached the box.
func (c *Call) Info() Inbound { return c.info }

// Publish sends an event on the engine's bus.
func (c *Call) Publish(p events.Payload) { c.e.publish(p) }

// toneTest answers, plays a 1004 Hz tone at -13 dBm0 for at most a minute
// and reports every digit the caller presses as a call.dtmf event: a quick
// check of the audio path and of DTMF from any phone.
func toneTest(ctx context.Context, c *Call) call.Cause {
	if err := c.answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	go c.reportDigits(ctx)
	c.in.Media().Play(ctx, newSine(1004, -13, rateOf(c.in.Media())), false)
	return call.Normal
}

// reportDigits publishes the caller's digits until ctx ends.
func (c *Call) reportDigits(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.in.Done():
			return
		case d := <-c.in.Media().Digits():
			c.log.Info("dtmf", "digit", string(d.Key), "duration", d.Duration)
			c.e.publish(events.CallDTMF{Call: c.info.CallID, Digit: string(d.Key), DurationMS: d.Duration.Milliseconds()})
		}
	}
}

// echoTest plays back what the caller says, 20 ms later.
func echoTest(ctx context.Context, c *Call) call.Cause {
	h, ok := c.in.Media().(call.Hearer)
	if !ok {
		return call.Unavailable
	}
	if err := c.answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	ch := make(chan []int16, 50)
	go h.Hear(ctx, func(f []int16) {
		select {
		case ch <- append([]int16(nil), f...):
		default: // the player fell behind: drop rather than grow the delay
		}
	})
	c.in.Media().Play(ctx, &chanSource{ctx: ctx, ch: ch}, false)
	return call.Normal
}

type chanSource struct {
	ctx context.Context
	ch  chan []int16
}

func (s *chanSource) ReadFrame(f []int16) bool {
	select {
	case <-s.ctx.Done():
		return false
	case p := <-s.ch:
		copy(f, p)
		return true
	default:
		clear(f) // nothing heard yet: silence keeps the pacing
		return true
	}
}

func rateOf(m call.Media) int {
	if m.Codec() == "G722" {
		return 16000
	}
	return 8000
}

// sine is an endless tone source.
type sine struct {
	phase, step, amp float64
}

func newSine(hz, dBm0 float64, rate int) *sine {
	// 0 dBm0 is a sine of 3.17 dBov peak in G.711 (ITU-T G.711 Table 5/6):
	// amplitude 32768 * 10^(-3.17/20) ~= 22706.
	amp := 22706 * math.Pow(10, dBm0/20)
	return &sine{step: 2 * math.Pi * hz / float64(rate), amp: amp}
}

func (s *sine) ReadFrame(f []int16) bool {
	for i := range f {
		f[i] = int16(s.amp * math.Sin(s.phase))
		s.phase += s.step
		if s.phase > 2*math.Pi {
			s.phase -= 2 * math.Pi
		}
	}
	return true
}
