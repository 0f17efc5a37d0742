package site

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ringbox/firmware/dialplan/pattern"
)

// BuiltinPrompts are the prompts every box has without uploading anything
// (package media ships them). A prompt of the site with the same id replaces
// the built-in one.
var BuiltinPrompts = []string{
	"main-menu", "invalid-option", "please-hold", "recording-notice", "goodbye",
	"call-for-office", "accept-decline", "call-taken", "voicemail-greeting", "voicemail-beep",
}

// DefaultHoldMusic is the built-in hold-music class; a hold_music entry with
// this id replaces it.
const DefaultHoldMusic = "default"

// ToneZones are the accepted values of system.tone_zone.
var ToneZones = []string{"us", "ca", "uk", "de", "fr", "it", "es", "nl", "au", "jp"}

// Languages are the accepted values of system.language.
var Languages = []string{"en", "fr"}

var (
	permissions     = []string{PermInternal, PermLocal, PermNational, PermInternational, PermPremium}
	ringPreferences = []string{RingBoth, RingExtensionThenMobile, RingExtensionOnly, RingMobileOnly, RingBrowser, RingBrowserThenExtension, RingBrowserAndExtension}
	agentRoles      = []string{RoleAgent, RoleManager}
	confirmModes    = []string{ConfirmNever, ConfirmExternal, ConfirmAlways}
	huntStrategies  = []string{HuntSequential, HuntRoundRobin, HuntMemoryHunt, HuntFirstNotOnPhone, HuntRingAll, HuntRandom}
	queueStrategies = []string{QueueLongestIdle, QueueRoundRobin, QueueLinear, QueueRingAll, QueueFewestCalls, QueueLeastTalkTime, QueueRandom, QueueRingProgressively}
	userRoles       = []string{RoleAdmin, RoleManager, RoleAgent}
	transports      = []string{"udp", "tcp", "tls"}
)

// Ring-group confirm modes.
const (
	ConfirmNever    = "never"
	ConfirmExternal = "external"
	ConfirmAlways   = "always"
)

// Validate checks the whole site and returns every problem found, or nil.
// Lines are 0 (the site did not come from a file); Field still names the
// object, like queues[0].agents[1]. Parse calls it and adds the lines.
func (s *Site) Validate() Errors {
	return s.validate(nil)
}

// validator holds the indexes one validation run builds.
type validator struct {
	s      *Site
	lineOf func(string) int // nil: the site has no lines
	probs  Errors

	exts, agents, ringGroups, hunts, queues, ivrs, anns map[string]int
	schedules, boxes, trunks, prompts, music            map[string]int
	fxs                                                 map[string]bool    // "fxs:N" listed in lines
	fxo                                                 map[int]bool       // FXO ports of trunks
	outbound                                            []*pattern.Pattern // nil where the pattern is bad
	callerLists                                         map[string]int     // skills.go
}

func (s *Site) validate(lineOf func(string) int) Errors {
	v := &validator{s: s, lineOf: lineOf}
	v.index()
	v.system()
	v.extensions()
	v.agentList()
	v.ringGroupList()
	v.huntGroupList()
	v.queueList()
	v.ivrList()
	v.announcementList()
	v.scheduleList()
	v.inboundList()
	v.voicemailList()
	v.voicemailPINs()
	v.trunkList()
	v.outboundList()
	v.lineList()
	v.promptList()
	v.users()
	v.conferenceList()
	v.disaFields()
	v.skillsAndCallers() // skills.go
	v.tollFraud()
	v.edge()                // edge.go
	v.trunkIdentification() // trunkid.go
	if len(v.probs) == 0 {
		return nil
	}
	return v.probs
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, &Problem{Field: path, Msg: fmt.Sprintf(format, args...)})
}

// where names a place for a message: its line when known, else its path.
func (v *validator) where(path string) string {
	if v.lineOf != nil {
		if l := v.lineOf(path); l > 0 {
			return "line " + strconv.Itoa(l)
		}
	}
	return path
}

// ids indexes the ids of one kind of object, reporting missing, malformed
// and duplicate ones.
func ids(v *validator, section, field string, n int, id func(int) string) map[string]int {
	m := make(map[string]int, n)
	for i := range n {
		p := fieldPath(indexPath(section, i), field)
		s := id(i)
		switch first, dup := m[s]; {
		case s == "":
			v.add(indexPath(section, i), "missing %s", field)
		case !validID(s):
			v.add(p, "%q is not a valid %s: use letters, digits, - _ and . only", s, field)
		case dup:
			v.add(p, "duplicate %s %q (already used at %s)", field, s, v.where(fieldPath(indexPath(section, first), field)))
		default:
			m[s] = i
		}
	}
	return m
}

func (v *validator) index() {
	s := v.s
	v.exts = map[string]int{}
	for i, e := range s.Extensions {
		p := fieldPath(indexPath("extensions", i), "number")
		switch first, dup := v.exts[e.Number]; {
		case e.Number == "":
			v.add(indexPath("extensions", i), "missing number")
		case !isDigits(e.Number):
			v.add(p, "extension number %q must be digits only (feature codes like *45 start with *)", e.Number)
		case dup:
			v.add(p, "duplicate number %s (already used by extensions[%d] at %s)", e.Number, first, v.where(fieldPath(indexPath("extensions", first), "number")))
		default:
			v.exts[e.Number] = i
		}
	}
	v.agents = ids(v, "agents", "id", len(s.Agents), func(i int) string { return s.Agents[i].ID })
	v.ringGroups = ids(v, "ring_groups", "id", len(s.RingGroups), func(i int) string { return s.RingGroups[i].ID })
	v.hunts = ids(v, "hunt_groups", "id", len(s.HuntGroups), func(i int) string { return s.HuntGroups[i].ID })
	v.queues = ids(v, "queues", "id", len(s.Queues), func(i int) string { return s.Queues[i].ID })
	v.ivrs = ids(v, "ivrs", "id", len(s.IVRs), func(i int) string { return s.IVRs[i].ID })
	v.anns = ids(v, "announcements", "id", len(s.Announcements), func(i int) string { return s.Announcements[i].ID })
	v.schedules = ids(v, "schedules", "id", len(s.Schedules), func(i int) string { return s.Schedules[i].ID })
	v.boxes = ids(v, "voicemail", "box", len(s.Voicemail), func(i int) string { return s.Voicemail[i].Box })
	v.trunks = ids(v, "trunks", "id", len(s.Trunks), func(i int) string { return s.Trunks[i].ID })
	v.prompts = ids(v, "prompts", "id", len(s.Prompts), func(i int) string { return s.Prompts[i].ID })
	v.music = ids(v, "hold_music", "id", len(s.HoldMusic), func(i int) string { return s.HoldMusic[i].ID })
	v.fxs = map[string]bool{}
	for _, l := range s.Lines {
		v.fxs[l.Port] = true
	}
	v.fxo = map[int]bool{}
	for _, t := range s.Trunks {
		if t.FXO > 0 {
			v.fxo[t.FXO] = true
		}
	}
	v.outbound = make([]*pattern.Pattern, len(s.Outbound))
	for i, r := range s.Outbound {
		v.outbound[i], _ = pattern.Compile(r.Pattern) // nil when bad: reported by outboundList
	}
}

// enum checks an optional value against its allowed values.
func (v *validator) enum(path, what, val string, allowed []string) {
	if val != "" && !slices.Contains(allowed, val) {
		v.add(path, "unknown %s %q (use one of: %s)", what, val, strings.Join(allowed, ", "))
	}
}

// duration checks a duration; positive says zero is not allowed either.
func (v *validator) duration(path string, d Duration, positive bool) {
	switch {
	case d < 0:
		v.add(path, "bad duration %s: it cannot be negative", time.Duration(d))
	case positive && d == 0:
		v.add(path, "bad duration 0s: it must be longer than zero (like 20s)")
	}
}

func (v *validator) nonNegative(path string, n int) {
	if n < 0 {
		v.add(path, "must be 0 or more, not %d", n)
	}
}

// dest checks an optional destination; required says it must be given.
func (v *validator) dest(path, s string, required bool) {
	if s == "" {
		if required {
			v.add(path, "missing destination (like queue:service, voicemail:general or hangup)")
		}
		return
	}
	d, err := ParseDestination(s)
	if err != nil {
		v.add(path, "%v", err)
		return
	}
	missing := func(what string, m map[string]int) {
		if _, ok := m[d.ID]; !ok {
			v.add(path, "unknown destination %q (no %s with id %q)", s, what, d.ID)
		}
	}
	switch d.Kind {
	case DestIVR:
		missing("ivr", v.ivrs)
	case DestRingGroup:
		missing("ring group", v.ringGroups)
	case DestHunt:
		missing("hunt group", v.hunts)
	case DestQueue:
		missing("queue", v.queues)
	case DestAnnounce:
		missing("announcement", v.anns)
	case DestAgent:
		missing("agent", v.agents)
	case DestExtension:
		if _, ok := v.exts[d.ID]; !ok {
			v.add(path, "unknown destination %q (no extension with number %s)", s, d.ID)
		}
	case DestVoicemail:
		if !v.hasMailbox(d.ID) {
			v.add(path, "unknown destination %q (no voicemail box %q, and no extension %s with voicemail: true)", s, d.ID, d.ID)
		}
	case DestExternal:
		v.external(path, d.ID)
	case DestConference:
		if v.s.FindConference(d.ID) == nil {
			v.add(path, "unknown destination %q (no conference with id %q)", s, d.ID)
		}
	}
}

func (v *validator) hasMailbox(box string) bool {
	if _, ok := v.boxes[box]; ok {
		return true
	}
	i, ok := v.exts[box]
	return ok && v.s.Extensions[i].Voicemail
}

// external checks that an outside number can leave through an outbound route.
func (v *validator) external(path, number string) {
	for _, p := range v.outbound {
		if p != nil && p.Match(number) {
			return
		}
	}
	hint := ""
	if _, ok := v.exts[number]; ok {
		hint = fmt.Sprintf("; for extension %s write ext:%s", number, number)
	}
	v.add(path, "no outbound route matches the number %s, so it cannot be called%s", number, hint)
}

// member checks a ring-group or hunt-group member.
func (v *validator) member(path, m string) {
	switch {
	case strings.HasPrefix(m, "ext:"):
		if _, ok := v.exts[m[4:]]; !ok {
			v.add(path, "unknown member %q (no extension with number %q)", m, m[4:])
		}
	case strings.HasPrefix(m, "fxs:"):
		if !v.fxs[m] {
			v.add(path, "unknown member %q (port %s is not listed in lines:)", m, m)
		}
	case isPhoneNumber(m):
		v.external(path, m)
	case m == "":
		v.add(path, "empty member")
	default:
		if _, ok := v.agents[m]; !ok {
			v.add(path, "unknown member %q (no agent with id %q; write ext:NUM for an extension, fxs:N for an analog port, or a phone number)", m, m)
		}
	}
}

func (v *validator) members(path string, ms []string) {
	seen := map[string]int{}
	for i, m := range ms {
		p := indexPath(path, i)
		if first, dup := seen[m]; dup {
			v.add(p, "member %q is listed twice (also %s)", m, indexPath(path, first))
			continue
		}
		seen[m] = i
		v.member(p, m)
	}
}

func (v *validator) prompt(path, id string, required bool) {
	if id == "" {
		if required {
			v.add(path, "missing prompt")
		}
		return
	}
	if _, ok := v.prompts[id]; ok || slices.Contains(BuiltinPrompts, id) {
		return
	}
	v.add(path, "unknown prompt %q (not in prompts:, and not a built-in prompt)", id)
}

func (v *validator) holdMusic(path, id string) {
	if id == "" || id == DefaultHoldMusic {
		return
	}
	if _, ok := v.music[id]; !ok {
		v.add(path, "unknown hold music %q (not in hold_music:, and not the built-in class %q)", id, DefaultHoldMusic)
	}
}

func (v *validator) phone(path, what, s string) {
	if s != "" && !isPhoneNumber(s) {
		v.add(path, "%s %q must be a phone number: digits, optionally after a +", what, s)
	}
}

func (v *validator) pin(path, s string) {
	if s != "" && !isDigits(s) {
		v.add(path, "a PIN is digits only")
	}
}

// ranges checks weekly ranges and that no two of them overlap.
func (v *validator) ranges(path string, rs []Range) {
	type parsed struct {
		i  int
		sp span
	}
	var ok []parsed
	for i, r := range rs {
		p := indexPath(path, i)
		if _, err := ParseDays(r.Days); err != nil {
			v.add(fieldPath(p, "days"), "%v", err)
			continue
		}
		bad := false
		for _, f := range []struct{ name, val string }{{"from", r.From}, {"to", r.To}} {
			if f.val == "" {
				v.add(p, "missing %s time (like %s: \"09:00\")", f.name, f.name)
				bad = true
			} else if _, err := ParseClock(f.val); err != nil {
				v.add(fieldPath(p, f.name), "%v", err)
				bad = true
			}
		}
		if bad {
			continue
		}
		sp, err := r.parse()
		if err != nil {
			v.add(p, "%v", err)
			continue
		}
		ok = append(ok, parsed{i, sp})
	}
	const week = 7 * 1440
	for b := range ok {
		for a := range b {
			if m, over := overlap(ok[a].sp, ok[b].sp); over {
				m %= week
				v.add(indexPath(path, ok[b].i), "overlaps %s on %s at %02d:%02d",
					indexPath(path, ok[a].i), time.Weekday(m/1440), m%1440/60, m%60)
				break
			}
		}
	}
}

// overlap returns the first week-minute two spans share.
func overlap(a, b span) (int, bool) {
	const week = 7 * 1440
	first, found := 0, false
	for _, x := range a.minutes() {
		for _, y := range b.minutes() {
			// Compare y also shifted by a week either way, for spans that
			// run past Saturday midnight into Sunday.
			for _, shift := range []int{-week, 0, week} {
				lo, hi := max(x[0], y[0]+shift), min(x[1], y[1]+shift)
				if lo < hi && (!found || (lo+week)%week < first) {
					first, found = (lo+week)%week, true
				}
			}
		}
	}
	return first, found
}

func (v *validator) system() {
	s := v.s
	if s.Version != 1 {
		v.add("version", "version must be 1, not %d", s.Version)
	}
	sys := s.System
	if sys.Timezone != "" {
		if _, err := loadLocation(sys.Timezone); err != nil {
			v.add("system.timezone", "%v", err)
		}
	}
	v.enum("system.tone_zone", "tone zone", sys.ToneZone, ToneZones)
	v.enum("system.language", "language", sys.Language, Languages)
	v.phone("system.office_number", "office number", sys.OfficeNumber)
	v.nonNegative("system.loop_limit", sys.LoopLimit)
	switch r := time.Duration(sys.TransferRecall); {
	case r < 0:
		v.add("system.transfer_recall", "transfer recall cannot be negative")
	case r > 0 && r < 5*time.Second:
		v.add("system.transfer_recall", "transfer recall %s is too short: the destination would barely ring (use 5s or more)", sys.TransferRecall)
	case r > 10*time.Minute:
		v.add("system.transfer_recall", "transfer recall %s is too long: the caller would wait unanswered (use 10m or less)", sys.TransferRecall)
	}
	switch r := time.Duration(sys.ParkTimeout); {
	case r < 0:
		v.add("system.park_timeout", "park timeout cannot be negative")
	case r > 0 && r < 10*time.Second:
		v.add("system.park_timeout", "park timeout %s is too short: nobody could retrieve the call (use 10s or more)", sys.ParkTimeout)
	case r > time.Hour:
		v.add("system.park_timeout", "park timeout %s is too long: a forgotten call would wait on hold (use 1h or less)", sys.ParkTimeout)
	}
	if sys.ParkSlots != "" {
		if slots, err := ParseParkSlots(sys.ParkSlots); err != nil {
			v.add("system.park_slots", "%v", err)
		} else {
			for _, x := range v.s.Extensions {
				if slices.Contains(slots, x.Number) {
					v.add("system.park_slots", "park slot %s is also extension %s: dialling it could not retrieve a call", x.Number, x.Number)
				}
			}
		}
	}
	v.dest("system.loop_to", sys.LoopTo, false)
	for i := range sys.SIPDigest {
		if _, err := ParseDigest(sys.SIPDigest[:i+1]); err != nil {
			v.add(indexPath("system.sip_digest", i), "%v", err)
			break
		}
	}
	if m := sys.SMTP; m != nil {
		if m.Host == "" {
			v.add("system.smtp", "missing host (host:port of the mail relay)")
		}
		if m.From == "" {
			v.add("system.smtp", "missing from (the sender address of voicemail e-mails)")
		} else if !strings.Contains(m.From, "@") {
			v.add("system.smtp.from", "%q is not an e-mail address", m.From)
		}
	}
}

func (v *validator) email(path, s string) {
	if s != "" && (!strings.Contains(s, "@") || strings.ContainsAny(s, " \t")) {
		v.add(path, "%q is not an e-mail address", s)
	}
}

func (v *validator) extensions() {
	for i, e := range v.s.Extensions {
		p := indexPath("extensions", i)
		v.enum(fieldPath(p, "permission"), "permission", e.Permission, permissions)
		v.email(fieldPath(p, "email"), e.Email)
		if g := e.PickupGroup; g != "" && !validGroupName(g) {
			v.add(fieldPath(p, "pickup_group"), "pickup group %q: use up to 32 letters, digits, - or _", g)
		}
		// Dialling an emergency number must never ring a desk phone.
		for j, r := range v.s.Outbound {
			if pat := v.outbound[j]; r.Emergency && pat != nil && pat.Match(e.Number) {
				v.add(fieldPath(p, "number"), "extension %s is also an emergency number (outbound[%d] pattern %q)", e.Number, j, r.Pattern)
				break
			}
		}
	}
}

func (v *validator) agentList() {
	buttons := map[int]int{}
	for i, a := range v.s.Agents {
		p := indexPath("agents", i)
		if a.ID != "" && isPhoneNumber(a.ID) {
			v.add(fieldPath(p, "id"), "agent id %q looks like a phone number; start it with a letter so members stay unambiguous", a.ID)
		}
		if a.Extension != "" {
			if _, ok := v.exts[a.Extension]; !ok {
				v.add(fieldPath(p, "extension"), "no extension with number %q", a.Extension)
			}
		}
		v.phone(fieldPath(p, "mobile"), "mobile", a.Mobile)
		pp := fieldPath(p, "ring_preference")
		v.enum(pp, "ring preference", a.RingPreference, ringPreferences)
		needExt := a.RingPreference == RingBoth || a.RingPreference == RingExtensionThenMobile || a.RingPreference == RingExtensionOnly ||
			a.RingPreference == RingBrowserThenExtension || a.RingPreference == RingBrowserAndExtension
		needMob := a.RingPreference == RingBoth || a.RingPreference == RingExtensionThenMobile || a.RingPreference == RingMobileOnly
		browser := a.RingPreference == RingBrowser || a.RingPreference == RingBrowserThenExtension || a.RingPreference == RingBrowserAndExtension
		switch {
		case needExt && a.Extension == "":
			v.add(pp, "ring preference %s needs the agent's extension", a.RingPreference)
		case needMob && a.Mobile == "":
			v.add(pp, "ring preference %s needs the agent's mobile", a.RingPreference)
		case a.Extension == "" && a.Mobile == "" && !browser:
			v.add(p, "agent %q has neither an extension nor a mobile: nothing would ring", a.ID)
		}
		v.duration(fieldPath(p, "mobile_after"), a.MobileAfter, false)
		v.duration(fieldPath(p, "wrapup"), a.Wrapup, false)
		v.enum(fieldPath(p, "role"), "role", a.Role, agentRoles)
		if a.ReportsTo != "" {
			rp := fieldPath(p, "reports_to")
			j, ok := v.agents[a.ReportsTo]
			switch {
			case !ok:
				v.add(rp, "no agent with id %q", a.ReportsTo)
			case a.ReportsTo == a.ID:
				v.add(rp, "an agent cannot report to themself")
			case v.s.Agents[j].Role != RoleManager:
				v.add(rp, "agent %q is not a manager (set role: manager on that agent)", a.ReportsTo)
			}
		}
		v.ranges(fieldPath(p, "hours"), a.Hours)
		if a.AutoLogin && len(a.Hours) == 0 {
			v.add(fieldPath(p, "auto_login"), "auto_login needs hours: it logs the agent in and out at their edges")
		}
		if a.Button < 0 {
			v.add(fieldPath(p, "button"), "button numbers start at 1, not %d", a.Button)
		} else if a.Button > 0 {
			if first, dup := buttons[a.Button]; dup {
				v.add(fieldPath(p, "button"), "button %d is already agents[%d]'s (%s)", a.Button, first, v.where(fieldPath(indexPath("agents", first), "button")))
			} else {
				buttons[a.Button] = i
			}
		}
		v.pin(fieldPath(p, "pin"), a.PIN)
	}
}

func (v *validator) ringGroupList() {
	for i, g := range v.s.RingGroups {
		p := indexPath("ring_groups", i)
		if len(g.Stages) == 0 {
			v.add(p, "ring group %q has no stages", g.ID)
		}
		for j, st := range g.Stages {
			sp := indexPath(fieldPath(p, "stages"), j)
			if len(st.Ring) == 0 {
				v.add(sp, "stage rings nobody (ring: is empty)")
			}
			v.members(fieldPath(sp, "ring"), st.Ring)
			v.duration(fieldPath(sp, "for"), st.For, true)
		}
		v.nonNegative(fieldPath(p, "repeat"), g.Repeat)
		v.enum(fieldPath(p, "confirm"), "confirm mode", g.Confirm, confirmModes)
		v.holdMusic(fieldPath(p, "music"), g.Music)
		v.dest(fieldPath(p, "no_answer"), g.NoAnswer, false)
	}
}

func (v *validator) huntGroupList() {
	for i, g := range v.s.HuntGroups {
		p := indexPath("hunt_groups", i)
		v.enum(fieldPath(p, "strategy"), "strategy", g.Strategy, huntStrategies)
		if len(g.Members) == 0 {
			v.add(p, "hunt group %q has no members", g.ID)
		}
		v.members(fieldPath(p, "members"), g.Members)
		v.duration(fieldPath(p, "ring"), g.Ring, false)
		v.dest(fieldPath(p, "no_answer"), g.NoAnswer, false)
	}
}

// validKey reports whether k is one phone key.
func validKey(k string) bool {
	return len(k) == 1 && (k[0] >= '0' && k[0] <= '9' || k[0] == '*' || k[0] == '#')
}

func (v *validator) queueLEDs() {
	leds := map[int]int{}
	for i, q := range v.s.Queues {
		p := fieldPath(indexPath("queues", i), "led")
		switch {
		case q.LED < 0:
			v.add(p, "queue LEDs are numbered from 1, not %d", q.LED)
		case q.LED > 0:
			if first, dup := leds[q.LED]; dup {
				v.add(p, "queue LED %d already shows queue %q", q.LED, v.s.Queues[first].ID)
			} else {
				leds[q.LED] = i
			}
		}
	}
}

func (v *validator) queueList() {
	v.queueLEDs()
	for i, q := range v.s.Queues {
		p := indexPath("queues", i)
		v.enum(fieldPath(p, "strategy"), "strategy", q.Strategy, queueStrategies)
		if len(q.Agents) == 0 {
			v.add(fieldPath(p, "agents"), "queue %q has no agents: callers would wait for nobody", q.ID)
		}
		seen := map[string]int{}
		for j, qa := range q.Agents {
			ap := indexPath(fieldPath(p, "agents"), j)
			switch first, dup := seen[qa.Agent]; {
			case qa.Agent == "":
				v.add(ap, "missing agent id")
			case dup:
				v.add(ap, "agent %q is listed twice (also %s)", qa.Agent, indexPath(fieldPath(p, "agents"), first))
			default:
				seen[qa.Agent] = j
				if _, ok := v.agents[qa.Agent]; !ok {
					v.add(ap, "unknown agent %q (no agent with id %q)", qa.Agent, qa.Agent)
				}
			}
			if qa.Level < 0 {
				v.add(fieldPath(ap, "level"), "level must be 1 or more, not %d", qa.Level)
			}
		}
		for _, d := range []struct {
			name string
			d    Duration
		}{{"agent_ring", q.AgentRing}, {"wrapup", q.Wrapup}, {"retry_delay", q.RetryDelay}, {"max_wait", q.MaxWait},
			{"announce_position", q.AnnouncePosition}, {"level_wait", q.LevelWait}, {"service_level", q.ServiceLevel}} {
			v.duration(fieldPath(p, d.name), d.d, false)
		}
		v.nonNegative(fieldPath(p, "max_no_answer"), q.MaxNoAnswer)
		v.dest(fieldPath(p, "on_timeout"), q.OnTimeout, false)
		v.dest(fieldPath(p, "on_empty"), q.OnEmpty, false)
		v.holdMusic(fieldPath(p, "hold_music"), q.HoldMusic)
		if c := q.Comfort; c != nil {
			cp := fieldPath(p, "comfort")
			v.duration(fieldPath(cp, "every"), c.Every, true)
			if len(c.Prompts) == 0 {
				v.add(cp, "comfort has no prompts")
			}
			for j, pr := range c.Prompts {
				v.prompt(indexPath(fieldPath(cp, "prompts"), j), pr, true)
			}
		}
		if q.ExitKey != "" && !validKey(q.ExitKey) {
			v.add(fieldPath(p, "exit_key"), "exit_key must be one key: 0-9, * or #, not %q", q.ExitKey)
		}
		switch {
		case q.ExitKey != "" && q.ExitTo == "":
			v.add(fieldPath(p, "exit_key"), "exit_key needs exit_to: where the caller goes after pressing it")
		case q.ExitKey == "" && q.ExitTo != "":
			v.add(fieldPath(p, "exit_to"), "exit_to needs exit_key: the key the caller presses to leave")
		}
		v.dest(fieldPath(p, "exit_to"), q.ExitTo, false)
	}
}

func (v *validator) ivrList() {
	for i, m := range v.s.IVRs {
		p := indexPath("ivrs", i)
		v.prompt(fieldPath(p, "greeting"), m.Greeting, false)
		keys := make([]string, 0, len(m.Options))
		for k := range m.Options {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			kp := keyPath(fieldPath(p, "options"), k)
			if !validKey(k) {
				v.add(kp, "option key %q must be one key: 0-9, * or #", k)
				continue
			}
			v.dest(kp, m.Options[k], true)
		}
		if len(m.Options) == 0 && !m.DirectDial {
			v.add(p, "ivr %q has no options and no direct_dial: callers can only wait for the timeout", m.ID)
		}
		v.duration(fieldPath(p, "timeout"), m.Timeout, false)
		v.duration(fieldPath(p, "digit_timeout"), m.DigitTimeout, false)
		v.nonNegative(fieldPath(p, "retries"), m.Retries)
		v.nonNegative(fieldPath(p, "timeout_retries"), m.TimeoutRetries)
		v.prompt(fieldPath(p, "invalid"), m.Invalid, false)
		v.dest(fieldPath(p, "on_invalid"), m.OnInvalid, false)
		v.dest(fieldPath(p, "on_timeout"), m.OnTimeout, false)
	}
}

func (v *validator) announcementList() {
	for i, a := range v.s.Announcements {
		p := indexPath("announcements", i)
		v.prompt(fieldPath(p, "prompt"), a.Prompt, true)
		v.dest(fieldPath(p, "next"), a.Next, true)
	}
}

func (v *validator) scheduleList() {
	for i, sc := range v.s.Schedules {
		p := indexPath("schedules", i)
		v.ranges(fieldPath(p, "open"), sc.Open)
		seen := map[string]bool{}
		for j, h := range sc.Holidays {
			hp := indexPath(fieldPath(p, "holidays"), j)
			if _, err := time.Parse(time.DateOnly, h); err != nil {
				v.add(hp, "bad holiday %q: write the date as YYYY-MM-DD, like 2026-12-25", h)
			} else if seen[h] {
				v.add(hp, "holiday %s is listed twice", h)
			}
			seen[h] = true
		}
	}
}

func (v *validator) inboundList() {
	// A route with no when (or with otherwise) takes every call it matches,
	// so a later route with the same match, or any route after "*", is
	// never used.
	takenBy := map[string]int{}
	catchAll := -1
	for i, r := range v.s.Inbound {
		p := indexPath("inbound", i)
		mp := fieldPath(p, "match")
		switch {
		case r.Match == "" && r.Caller != "":
			// A caller route without match takes calls to any DID.
		case r.Match == "":
			v.add(p, "missing match (a DID like \"+15551230000\", fxo:N or \"*\")")
		case r.Match == "*":
		case strings.HasPrefix(r.Match, "fxo:"):
			n, err := strconv.Atoi(r.Match[4:])
			if err != nil || n < 1 {
				v.add(mp, "bad match %q: an FXO port is fxo:N with N from 1", r.Match)
			} else if !v.fxo[n] {
				v.add(mp, "no trunk uses FXO port %d (add a trunk with fxo: %d)", n, n)
			}
		case !isPhoneNumber(r.Match):
			v.add(mp, "bad match %q: write a DID (digits, optionally after +), fxo:N, or \"*\" for every call", r.Match)
		}
		if r.Match != "" && r.Caller == "" { // caller routes are tried first (skills.go)
			if catchAll >= 0 {
				v.add(mp, "this route is never used: inbound[%d] (%s) already takes every call with match \"*\"", catchAll, v.where(indexPath("inbound", catchAll)))
			} else if first, ok := takenBy[r.Match]; ok {
				v.add(mp, "this route is never used: inbound[%d] (%s) already takes every call to %s", first, v.where(indexPath("inbound", first)), r.Match)
			}
			if r.When == "" || r.Otherwise != "" {
				if r.Match == "*" && catchAll < 0 {
					catchAll = i
				}
				if _, ok := takenBy[r.Match]; !ok {
					takenBy[r.Match] = i
				}
			}
		}
		if r.When != "" {
			if _, ok := v.schedules[r.When]; !ok {
				v.add(fieldPath(p, "when"), "unknown schedule %q (no schedule with id %q)", r.When, r.When)
			}
		} else if r.Otherwise != "" {
			v.add(fieldPath(p, "otherwise"), "otherwise is only used with when: (a schedule)")
		}
		v.dest(fieldPath(p, "to"), r.To, true)
		v.dest(fieldPath(p, "otherwise"), r.Otherwise, false)
	}
}

func (v *validator) voicemailList() {
	for i, m := range v.s.Voicemail {
		p := indexPath("voicemail", i)
		if j, ok := v.exts[m.Box]; ok && v.s.Extensions[j].Voicemail {
			v.add(fieldPath(p, "box"), "box %q is already extension %s's own mailbox (it has voicemail: true)", m.Box, m.Box)
		}
		v.email(fieldPath(p, "email"), m.Email)
		v.prompt(fieldPath(p, "greeting"), m.Greeting, false)
		v.duration(fieldPath(p, "max_length"), m.MaxLength, false)
		v.duration(fieldPath(p, "min_length"), m.MinLength, false)
		if m.MaxLength > 0 && m.MinLength >= m.MaxLength {
			v.add(fieldPath(p, "min_length"), "min_length %s is not shorter than max_length %s", m.MinLength, m.MaxLength)
		}
		v.pin(fieldPath(p, "pin"), m.PIN)
	}
}

// Mailbox PINs are 4 to 10 digits: fewer is guessed in an afternoon even
// at three tries a call, more is not typed right on a keypad.
const (
	MinMailboxPIN = 4
	MaxMailboxPIN = 10
)

// voicemailPINs checks the mailbox PINs (group boxes' pin, extensions'
// voicemail_pin) and that an extension's voicemail_pin has a box to open.
func (v *validator) voicemailPINs() {
	check := func(path, pin string) {
		if pin != "" && isDigits(pin) && (len(pin) < MinMailboxPIN || len(pin) > MaxMailboxPIN) {
			v.add(path, "a mailbox PIN is %d to %d digits, not %d", MinMailboxPIN, MaxMailboxPIN, len(pin))
		}
	}
	for i, m := range v.s.Voicemail {
		check(fieldPath(indexPath("voicemail", i), "pin"), m.PIN)
	}
	for i, x := range v.s.Extensions {
		p := fieldPath(indexPath("extensions", i), "voicemail_pin")
		v.pin(p, x.VoicemailPIN)
		check(p, x.VoicemailPIN)
		if x.VoicemailPIN != "" && !x.Voicemail {
			v.add(p, "extension %s has a voicemail_pin but no mailbox (set voicemail: true)", x.Number)
		}
	}
}

func (v *validator) trunkList() {
	fxo := map[int]int{}
	for i, t := range v.s.Trunks {
		p := indexPath("trunks", i)
		switch {
		case t.Host == "" && t.FXO == 0:
			v.add(p, "trunk %q needs host (a SIP trunk) or fxo (an analog line)", t.ID)
		case t.Host != "" && t.FXO != 0:
			v.add(p, "trunk %q has both host and fxo: a trunk is either a SIP trunk or an analog line", t.ID)
		case t.FXO < 0:
			v.add(fieldPath(p, "fxo"), "FXO ports are numbered from 1, not %d", t.FXO)
		case t.FXO > 0:
			if first, dup := fxo[t.FXO]; dup {
				v.add(fieldPath(p, "fxo"), "FXO port %d is already trunk %q's", t.FXO, v.s.Trunks[first].ID)
			} else {
				fxo[t.FXO] = i
			}
		}
		if t.Host != "" {
			if h, port, ok := strings.Cut(t.Host, ":"); h == "" || strings.ContainsAny(t.Host, " /") || (ok && !validPort(port)) {
				v.add(fieldPath(p, "host"), "bad host %q: write host or host:port, like sip.carrier.example:5060", t.Host)
			}
		}
		v.enum(fieldPath(p, "transport"), "transport", t.Transport, transports)
		v.enum(fieldPath(p, "prack"), "prack mode", t.Prack, []string{PrackSupported, PrackRequired, PrackOff})
		v.enum(fieldPath(p, "srtp"), "srtp mode", t.SRTP, []string{SRTPSDES, SRTPOff})
		if t.SRTP != "" && t.FXO == 0 && !strings.EqualFold(t.Transport, "tls") {
			v.add(fieldPath(p, "srtp"), "srtp applies to transport: tls only: over %s the box never sends SRTP keys, which would travel in the clear", orStr(t.Transport, "udp"))
		}
		if t.FXO > 0 && (t.Transport != "" || t.Prack != "" || t.SRTP != "") {
			v.add(p, "trunk %q is an analog (fxo) line: transport, prack and srtp apply to SIP trunks only", t.ID)
		}
		if t.Register && t.Username == "" {
			v.add(fieldPath(p, "register"), "register needs username (and usually password)")
		}
		v.enum(fieldPath(p, "caller_id"), "caller ID mode", t.CallerID, []string{CallerIDCaller, CallerIDOffice})
		v.phone(fieldPath(p, "office_number"), "office number", t.OfficeNumber)
		switch {
		case t.SilenceTimeout < 0:
			v.add(fieldPath(p, "silence_timeout"), "silence timeout cannot be negative")
		case t.SilenceTimeout > 0 && t.FXO == 0:
			v.add(fieldPath(p, "silence_timeout"), "silence_timeout applies to analog (fxo) lines only; a SIP trunk signals its hang-ups")
		case t.SilenceTimeout > 0 && t.SilenceTimeout < Duration(5*time.Second):
			v.add(fieldPath(p, "silence_timeout"), "silence timeout %s is too short: pauses in speech would end calls (use 5s or more)", t.SilenceTimeout)
		}
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

func (v *validator) outboundList() {
	for i, r := range v.s.Outbound {
		p := indexPath("outbound", i)
		pp := fieldPath(p, "pattern")
		pat := v.outbound[i]
		if pat == nil {
			if _, err := pattern.Compile(r.Pattern); err != nil {
				v.add(pp, "%v", err)
			}
		} else {
			for j := range i {
				if prev := v.outbound[j]; prev != nil && prev.Covers(pat) {
					v.add(pp, "this route is never used: outbound[%d] (pattern %q, %s) comes first and matches every number %q matches",
						j, v.s.Outbound[j].Pattern, v.where(indexPath("outbound", j)), r.Pattern)
					break
				}
			}
			if r.Strip < 0 {
				v.add(fieldPath(p, "strip"), "strip must be 0 or more, not %d", r.Strip)
			} else if r.Strip >= pat.MinLen() {
				v.add(fieldPath(p, "strip"), "strip %d would remove the whole number (the shortest number %q matches has %d characters)", r.Strip, r.Pattern, pat.MinLen())
			}
		}
		if r.Prepend != "" && r.Prepend != "+" && !isPhoneNumber(r.Prepend) {
			v.add(fieldPath(p, "prepend"), "prepend %q must be digits, optionally after a +", r.Prepend)
		}
		if len(r.Trunks) == 0 {
			v.add(p, "no trunks: calls matching %q would have nowhere to go", r.Pattern)
		}
		for j, t := range r.Trunks {
			if _, ok := v.trunks[t]; !ok {
				v.add(indexPath(fieldPath(p, "trunks"), j), "unknown trunk %q (no trunk with id %q)", t, t)
			}
		}
		v.enum(fieldPath(p, "permission"), "permission", r.Permission, permissions)
	}
}

func (v *validator) lineList() {
	ports := map[string]int{}
	for i, l := range v.s.Lines {
		p := indexPath("lines", i)
		n, err := strconv.Atoi(strings.TrimPrefix(l.Port, "fxs:"))
		switch {
		case l.Port == "":
			v.add(p, "missing port (like fxs:1)")
		case !strings.HasPrefix(l.Port, "fxs:") || err != nil || n < 1:
			v.add(fieldPath(p, "port"), "bad port %q: write fxs:N with N from 1", l.Port)
		default:
			if first, dup := ports[l.Port]; dup {
				v.add(fieldPath(p, "port"), "port %s is listed twice (also lines[%d])", l.Port, first)
			}
			ports[l.Port] = i
		}
		if l.Extension == "" {
			v.add(p, "missing extension")
		} else if _, ok := v.exts[l.Extension]; !ok {
			v.add(fieldPath(p, "extension"), "no extension with number %q", l.Extension)
		}
	}
}

func (v *validator) promptList() {
	for i, pr := range v.s.Prompts {
		if pr.File == "" {
			v.add(indexPath("prompts", i), "prompt %q has no file", pr.ID)
		}
	}
	for i, m := range v.s.HoldMusic {
		p := indexPath("hold_music", i)
		switch {
		case len(m.Files) == 0 && m.Device == "":
			v.add(p, "hold music %q needs files or a device", m.ID)
		case len(m.Files) > 0 && m.Device != "":
			v.add(p, "hold music %q has both files and a device: pick one", m.ID)
		}
	}
}

func (v *validator) users() {
	logins := map[string]int{}
	for i, u := range v.s.Users {
		p := indexPath("users", i)
		switch first, dup := logins[u.Login]; {
		case u.Login == "":
			v.add(p, "missing login")
		case strings.ContainsAny(u.Login, " \t:"):
			v.add(fieldPath(p, "login"), "login %q may not contain spaces or colons", u.Login)
		case dup:
			v.add(fieldPath(p, "login"), "duplicate login %q (already used at %s)", u.Login, v.where(indexPath("users", first)))
		default:
			logins[u.Login] = i
		}
		rp := fieldPath(p, "role")
		if u.Role == "" {
			v.add(p, "missing role (admin, manager or agent)")
		} else {
			v.enum(rp, "role", u.Role, userRoles)
		}
		if u.Agent != "" {
			j, ok := v.agents[u.Agent]
			switch {
			case !ok:
				v.add(fieldPath(p, "agent"), "no agent with id %q", u.Agent)
			case u.Role == RoleManager && v.s.Agents[j].Role != RoleManager:
				v.add(fieldPath(p, "agent"), "agent %q is not a manager (set role: manager on the agent), so this manager would see nobody", u.Agent)
			}
		} else if u.Role == RoleAgent {
			v.add(p, "a login with role agent needs agent: (the agent it belongs to)")
		}
	}
}

// validGroupName reports whether g is a usable pickup group name.
func validGroupName(g string) bool {
	if len(g) > 32 {
		return false
	}
	for _, r := range g {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
