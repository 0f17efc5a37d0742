package flow

import (
	"context"
	"strings"

	"ringbox/firmware/call"
	"ringbox/firmware/voicemail"
)

// FeatureMailbox opens any mailbox by phone with its PIN: *98 asks for the
// box number, *98BOX dials it at once (a phone's speed-dial key for a
// group box); then the PIN and the listening menu of *97.
const FeatureMailbox = "*98"

// listenVoicemail opens the calling extension's own mailbox (*97): no
// PIN unless system.voicemail_pin_required. An extension without a box
// is asked for one, as with *98.
func listenVoicemail(ctx context.Context, c *Call) call.Cause {
	if c.e.Voicemail == nil {
		return call.Unavailable
	}
	a := voicemail.Access{Site: c.snap.Site, Caller: c.info.Extension, CallID: c.info.CallID}
	if b, ok := voicemail.Lookup(c.snap.Site, c.info.Extension); ok && b.Extension {
		a.Box, a.Owner = b.ID, true
	}
	return c.e.Voicemail.Main(ctx, c.in, a)
}

// mailboxFeature is *98 and *98BOX; ok is false when code is neither.
func mailboxFeature(code string) (FeatureFunc, bool) {
	box, ok := strings.CutPrefix(code, FeatureMailbox)
	if !ok || len(box) > 32 {
		return nil, false
	}
	return func(ctx context.Context, c *Call) call.Cause {
		if c.e.Voicemail == nil {
			return call.Unavailable
		}
		// The box's owner dialling *98 with their own box from their own
		// phone is *97.
		return c.e.Voicemail.Main(ctx, c.in, voicemail.Access{Site: c.snap.Site, Box: box,
			Owner: box != "" && box == c.info.Extension, Caller: c.info.Extension, CallID: c.info.CallID})
	}, true
}
