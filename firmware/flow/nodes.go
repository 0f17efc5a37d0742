package flow

import (
	"context"
	"os"
	"slices"
	"time"

	"ringbox/firmware/call"
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
// Direct calls ring whatever the agent's hours. Unanswered, busy or in
// do-not-disturb, the call goes to the extension's mailbox when it has one.
func (c *Call) extensionNode(ctx context.Context, num string) (string, call.Cause) {
	x := findExt(c.snap.Site, num)
	if x == nil {
		return "", call.NotFound
	}
	ring := c.e.extensionRing()
	var cause call.Cause
	if x.DND {
		cause = call.Busy
	} else {
		var entries []ringEntry
		o := ringOpts{from: c.info.From}
		for i := range c.snap.Site.Agents {
			if a := &c.snap.Site.Agents[i]; a.Extension == num {
				entries = c.e.agentEntries(c.snap, a, 0, ring, o)
				break
			}
		}
		if entries == nil {
			t := call.Target{Kind: call.TargetExtension, Number: num, From: c.info.From}
			entries = []ringEntry{{target: t, label: "ext:" + num, keys: c.e.extKeys(c.snap, num), until: ring, member: "ext:" + num}}
		}
		var ans *answered
		ans, cause = c.ring(ctx, entries, "")
		if ans != nil {
			return "", c.connect(ctx, ans)
		}
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

// agentNode rings an agent by their ring preference. Off hours or on a
// call the agent is unavailable: the call goes to their extension's
// mailbox, if any.
func (c *Call) agentNode(ctx context.Context, id string) (string, call.Cause) {
	a := findAgent(c.snap.Site, id)
	if a == nil {
		return "", call.NotFound
	}
	entries := c.e.agentEntries(c.snap, a, 0, c.e.extensionRing(), ringOpts{from: c.info.From, hours: true, busy: true})
	ans, cause := c.ring(ctx, entries, "")
	if ans != nil {
		return "", c.connect(ctx, ans)
	}
	hasBox := false
	if x := findExt(c.snap.Site, a.Extension); x != nil {
		hasBox = x.Voicemail
	}
	return c.afterNoAnswer(a.Extension, hasBox, cause)
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

// queue hands the caller to the ACD and continues where it sends them.
func (c *Call) queue(ctx context.Context, id string) (string, call.Cause) {
	if c.e.Queues == nil {
		return "", call.Unavailable
	}
	path := ""
	if c.record {
		path = c.recordPath()
	}
	next, cause := c.e.Queues.RunQueue(ctx, QueueCall{Queue: id, CallID: c.info.CallID, Caller: c.in, From: c.info.From,
		Snap: c.snap, Path: slices.Clone(c.rec.Path), RecordPath: path})
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			c.rec.Recording = path
		}
	}
	return next, cause
}
