package flow

import (
	"context"
	"strings"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/ring"
)

// Call pickup (docs/features.md, Pickup): an extension answers a call
// that rings another phone of the site. *8 takes the call that has rung
// longest any extension of the site but the picker's own; **EXT takes
// one ringing extension EXT. The call may ring there from anywhere: a
// direct call, a ring or hunt group, or a queue's offer to an agent (the
// queue then counts it answered by the picker).
//
// Pickup groups: an extension picks up the calls of the extensions of
// its pickup_group; extensions without one are one group together (so a
// site that sets none lets everyone pick up everyone's calls). The site
// file has no teams yet, so there is no team scoping to respect.
const (
	FeatureGroupPickup    = "*8"
	FeatureDirectedPickup = "**"
)

// pickupTone is how long a picker hears the busy tone when nothing rings.
const pickupTone = 3 * time.Second

// pickupFeature is the FeatureFunc of code, if code is a pickup code.
func pickupFeature(code string) (FeatureFunc, bool) {
	if code == FeatureGroupPickup {
		return func(ctx context.Context, c *Call) call.Cause {
			me := c.info.Extension
			return pickup(ctx, c, func(x string) bool { return x != me && c.samePickupGroup(x) })
		}, true
	}
	if ext, ok := strings.CutPrefix(code, FeatureDirectedPickup); ok && ext != "" {
		for _, r := range ext {
			if r < '0' || r > '9' {
				return nil, false
			}
		}
		return func(ctx context.Context, c *Call) call.Cause {
			me := c.info.Extension
			return pickup(ctx, c, func(x string) bool { return x == ext && x != me && c.samePickupGroup(x) })
		}, true
	}
	return nil, false
}

// pickup answers the picker, hands its leg to a ringing that rings an
// extension match accepts, and waits while the picked call has it. With
// nothing to pick, the picker hears the zone's busy tone.
func pickup(ctx context.Context, c *Call, match func(ext string) bool) call.Cause {
	if c.info.Extension == "" {
		return call.Forbidden
	}
	if err := c.answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	en := c.pickerEntry()
	if !c.e.ringer().Pickup(ctx, c.in, en, match) {
		c.log.Info("pickup: nothing rings")
		zone, err := tone.Zone(c.snap.Site.System.Zone())
		if err != nil {
			return call.NotFound
		}
		pctx, cancel := context.WithTimeout(ctx, pickupTone)
		defer cancel()
		c.in.Media().Play(pctx, zone.Source(tone.Busy, rateOf(c.in.Media())), false)
		return call.NotFound
	}
	// The leg is the picked call's now: it bridges it and writes its
	// CDR; this call only lasts as long.
	c.log.Info("pickup: picked")
	c.handedIn = true
	select {
	case <-c.in.Done():
	case <-ctx.Done():
	}
	return call.Normal
}

// pickerEntry names the calling extension (and its agent) as the party
// that takes a call it picks up or retrieves from park.
func (c *Call) pickerEntry() ring.Entry {
	en := ring.Entry{Target: call.Target{Kind: call.TargetExtension, Number: c.info.Extension},
		Label: "ext:" + c.info.Extension, Keys: ring.ExtKeys(c.snap.Site, c.info.Extension),
		Member: "ext:" + c.info.Extension, Kind: "ext"}
	for _, a := range c.snap.Site.Agents {
		if a.Extension == c.info.Extension {
			en.Agent = a.ID
			en.Label = "agent:" + a.ID + "/ext:" + c.info.Extension
			break
		}
	}
	return en
}

// samePickupGroup reports whether the calling extension may pick up the
// calls of extension x: both have the same pickup_group.
func (c *Call) samePickupGroup(x string) bool {
	me, they := ring.FindExt(c.snap.Site, c.info.Extension), ring.FindExt(c.snap.Site, x)
	if me == nil || they == nil {
		return false
	}
	return me.PickupGroup == they.PickupGroup
}
