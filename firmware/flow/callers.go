package flow

import (
	"maps"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// Routing by the caller and the skills a call needs (docs/site-file.md,
// "Skills" and "Routing by the caller").
//
// Inbound routes with a caller: are tried before the others, in file
// order; an IVR's callers are tried before its greeting. A route or an
// IVR option with skills sets the requirement the call carries into the
// queue it reaches (the later one replaces the earlier); the queue's own
// skills apply when the call carries none.

// callerRoute is the first inbound route with a caller: that matches the
// caller's number and the DID, and its destination ("" for none). It sets
// the route's skills on the call.
func (c *Call) callerRoute(now time.Time) string {
	for _, r := range c.snap.Site.Inbound {
		if r.Caller == "" || !c.snap.Site.CallerMatches(r.Caller, c.info.From.Number) {
			continue
		}
		if r.Match != "" && r.Match != "*" && r.Match != c.info.DID {
			continue
		}
		dest := r.To
		if r.When != "" && !c.scheduleOpen(r.When, now) {
			if dest = r.Otherwise; dest == "" {
				continue
			}
		}
		c.log.Info("inbound route by caller", "caller", c.info.From.Number, "match", r.Caller, "to", dest)
		c.needSkills(r.Skills)
		return dest
	}
	return ""
}

// ivrCaller is where the IVR sends this caller without its menu ("" for
// the menu).
func (c *Call) ivrCaller(m *site.IVR) string {
	for _, r := range m.Callers {
		if c.snap.Site.CallerMatches(r.Caller, c.info.From.Number) {
			c.log.Info("ivr skipped by caller", "ivr", m.ID, "caller", c.info.From.Number, "match", r.Caller, "to", r.To)
			return r.To
		}
	}
	return ""
}

// chose notes the option keys the caller chose in IVR m: its skills, if
// any, become the call's requirement.
func (c *Call) chose(m *site.IVR, keys string) {
	c.needSkills(m.OptionSkills[keys])
}

// needSkills makes sk the skills the call needs, unless sk is empty.
func (c *Call) needSkills(sk map[string]int) {
	if len(sk) > 0 {
		c.skills = maps.Clone(sk)
	}
}

// refusal is the cause a busy or reject destination ends the call with.
func refusal(kind string) (call.Cause, bool) {
	switch kind {
	case site.DestBusy:
		return call.Busy, true
	case site.DestReject:
		return call.Rejected, true
	}
	return 0, false
}
