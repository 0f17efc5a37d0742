package flow

import (
	"cmp"
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/ring"
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
func groupEntries(av ring.Avail, g *site.RingGroup, o ring.Opts) []ring.Entry {
	o.From = ring.FromWithPrefix(o.From, g.CIDPrefix)
	o.Confirm = g.ConfirmMode()
	var out []ring.Entry
	var at time.Duration
	for round := 1; round <= g.Repeats(); round++ {
		for si, st := range g.Stages {
			until := at + st.For.D()
			for _, m := range st.Ring {
				for _, en := range ring.Member(av, m, at, until, o) {
					en.Round, en.Stage = round, si+1
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
	o := ring.Group(g.RingUnavailableAgents)
	o.Via = cmp.Or(g.Name, g.ID)
	res := c.ring(ctx, groupEntries(c.avail(), g, c.opts(o)), g.Music)
	if res.Answer != nil {
		return "", c.connect(ctx, res.Answer, nil)
	}
	if res.Cause == call.Cancelled || ctx.Err() != nil {
		return "", res.Cause
	}
	c.busy = res.Cause == call.Busy
	return g.NoAnswerDest(), res.Cause
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
func huntEntries(av ring.Avail, g *site.HuntGroup, members []string, o ring.Opts) []ring.Entry {
	rt := g.RingTime()
	n := time.Duration(len(members))
	var out []ring.Entry
	add := func(i int, m string, at, until time.Duration) {
		for _, en := range ring.Member(av, m, at, until, o) {
			en.Stage = i + 1
			out = append(out, en)
		}
	}
	switch g.StrategyName() {
	case site.HuntRingAll:
		for i, m := range members {
			add(i, m, 0, rt)
		}
	case site.HuntFirstNotOnPhone:
		if len(members) > 0 {
			add(0, members[0], 0, rt)
		}
	case site.HuntMemoryHunt:
		for i, m := range members {
			add(i, m, time.Duration(i)*rt, n*rt)
		}
	default:
		for i, m := range members {
			add(i, m, time.Duration(i)*rt, time.Duration(i+1)*rt)
		}
	}
	return out
}

// huntOpts are how a hunt group rings: blocked extensions are skipped too.
func huntOpts(g *site.HuntGroup) ring.Opts {
	o := ring.Group(g.RingUnavailableAgents)
	o.Hunt = true
	o.Via = cmp.Or(g.Name, g.ID)
	return o
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
	av, o := c.avail(), c.opts(huntOpts(g))
	now := time.Now()
	var avail []string
	for _, m := range order {
		if why := ring.Why(av, m, now, o); why != "" {
			c.log.Info("not rung", "group", g.ID, "member", m, "reason", why)
			continue
		}
		avail = append(avail, m)
	}
	cause := call.Unavailable
	if len(avail) > 0 {
		res := c.ring(ctx, huntEntries(av, g, avail, o), "")
		if res.Answer != nil {
			return "", c.connect(ctx, res.Answer, nil)
		}
		cause = res.Cause
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
		} else if a := ring.FindAgent(s, m); a != nil {
			num = a.Extension
		} else if p, ok := strings.CutPrefix(m, "fxs:"); ok {
			for _, l := range s.Lines {
				if l.Port == "fxs:"+p {
					num = l.Extension
				}
			}
		}
		if x := ring.FindExt(s, num); x != nil && x.Voicemail {
			return num
		}
	}
	return ""
}
