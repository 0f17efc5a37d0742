package flow

import (
	"context"
	"slices"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
	"ringbox/firmware/voicemail"
)

func (e *Engine) extensionRing() time.Duration {
	if e.ExtensionRing > 0 {
		return e.ExtensionRing
	}
	return DefaultExtensionRing
}

// extensionNode rings one extension, with its agent's preference when an
// agent owns it (so the mobile rings too), for the extension ring time.
// A direct call rings whatever the agent's status and hours: a colleague
// calling a desk phone is not a queue or group call. Unanswered, busy or
// in do-not-disturb, the call goes to the extension's mailbox when it has
// one.
func (c *Call) extensionNode(ctx context.Context, num string) (string, call.Cause) {
	x := ring.FindExt(c.snap.Site, num)
	if x == nil {
		return "", call.NotFound
	}
	rt := c.e.extensionRing()
	cause := call.Busy
	if !x.DND {
		av, o := c.avail(), c.opts(ring.Opts{})
		var entries []ring.Entry
		for i := range c.snap.Site.Agents {
			if a := &c.snap.Site.Agents[i]; a.Extension == num {
				entries = ring.Agent(av, a, 0, rt, o)
				break
			}
		}
		if entries == nil {
			entries = ring.Member(av, "ext:"+num, 0, rt, o)
		}
		res := c.ring(ctx, entries, "")
		if res.Answer != nil {
			return "", c.connect(ctx, res.Answer, nil)
		}
		cause = res.Cause
	}
	return c.afterNoAnswer(num, x.Voicemail, cause)
}

// afterNoAnswer sends an unanswered call to the mailbox of extension num
// when it has one.
func (c *Call) afterNoAnswer(num string, hasBox bool, cause call.Cause) (string, call.Cause) {
	switch cause {
	case call.Cancelled, call.Shutdown, call.Forbidden:
		return "", cause
	}
	if hasBox && num != "" {
		c.busy = cause == call.Busy
		return site.DestVoicemail + ":" + num, cause
	}
	return "", cause
}

// agentNode rings an agent by their ring preference. Unavailable (status,
// wrap-up, off hours, on a call) the agent is not rung: the call goes to
// their extension's mailbox, if any.
func (c *Call) agentNode(ctx context.Context, id string) (string, call.Cause) {
	a := ring.FindAgent(c.snap.Site, id)
	if a == nil {
		return "", call.NotFound
	}
	res := c.ring(ctx, ring.Agent(c.avail(), a, 0, c.e.extensionRing(), c.opts(ring.Group(false))), "")
	if res.Answer != nil {
		return "", c.connect(ctx, res.Answer, nil)
	}
	hasBox := false
	if x := ring.FindExt(c.snap.Site, a.Extension); x != nil {
		hasBox = x.Voicemail
	}
	return c.afterNoAnswer(a.Extension, hasBox, res.Cause)
}

// announce plays an announcement to the (answered) caller, turns on
// recording of the conversation to come when asked, and goes on.
func (c *Call) announce(ctx context.Context, id string) (string, call.Cause) {
	var a *site.Announcement
	for i := range c.snap.Site.Announcements {
		if c.snap.Site.Announcements[i].ID == id {
			a = &c.snap.Site.Announcements[i]
		}
	}
	if a == nil {
		return "", call.NotFound
	}
	if err := c.answer(ctx); err != nil {
		return "", call.CauseOf(err)
	}
	if err := c.play(ctx, false, a.Prompt); err != nil {
		return "", call.CauseOf(err)
	}
	if a.Record {
		c.record = true
	}
	return a.Next, call.Normal
}

// voicemail lets the caller leave a message.
func (c *Call) voicemail(ctx context.Context, box string) (string, call.Cause) {
	if c.e.Voicemail == nil {
		c.log.Warn("voicemail not configured", "box", box)
		return "", call.Unavailable
	}
	if err := c.answer(ctx); err != nil {
		return "", call.CauseOf(err)
	}
	cause, err := c.e.Voicemail.Leave(ctx, c.in, voicemail.Leave{Site: c.snap.Site, Box: box, From: c.info.From,
		CallID: c.info.CallID, Busy: c.busy})
	if err != nil {
		c.log.Error("voicemail", "box", box, "err", err)
	}
	return "", cause
}

// queue hands the caller to the ACD; an agent who answers is connected
// here like any other answered call.
func (c *Call) queue(ctx context.Context, id string) (string, call.Cause) {
	if c.e.Queues == nil {
		return "", call.Unavailable
	}
	res := c.e.Queues.RunQueue(ctx, QueueCall{Queue: id, CallID: c.info.CallID, Caller: c.in, From: c.info.From,
		Snap: c.snap, Path: slices.Clone(c.rec.Path), Answer: c.answer, Dialer: &c.router, Opts: c.opts(ring.Opts{}),
		Record: c.addLeg, Wait: &c.bg, Info: c.callInfo(), Skills: c.skills})
	if res.Answer != nil {
		return "", c.connect(ctx, res.Answer, res.Done)
	}
	return res.Next, res.Cause
}
