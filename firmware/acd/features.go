package acd

import (
	"context"
	"errors"
	"strings"

	"ringbox/audio/prompts"
	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/flow"
)

// Feature codes an agent dials from their own extension.
const (
	FeatureLogin     = "*45" // log in to / out of every queue of the agent; *45 + a queue number: that queue alone
	FeatureAvailable = "*46" // available / unavailable ("break") toggle
	FeatureWaiting   = "*47" // hear how many callers wait in your queues
	FeatureEndWrapup = "*48" // end wrap-up now
)

// Features returns the ACD's feature codes for flow.Engine.Features.
//
// After *45 and *46 the agent hears the confirmation tone once when they
// are now logged in and available, twice when logged out or unavailable.
// *47 says the number of callers waiting (the confirmation tone when
// none). *48 plays the confirmation tone, or the busy tone when the agent
// was not in wrap-up. A caller whose extension is no agent's hears the busy
// tone.
func (e *Engine) Features() map[string]flow.FeatureFunc {
	return map[string]flow.FeatureFunc{
		FeatureLogin: func(ctx context.Context, c *flow.Call) call.Cause {
			return e.agentFeature(ctx, c, func(id string) (bool, error) {
				r, err := e.ToggleLogin(ctx, id, SourceFeature)
				return r.Agent.Status == Available, err
			})
		},
		FeatureAvailable: func(ctx context.Context, c *flow.Call) call.Cause {
			return e.agentFeature(ctx, c, func(id string) (bool, error) {
				r, err := e.ToggleAvailable(ctx, id, SourceFeature)
				return r.Agent.Status == Available, err
			})
		},
		FeatureEndWrapup: func(ctx context.Context, c *flow.Call) call.Cause {
			return e.agentFeature(ctx, c, func(id string) (bool, error) {
				_, err := e.EndWrapup(ctx, id)
				return true, err
			})
		},
		FeatureWaiting: func(ctx context.Context, c *flow.Call) call.Cause {
			id := e.agentByExtension(c.Info().Extension)
			leg := c.In()
			if err := c.Answer(ctx); err != nil {
				return call.CauseOf(err)
			}
			if id == "" {
				e.playTone(ctx, leg, tone.Busy, 1)
				return call.Forbidden
			}
			n, err := e.Waiting(ctx, id)
			if err != nil {
				return call.Failure
			}
			rate := rateOf(leg.Media())
			if pcm, ok := prompts.Number(e.lang(), min(n, prompts.MaxNumber), rate); ok && n > 0 {
				leg.Media().Play(ctx, clipSource(pcm), false)
			} else {
				e.playTone(ctx, leg, tone.Confirm, 1)
			}
			return call.Normal
		},
	}
}

// agentFeature answers, runs f for the calling agent and plays the result.
func (e *Engine) agentFeature(ctx context.Context, c *flow.Call, f func(id string) (on bool, err error)) call.Cause {
	leg := c.In()
	if err := c.Answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	id := e.agentByExtension(c.Info().Extension)
	if id == "" {
		e.playTone(ctx, leg, tone.Busy, 1)
		return call.Forbidden
	}
	on, err := f(id)
	switch {
	case errors.Is(err, ErrNotWrap):
		e.playTone(ctx, leg, tone.Busy, 1)
		return call.Normal
	case err != nil:
		e.log.Warn("agent feature code", "agent", id, "err", err)
		return call.Failure
	}
	times := 2
	if on {
		times = 1
	}
	e.playTone(ctx, leg, tone.Confirm, times)
	return call.Normal
}

// playTone plays k (once for a tone that ends, else one second) times times.
func (e *Engine) playTone(ctx context.Context, leg call.Leg, k tone.Kind, times int) {
	z, err := tone.Zone(e.cfg.Config.Site().System.Zone())
	if err != nil {
		return
	}
	for range times {
		src := z.Source(k, rateOf(leg.Media()))
		leg.Media().Play(ctx, limit(src, 50), false)
	}
}

// limit ends src after n frames.
func limit(src call.Source, n int) call.Source { return &limited{src: src, n: n} }

type limited struct {
	src call.Source
	n   int
}

func (l *limited) ReadFrame(f []int16) bool {
	if l.n <= 0 {
		return false
	}
	l.n--
	return l.src.ReadFrame(f)
}

// FeaturePrefixes returns the ACD's feature codes that take a number, for
// flow.Engine.FeaturePrefixes: *45 then a queue's number logs the agent
// in to or out of that queue alone (the confirmation tone once when they
// are now in it, twice when out; the busy tone for a number that is no
// queue of theirs).
func (e *Engine) FeaturePrefixes() map[string]flow.FeatureFunc {
	return map[string]flow.FeatureFunc{
		FeatureLogin: func(ctx context.Context, c *flow.Call) call.Cause {
			num := strings.TrimPrefix(c.Info().To, FeatureLogin)
			leg := c.In()
			if err := c.Answer(ctx); err != nil {
				return call.CauseOf(err)
			}
			id := e.agentByExtension(c.Info().Extension)
			q := e.QueueByNumber(num)
			if id == "" || q == "" {
				e.playTone(ctx, leg, tone.Busy, 1)
				return call.NotFound
			}
			in, _, err := e.ToggleQueue(ctx, id, q, SourceFeature)
			switch {
			case errors.Is(err, ErrNoQueue):
				e.playTone(ctx, leg, tone.Busy, 1)
				return call.Forbidden
			case err != nil:
				e.log.Warn("agent queue feature code", "agent", id, "queue", q, "err", err)
				return call.Failure
			}
			times := 2
			if in {
				times = 1
			}
			e.playTone(ctx, leg, tone.Confirm, times)
			return call.Normal
		},
	}
}
