package ring

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

// Agents is the ACD as the ringing engine sees it.
type Agents interface {
	// Blocked reports why agent id may not be offered a call now ("" when
	// it may): logged out, unavailable, in wrap-up, being offered or on
	// another call. It must be cheap and safe for concurrent use.
	Blocked(id string) string
}

// Avail judges who may be rung now.
type Avail struct {
	Snap *config.Snapshot
	// Busy reports whether any of the presence keys is on a call; nil:
	// nobody is.
	Busy func(keys ...string) bool
	// Agents gives agents' own status; nil: every agent counts as
	// available.
	Agents Agents
}

func (a Avail) busy(keys ...string) bool { return a.Busy != nil && a.Busy(keys...) }

// Opts say how members are rung and what keeps them from ringing.
type Opts struct {
	From      call.Party // the caller as the members' phones show it
	Codecs    []string   // the caller's codecs (call.Target.Codecs)
	Diversion string     // call.Target.Diversion for outside targets
	Confirm   string     // site.ConfirmNever, ConfirmExternal or ConfirmAlways
	Via       string     // call.Target.Via: the group's name, for browsers' call banners

	Hours  bool // agents outside their working hours are skipped
	Busy   bool // members on a call are skipped
	Hunt   bool // extensions blocked from hunting are skipped
	Status bool // agents the ACD reports unavailable (logged out, unavailable, wrap-up, on a call) are skipped
}

// Group is how ring groups, hunt groups and agent: destinations ring
// their members: off hours, on a call or not available to the ACD are
// skipped, unless the group rings unavailable agents anyway.
func Group(ringUnavailable bool) Opts {
	return Opts{Hours: !ringUnavailable, Busy: true, Status: !ringUnavailable}
}

func (o Opts) confirms(t call.Target) bool {
	switch o.Confirm {
	case site.ConfirmAlways:
		return true
	case site.ConfirmExternal:
		return t.Kind == call.TargetExternal
	}
	return false
}

func (o Opts) target(kind call.TargetKind, number, agent string) call.Target {
	t := call.Target{Kind: kind, Number: number, From: o.From, Agent: agent, Codecs: o.Codecs, Via: o.Via}
	if kind == call.TargetExternal {
		// Numbers of the site file (members, agents' mobiles) are the
		// installer's, not the caller's: any permission class.
		t.Class = site.PermPremium
		t.Diversion = o.Diversion
	}
	return t
}

// FromWithPrefix puts prefix before the caller-ID name; the number is never
// touched, so call-back works.
func FromWithPrefix(p call.Party, prefix string) call.Party {
	if prefix == "" {
		return p
	}
	name := p.Name
	if name == "" {
		name = p.Number
	}
	return call.Party{Number: p.Number, Name: prefix + name}
}

// FindAgent returns agent id of s, or nil.
func FindAgent(s *site.Site, id string) *site.Agent {
	for i := range s.Agents {
		if s.Agents[i].ID == id {
			return &s.Agents[i]
		}
	}
	return nil
}

// FindExt returns extension num of s, or nil.
func FindExt(s *site.Site, num string) *site.Extension {
	for i := range s.Extensions {
		if s.Extensions[i].Number == num {
			return &s.Extensions[i]
		}
	}
	return nil
}

// ExtKeys are the presence keys of an extension: itself and the agent(s)
// whose extension it is.
func ExtKeys(s *site.Site, num string) []string {
	keys := []string{"ext:" + num}
	for _, a := range s.Agents {
		if a.Extension == num {
			keys = append(keys, "agent:"+a.ID)
		}
	}
	return keys
}

// NumberKeys are the presence keys of an outside number: the mobile, and
// the agent whose mobile it is.
func NumberKeys(s *site.Site, num string) []string {
	keys := []string{"mobile:" + num}
	for _, a := range s.Agents {
		if a.Mobile == num {
			keys = append(keys, "agent:"+a.ID)
		}
	}
	return keys
}

// RingingKey is the presence key marking agent id as being rung by a group.
func RingingKey(id string) string { return "ringing:agent:" + id }

// AgentKeys are an agent's presence keys: any of them busy means the agent
// is on a call.
func AgentKeys(a *site.Agent) []string {
	k := []string{"agent:" + a.ID}
	if a.Extension != "" {
		k = append(k, "ext:"+a.Extension)
	}
	if a.Mobile != "" {
		k = append(k, "mobile:"+a.Mobile)
	}
	return k
}

// Member expands one ring or hunt group member into the entries it rings
// during [at, until): an agent by their ring preference, ext:NUM, fxs:N,
// or an outside number. A member the site does not have rings nothing.
func Member(av Avail, m string, at, until time.Duration, o Opts) []Entry {
	s := av.Snap.Site
	kind, id, _ := strings.Cut(m, ":")
	switch {
	case kind == "ext" && id != "":
		x := FindExt(s, id)
		if x == nil {
			return nil
		}
		// An extension that belongs to an agent is that agent's desk phone:
		// the agent's status counts too.
		agent := ""
		for _, a := range s.Agents {
			if a.Extension == id {
				agent = a.ID
				break
			}
		}
		keys := ExtKeys(s, id)
		t := o.target(call.TargetExtension, id, agent)
		return []Entry{{Target: t, Label: "ext:" + id, Keys: keys, At: at, Until: until, Confirm: o.confirms(t),
			Member: m, Agent: agent, Kind: "ext", Check: func(now time.Time) string {
				switch {
				case x.DND:
					return SkipDND
				case o.Hunt && x.HuntBlocked:
					return SkipHuntBlocked
				}
				if agent != "" {
					if why := av.agentCheck(FindAgent(s, agent), now, o); why != "" {
						return why
					}
				}
				if o.Busy && av.busy(keys...) {
					return SkipOnCall
				}
				return ""
			}}}
	case kind == "fxs" && id != "":
		keys := []string{"fxs:" + id}
		for _, l := range s.Lines {
			if l.Port == m {
				keys = append(ExtKeys(s, l.Extension), keys...)
			}
		}
		t := o.target(call.TargetFXS, id, "")
		return []Entry{{Target: t, Label: m, Keys: keys, At: at, Until: until, Confirm: o.confirms(t),
			Member: m, Kind: "fxs", Check: av.busyCheck(keys, o)}}
	case m != "" && (m[0] == '+' || m[0] >= '0' && m[0] <= '9'):
		keys := NumberKeys(s, m)
		t := o.target(call.TargetExternal, m, "")
		return []Entry{{Target: t, Label: "external:" + m, Keys: keys, At: at, Until: until, Confirm: o.confirms(t),
			Member: m, Kind: "external", Check: av.busyCheck(keys, o)}}
	}
	a := FindAgent(s, m)
	if a == nil {
		return nil
	}
	return Agent(av, a, at, until, o)
}

func (av Avail) busyCheck(keys []string, o Opts) func(time.Time) string {
	return func(time.Time) string {
		if o.Busy && av.busy(keys...) {
			return SkipOnCall
		}
		return ""
	}
}

// agentCheck is why agent a may not be rung at now under o ("" when it
// may).
func (av Avail) agentCheck(a *site.Agent, now time.Time, o Opts) string {
	if a == nil {
		return ""
	}
	if o.Hours && len(a.Hours) > 0 && !site.InRanges(a.Hours, now.In(av.Snap.Loc)) {
		return SkipOffHours
	}
	if o.Hunt && a.Extension != "" {
		if x := FindExt(av.Snap.Site, a.Extension); x != nil && x.HuntBlocked {
			return SkipHuntBlocked
		}
	}
	if o.Status && av.Agents != nil {
		if why := av.Agents.Blocked(a.ID); why != "" {
			return why
		}
	}
	if o.Busy && av.busy(AgentKeys(a)...) {
		return SkipOnCall
	}
	return ""
}

// Agent rings an agent by their ring preference: both at once, extension
// then mobile (the mobile joins mobile_after later while the extension
// keeps ringing), extension only, mobile only, or the agent's browser
// page: alone, with the extension, or before it (the extension joins
// mobile_after later).
func Agent(av Avail, a *site.Agent, at, until time.Duration, o Opts) []Entry {
	var x *site.Extension
	if a.Extension != "" {
		x = FindExt(av.Snap.Site, a.Extension)
	}
	check := func(now time.Time) string { return av.agentCheck(a, now, o) }
	extE := func(at time.Duration) Entry {
		t := o.target(call.TargetExtension, a.Extension, a.ID)
		return Entry{Target: t, Label: "agent:" + a.ID + "/ext:" + a.Extension,
			Keys: []string{"agent:" + a.ID, "ext:" + a.Extension}, At: at, Until: until, Confirm: o.confirms(t),
			Member: a.ID, Agent: a.ID, Kind: "ext", Check: func(now time.Time) string {
				if x != nil && x.DND {
					return SkipDND
				}
				return check(now)
			}}
	}
	mobE := func(at time.Duration) Entry {
		t := o.target(call.TargetExternal, a.Mobile, a.ID)
		return Entry{Target: t, Label: "agent:" + a.ID + "/mobile:" + a.Mobile,
			Keys: []string{"agent:" + a.ID, "mobile:" + a.Mobile}, At: at, Until: until, Confirm: o.confirms(t),
			Member: a.ID, Agent: a.ID, Kind: "mobile", Check: check}
	}
	browserE := func(at time.Duration) Entry {
		t := o.target(call.TargetBrowser, a.ID, a.ID)
		return Entry{Target: t, Label: "agent:" + a.ID + "/browser",
			Keys: []string{"agent:" + a.ID, "browser:" + a.ID}, At: at, Until: until, Confirm: o.confirms(t),
			Member: a.ID, Agent: a.ID, Kind: "browser", Check: check}
	}
	var out []Entry
	hasExt, hasMob := a.Extension != "", a.Mobile != ""
	switch a.Preference() {
	case site.RingBrowser:
		out = append(out, browserE(at))
	case site.RingBrowserAndExtension:
		out = append(out, browserE(at))
		if hasExt {
			out = append(out, extE(at))
		}
	case site.RingBrowserThenExtension:
		// The desk phone joins after mobile_after, as the mobile does
		// under extension_then_mobile; the browser keeps ringing.
		out = append(out, browserE(at))
		if hasExt && (until == 0 || at+a.MobileDelay() < until) {
			out = append(out, extE(at+a.MobileDelay()))
		}
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

// Why reports why member m cannot be rung at now ("" when some device of
// it can), for hunt groups that leave unavailable members out before they
// lay out their steps.
func Why(av Avail, m string, now time.Time, o Opts) string {
	ens := Member(av, m, 0, time.Hour, o)
	why := SkipDND
	for _, en := range ens {
		if en.Check == nil {
			return ""
		}
		r := en.Check(now)
		if r == "" {
			return ""
		}
		why = r
	}
	return why
}

// Reachable reports whether agent a has a device that can ring at all: an
// extension not in do-not-disturb, or a mobile, as their preference says.
// The ACD does not offer calls to an agent who cannot be reached.
func Reachable(s *site.Site, a *site.Agent) bool {
	extOK := false
	if a.Extension != "" {
		if x := FindExt(s, a.Extension); x != nil && !x.DND {
			extOK = true
		}
	}
	mobOK := a.Mobile != ""
	switch a.Preference() {
	case site.RingBrowser, site.RingBrowserThenExtension, site.RingBrowserAndExtension:
		// Whether a page is open is the hub's to know: ringing a closed
		// browser fails at once (call.Unavailable), like an unregistered
		// phone.
		return true
	case site.RingBoth, site.RingExtensionThenMobile:
		return extOK || mobOK
	case site.RingMobileOnly:
		return mobOK
	}
	return extOK
}
