package flow

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/site"
)

func findGroup(s *site.Site, id string) *site.RingGroup {
	for i := range s.RingGroups {
		if s.RingGroups[i].ID == id {
			return &s.RingGroups[i]
		}
	}
	return nil
}

func findHunt(s *site.Site, id string) *site.HuntGroup {
	for i := range s.HuntGroups {
		if s.HuntGroups[i].ID == id {
			return &s.HuntGroups[i]
		}
	}
	return nil
}

// groupEntries lays out a staged ring group: each stage's members ring
// together for the stage's time, stage after stage, repeat times over.
func (e *Engine) groupEntries(snap *config.Snapshot, g *site.RingGroup, from call.Party) []ringEntry {
	o := ringOpts{from: fromWithPrefix(from, g.CIDPrefix), confirm: g.ConfirmMode(), hours: true, busy: true}
	var out []ringEntry
	var at time.Duration
	for round := 1; round <= g.Repeats(); round++ {
		for si, st := range g.Stages {
			until := at + st.For.D()
			for _, m := range st.Ring {
				for _, en := range e.memberEntries(snap, m, at, until, o) {
					en.round, en.stage = round, si+1
					out = append(out, en)
				}
			}
			at = until
		}
	}
	return out
}

// ringGroup rings a staged ring group; unanswered, the call goes on to
// no_answer.
func (c *Call) ringGroup(ctx context.Context, id string) (string, call.Cause) {
	g := findGroup(c.snap.Site, id)
	if g == nil {
		return "", call.NotFound
	}
	ans, cause := c.ring(ctx, c.e.groupEntries(c.snap, g, c.info.From), g.Music)
	if ans != nil {
		return "", c.connect(ctx, ans)
	}
	if cause == call.Cancelled || ctx.Err() != nil {
		return "", cause
	}
	c.busy = cause == call.Busy
	return g.NoAnswerDest(), cause
}

// huntOrder orders members for one call: rotated to start for
// round_robin, shuffled for random, as listed otherwise.
func huntOrder(strategy string, members []string, start int, shuffle func([]string)) []string {
	out := append([]string(nil), members...)
	switch strategy {
	case site.HuntRoundRobin:
		if n := len(out); n > 0 {
			start = ((start % n) + n) % n
			out = append(out[start:], out[:start]...)
		}
	case site.HuntRandom:
		shuffle(out)
	}
	return out
}

// huntEntries lays out a hunt group for members already ordered and
// filtered to those available: one after the other for ring each
// (sequential, round_robin, random), growing sets (memory_hunt: member i
// joins at step i and rings to the end), all at once (ring_all), or only
// the first (first_not_on_phone).
func (e *Engine) huntEntries(snap *config.Snapshot, g *site.HuntGroup, members []string, from call.Party) []ringEntry {
	ring := g.RingTime()
	o := ringOpts{from: from, hunt: true, hours: true, busy: true}
	n := time.Duration(len(members))
	var out []ringEntry
	add := func(i int, m string, at, until time.Duration) {
		for _, en := range e.memberEntries(snap, m, at, until, o) {
			en.stage = i + 1
			out = append(out, en)
		}
	}
	switch g.StrategyName() {
	case site.HuntRingAll:
		for i, m := range members {
			add(i, m, 0, ring)
		}
	case site.HuntFirstNotOnPhone:
		if len(members) > 0 {
			add(0, members[0], 0, ring)
		}
	case site.HuntMemoryHunt:
		for i, m := range members {
			add(i, m, time.Duration(i)*ring, n*ring)
		}
	default:
		for i, m := range members {
			add(i, m, time.Duration(i)*ring, time.Duration(i+1)*ring)
		}
	}
	return out
}

// available reports why member m cannot be rung now ("" when it can): an
// agent off hours, anyone on a call, in do-not-disturb or blocked from
// hunting.
func (e *Engine) available(snap *config.Snapshot, m string, now time.Time, busy func(...string) bool) string {
	o := ringOpts{hunt: true, hours: true, busy: true}
	ens := e.memberEntries(snap, m, 0, time.Hour, o)
	why := SkipDND
	if len(ens) == 0 {
		return why
	}
	for _, en := range ens {
		if en.check == nil {
			return ""
		}
		r := en.check(now, busy)
		if r == "" {
			return ""
		}
		why = r
	}
	return why
}

// huntStart returns where a round-robin group starts this call.
func (c *Call) huntStart(ctx context.Context, g *site.HuntGroup) int {
	n := len(g.Members)
	if c.e.HuntState != nil {
		i, err := c.e.HuntState.HuntNext(ctx, g.ID, n)
		if err == nil {
			return i
		}
		c.log.Error("hunt state", "group", g.ID, "err", err)
	}
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if c.e.rr == nil {
		c.e.rr = map[string]int{}
	}
	i := c.e.rr[g.ID] % n
	c.e.rr[g.ID] = (i + 1) % n
	return i
}

// hunt rings a hunt group. Members on a call, in do-not-disturb, blocked
// from hunting or off hours are skipped. Unanswered (or nobody available)
// the call goes to no_answer, else to the last member's mailbox.
func (c *Call) hunt(ctx context.Context, id string) (string, call.Cause) {
	g := findHunt(c.snap.Site, id)
	if g == nil {
		return "", call.NotFound
	}
	start := 0
	if g.StrategyName() == site.HuntRoundRobin && len(g.Members) > 0 {
		start = c.huntStart(ctx, g)
	}
	order := huntOrder(g.StrategyName(), g.Members, start, func(s []string) {
		rand.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	})
	busy := c.e.presence().Busy
	now := time.Now()
	var avail []string
	for _, m := range order {
		if why := c.e.available(c.snap, m, now, busy); why != "" {
			c.log.Info("not rung", "group", g.ID, "member", m, "reason", why)
			continue
		}
		avail = append(avail, m)
	}
	cause := call.Unavailable
	if len(avail) > 0 {
		var ans *answered
		ans, cause = c.ring(ctx, c.e.huntEntries(c.snap, g, avail, c.info.From), "")
		if ans != nil {
			return "", c.connect(ctx, ans)
		}
		if cause == call.Cancelled || ctx.Err() != nil {
			return "", cause
		}
	}
	if g.NoAnswer != "" {
		return g.NoAnswer, cause
	}
	if box := lastMailbox(c.snap.Site, g.Members); box != "" {
		return site.DestVoicemail + ":" + box, cause
	}
	return "", cause
}

// lastMailbox is the mailbox of the last member that is an extension (or
// an agent's extension) with voicemail.
func lastMailbox(s *site.Site, members []string) string {
	for i := len(members) - 1; i >= 0; i-- {
		m := members[i]
		num := ""
		if n, ok := strings.CutPrefix(m, "ext:"); ok {
			num = n
		} else if a := findAgent(s, m); a != nil {
			num = a.Extension
		} else if p, ok := strings.CutPrefix(m, "fxs:"); ok {
			for _, l := range s.Lines {
				if l.Port == "fxs:"+p {
					num = l.Extension
				}
			}
		}
		if x := findExt(s, num); x != nil && x.Voicemail {
			return num
		}
	}
	return ""
}
