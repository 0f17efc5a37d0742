package flow

import (
	"context"

	"ringbox/audio/prompts"
	"ringbox/firmware/call"
)

// prompts returns the prompts ids played one after the other: each an
// uploaded prompt (Engine.Prompts) or else the built-in one in
// system.language. Unknown ids are left out (and logged); nil when none is
// known.
func (c *Call) prompts(rate int, ids ...string) call.Source {
	return c.e.promptSource(c.snap.Site.System.Lang(), rate, ids...)
}

// promptSource chains prompts ids in lang at rate; nil when none is known.
func (e *Engine) promptSource(lang string, rate int, ids ...string) call.Source {
	var srcs []call.Source
	for _, id := range ids {
		if id == "" {
			continue
		}
		if e.Prompts != nil {
			if src, ok := e.Prompts(id, rate); ok && src != nil {
				srcs = append(srcs, src)
				continue
			}
		}
		if pcm, ok := prompts.Get(lang, id, rate); ok {
			srcs = append(srcs, prompts.Source(pcm))
			continue
		}
		e.logger().Warn("unknown prompt", "prompt", id)
	}
	switch len(srcs) {
	case 0:
		return nil
	case 1:
		return srcs[0]
	}
	return &chain{srcs: srcs}
}

// play plays prompts to the caller; with bargeIn a key ends it early and is
// left for the menu.
func (c *Call) play(ctx context.Context, bargeIn bool, ids ...string) error {
	src := c.prompts(rateOf(c.in.Media()), ids...)
	if src == nil {
		return nil
	}
	return c.in.Media().Play(ctx, src, bargeIn)
}

// chain plays sources one after the other.
type chain struct{ srcs []call.Source }

func (ch *chain) ReadFrame(f []int16) bool {
	for len(ch.srcs) > 0 {
		if ch.srcs[0].ReadFrame(f) {
			return true
		}
		ch.srcs = ch.srcs[1:]
	}
	return false
}
