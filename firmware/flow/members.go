package flow

import (
	"strings"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/site"
)

// Reasons a member is skipped rather than rung.
const (
	SkipOffHours    = "off hours"
	SkipOnCall      = "on a call"
	SkipDND         = "do not disturb"
	SkipHuntBlocked = "blocked from hunting"
)

// ringOpts say how members of a group are rung.
type ringOpts struct {
	from    call.Party // the caller as the members' phones show it
	confirm string     // site.ConfirmNever, ConfirmExternal or ConfirmAlways
	hunt    bool       // hunt_blocked members are skipped
	hours   bool       // agents off hours are skipped
	busy    bool       // members on a call are skipped
}

func (o ringOpts) confirms(t call.Target) bool {
	switch o.confirm {
	case site.ConfirmAlways:
		return true
	case site.ConfirmExternal:
		return t.Kind == call.TargetExternal
	}
	return false
}

// fromWithPrefix puts prefix before the caller-ID name; the number is
// never touched, so call-back works.
func fromWithPrefix(p call.Party, prefix string) call.Party {
	if prefix == "" {
		return p
	}
	name := p.Name
	if name == "" {
		name = p.Number
	}
	return call.Party{Number: p.Number, Name: prefix + name}
}

func findAgent(s *site.Site, id string) *site.Agent {
	for i := range s.Agents {
		if s.Agents[i].ID == id {
			return &s.Agents[i]
		}
	}
	return nil
}

func findExt(s *site.Site, num string) *site.Extension {
	for i := range s.Extensions {
		if s.Extensions[i].Number == num {
			return &s.Extensions[i]
		}
	}
	return nil
}

// extKeys are the presence keys of an extension: itself and the agent(s)
// whose extension it is.
func (e *Engine) extKeys(snap *config.Snapshot, num string) []string {
	keys := []string{"ext:" + num}
	for _, a := range snap.Site.Agents {
		if a.Extension == num {
			keys = append(keys, "agent:"+a.ID)
		}
	}
	return keys
}

// numberKeys are the presence keys of an outside number: the mobile, and
// the agent whose mobile it is.
func (e *Engine) numberKeys(snap *config.Snapshot, num string) []string {
	keys := []string{"mobile:" + num}
	for _, a := range snap.Site.Agents {
		if a.Mobile == num {
			keys = append(keys, "agent:"+a.ID)
		}
	}
	return keys
}

// memberEntries expands one ring or hunt group member into the targets it
// rings during [at, until): an agent by their ring preference, ext:NUM,
// fxs:N, or an outside number.
func (e *Engine) memberEntries(snap *config.Snapshot, m string, at, until time.Duration, o ringOpts) []ringEntry {
	s := snap.Site
	kind, id, _ := strings.Cut(m, ":")
	switch {
	case kind == "ext" && id != "":
		x := findExt(s, id)
		if x == nil {
			return nil
		}
		keys := e.extKeys(snap, id)
		t := call.Target{Kind: call.TargetExtension, Number: id, From: o.from}
		return []ringEntry{{target: t, label: "ext:" + id, keys: keys, at: at, until: until, confirm: o.confirms(t),
			member: m, kind: "ext", check: extCheck(x, keys, o)}}
	case kind == "fxs" && id != "":
		keys := []string{"fxs:" + id}
		for _, l := range s.Lines {
			if l.Port == m {
				keys = append(e.extKeys(snap, l.Extension), keys...)
			}
		}
		t := call.Target{Kind: call.TargetFXS, Number: id, From: o.from}
		return []ringEntry{{target: t, label: m, keys: keys, at: at, until: until, confirm: o.confirms(t),
			member: m, kind: "fxs", check: busyCheck(keys, o)}}
	case m != "" && (m[0] == '+' || m[0] >= '0' && m[0] <= '9'):
		keys := e.numberKeys(snap, m)
		t := call.Target{Kind: call.TargetExternal, Number: m, From: o.from, Class: site.PermInternational}
		return []ringEntry{{target: t, label: "external:" + m, keys: keys, at: at, until: until, confirm: o.confirms(t),
			member: m, kind: "external", check: busyCheck(keys, o)}}
	}
	a := findAgent(s, m)
	if a == nil {
		return nil
	}
	return e.agentEntries(snap, a, at, until, o)
}

// agentEntries rings an agent by their ring preference: both at once,
// extension then mobile (the mobile joins mobile_after later while the
// extension keeps ringing), extension only, or mobile only.
func (e *Engine) agentEntries(snap *config.Snapshot, a *site.Agent, at, until time.Duration, o ringOpts) []ringEntry {
	s := snap.Site
	all := []string{"agent:" + a.ID}
	if a.Extension != "" {
		all = append(all, "ext:"+a.Extension)
	}
	if a.Mobile != "" {
		all = append(all, "mobile:"+a.Mobile)
	}
	var x *site.Extension
	if a.Extension != "" {
		x = findExt(s, a.Extension)
	}
	loc := snap.Loc
	check := func(now time.Time, busy func(...string) bool) string {
		switch {
		case o.hours && len(a.Hours) > 0 && !site.InRanges(a.Hours, now.In(loc)):
			return SkipOffHours
		case o.hunt && x != nil && x.HuntBlocked:
			return SkipHuntBlocked
		case o.busy && busy(all...):
			return SkipOnCall
		}
		return ""
	}
	extE := func(at time.Duration) ringEntry {
		t := call.Target{Kind: call.TargetExtension, Number: a.Extension, From: o.from, Agent: a.ID}
		return ringEntry{target: t, label: "agent:" + a.ID + "/ext:" + a.Extension,
			keys: []string{"agent:" + a.ID, "ext:" + a.Extension}, at: at, until: until, confirm: o.confirms(t),
			member: a.ID, kind: "ext", check: func(now time.Time, busy func(...string) bool) string {
				if why := check(now, busy); why != "" {
					return why
				}
				if x != nil && x.DND {
					return SkipDND
				}
				return ""
			}}
	}
	mobE := func(at time.Duration) ringEntry {
		t := call.Target{Kind: call.TargetExternal, Number: a.Mobile, From: o.from, Agent: a.ID, Class: site.PermInternational}
		return ringEntry{target: t, label: "agent:" + a.ID + "/mobile:" + a.Mobile,
			keys: []string{"agent:" + a.ID, "mobile:" + a.Mobile}, at: at, until: until, confirm: o.confirms(t),
			member: a.ID, kind: "mobile", check: check}
	}
	var out []ringEntry
	hasExt, hasMob := a.Extension != "", a.Mobile != ""
	switch a.Preference() {
	case site.RingBoth:
		if hasExt {
			out = append(out, extE(at))
		}
		if hasMob {
			out = append(out, mobE(at))
		}
	case site.RingExtensionThenMobile:
		if hasExt {
			out = append(out, extE(at))
		}
		if hasMob && (until == 0 || at+a.MobileDelay() < until) {
			out = append(out, mobE(at+a.MobileDelay()))
		}
	case site.RingMobileOnly:
		if hasMob {
			out = append(out, mobE(at))
		}
	default:
		if hasExt {
			out = append(out, extE(at))
		}
	}
	return out
}

func extCheck(x *site.Extension, keys []string, o ringOpts) func(time.Time, func(...string) bool) string {
	return func(now time.Time, busy func(...string) bool) string {
		switch {
		case x.DND:
			return SkipDND
		case o.hunt && x.HuntBlocked:
			return SkipHuntBlocked
		case o.busy && busy(keys...):
			return SkipOnCall
		}
		return ""
	}
}

func busyCheck(keys []string, o ringOpts) func(time.Time, func(...string) bool) string {
	return func(now time.Time, busy func(...string) bool) string {
		if o.busy && busy(keys...) {
			return SkipOnCall
		}
		return ""
	}
}
