package acd

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// skillSite is testSite with skills: bob fr 8, sue fr 4, ann en 5 (no
// French). The queue needs fr 6, drops two levels after 30 s and takes
// any agent after 60 s.
func skillSite(mod func(s *site.Site)) *site.Site {
	s := testSite(func(q *site.Queue) {
		q.Skills = map[string]int{"fr": 6}
		q.SkillWidening = []site.SkillStep{
			{After: site.Duration(30 * time.Second), DropLevels: 2},
			{After: site.Duration(60 * time.Second), AnyAgent: true},
		}
	})
	s.Agents[0].Skills = map[string]int{"fr": 8}
	s.Agents[1].Skills = map[string]int{"fr": 4}
	s.Agents[2].Skills = map[string]int{"en": 5}
	if mod != nil {
		mod(s)
	}
	return s
}

// skilledCaller joins the queue with a call that needs skills (nil: the
// queue's).
func (v *env) skilledCaller(name string, skills map[string]int) chan result {
	leg := calltest.NewLeg(name)
	v.legs = append(v.legs, leg)
	ch := make(chan result, 1)
	go func() {
		next, cause := runQueue(v.e, flow.QueueCall{Queue: "service", CallID: name, Caller: leg, Skills: skills})
		ch <- result{next, cause, time.Since(v.start)}
	}()
	synctest.Wait()
	return ch
}

// offeredTo lists the extensions rung so far, in order.
func (v *env) offeredTo() []string {
	var out []string
	for _, d := range v.d.Dials() {
		out = append(out, d.Number)
	}
	return out
}

// connectSkill is the skill field of the CONNECT lines, in order.
func (v *env) connectSkill() []string {
	var out []string
	for _, e := range v.st.events(EvConnect) {
		f := ""
		if len(e.Data) > 3 {
			f = e.Data[3]
		}
		out = append(out, e.Agent+":"+f)
	}
	return out
}

// TestSkillWideningDropsLevels: no agent with fr 6 is free; at exactly 30 s
// the requirement drops to fr 4 and Sue is offered, not a moment before;
// Ann, without French, is not.
func TestSkillWideningDropsLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, skillSite(nil), nil)
		v.login("sue", "ann")
		v.answers("102", time.Second)
		v.answers("103", time.Second)
		v.skilledCaller("c1", nil)
		sleep(30*time.Second - time.Millisecond)
		if got := v.offeredTo(); len(got) != 0 {
			t.Fatalf("offered to %v before the first widening step", got)
		}
		sleep(time.Millisecond)
		if got := v.offeredTo(); !slices.Equal(got, []string{"102"}) {
			t.Fatalf("at 30 s offered to %v, want Sue (102) alone", got)
		}
		sleep(2 * time.Second)
		if got := v.connectSkill(); !slices.Equal(got, []string{"sue:" + MatchWidened}) {
			t.Errorf("CONNECT %v, want sue after widening", got)
		}
	})
}

// TestSkillWideningAnyAgent: with only Ann (no French) logged in, the call
// waits until exactly 60 s, the any_agent step.
func TestSkillWideningAnyAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, skillSite(nil), nil)
		v.login("ann")
		v.answers("103", time.Second)
		// Off the minute, so that the once-a-minute wake-up (working
		// hours) cannot pass for the step's own.
		sleep(7 * time.Second)
		v.skilledCaller("c1", nil)
		sleep(60*time.Second - time.Millisecond)
		if got := v.offeredTo(); len(got) != 0 {
			t.Fatalf("offered to %v before the any_agent step", got)
		}
		sleep(time.Millisecond)
		if got := v.offeredTo(); !slices.Equal(got, []string{"103"}) {
			t.Fatalf("at 60 s offered to %v, want Ann (103)", got)
		}
		sleep(2 * time.Second)
		if got := v.connectSkill(); !slices.Equal(got, []string{"ann:" + MatchWidened}) {
			t.Errorf("CONNECT %v, want ann after widening", got)
		}
	})
}

// TestSkillBestMatchFirst: all agents are free before the caller joins,
// Sue longest (she logged in first). The best skill match gets the call
// first; equal matches fall back to the queue's order (agent level, then
// longest idle); after the any step the best match still goes first.
func TestSkillBestMatchFirst(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(s *site.Site)
		skills map[string]int // the call's; nil: the queue's fr 6
		at     time.Duration  // when the first offer is made
		want   string         // to whom
		match  string
	}{
		{"highest level first", func(s *site.Site) { s.Agents[1].Skills["fr"] = 7 }, nil, 0, "101", MatchSkill},
		{"tie: longest idle", func(s *site.Site) { s.Agents[1].Skills["fr"] = 8 }, nil, 0, "102", MatchSkill},
		{"sum over skills", func(s *site.Site) {
			s.Agents[0].Skills = map[string]int{"fr": 6, "en": 2}
			s.Agents[1].Skills = map[string]int{"fr": 6, "en": 6}
		}, map[string]int{"fr": 6, "en": 1}, 0, "102", MatchSkill},
		{"lower level needs the skill", func(s *site.Site) {
			s.Agents[0].Skills = map[string]int{"fr": 9}
			s.Agents[1].Skills = map[string]int{"fr": 6, "en": 6}
		}, map[string]int{"fr": 6, "en": 1}, 0, "102", MatchSkill},
		// The call's own requirement replaces the queue's.
		{"call's skills", nil, map[string]int{"en": 3}, 0, "103", MatchSkill},
		// Past 60 s anyone may answer, the best French speaker first.
		{"best after any", func(s *site.Site) { s.Agents[0].Skills["fr"] = 3; s.Agents[1].Skills["fr"] = 2 }, nil, 60 * time.Second, "101", MatchWidened},
		// The queue's agent levels order agents of equal skill.
		{"agent level breaks a tie", func(s *site.Site) {
			s.Agents[1].Skills["fr"] = 8
			s.Queues[0].Agents[1].Level = 2
		}, nil, 0, "101", MatchSkill},
		// Once both levels are reached (and the requirement dropped to fr
		// 4), the better match on the later level comes first.
		{"skill before agent level", func(s *site.Site) {
			s.Agents[0].Skills["fr"] = 5
			s.Agents[1].Skills["fr"] = 9
			s.Queues[0].Agents[1].Level = 2
		}, nil, 30 * time.Second, "102", MatchSkill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := newEnv(t, skillSite(tt.mod), nil)
				for _, n := range []string{"101", "102", "103"} {
					v.answers(n, time.Second)
				}
				v.login("sue")
				sleep(time.Second)
				v.login("bob", "ann")
				sleep(time.Second)
				start := time.Now()
				v.skilledCaller("c1", tt.skills)
				if tt.at > 0 {
					sleep(tt.at - time.Millisecond)
					if got := v.offeredTo(); len(got) != 0 {
						t.Fatalf("offered to %v before %v", got, tt.at)
					}
					sleep(time.Millisecond)
				}
				if got := v.offeredTo(); len(got) != 1 || got[0] != tt.want {
					t.Fatalf("at %v offered to %v, want %s first", time.Since(start), got, tt.want)
				}
				sleep(2 * time.Second)
				if got := v.connectSkill(); len(got) != 1 || !strings.HasSuffix(got[0], ":"+tt.match) {
					t.Errorf("CONNECT %v, want a %s match", got, tt.match)
				}
			})
		})
	}
}

// TestNoSkillsNoField: a queue without skills logs CONNECT as before,
// with three fields.
func TestNoSkillsNoField(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(nil), nil)
		v.login("bob")
		v.answers("101", time.Second)
		v.skilledCaller("c1", nil)
		sleep(2 * time.Second)
		c := v.st.events(EvConnect)
		if len(c) != 1 || len(c[0].Data) != 3 {
			t.Errorf("CONNECT %+v, want one with holdtime|uniqueid|ringtime", c)
		}
	})
}

func TestSkillStats(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	entries := []store.QueueLogEntry{
		{Time: at, Queue: "service", Event: EvEnterQueue},
		{Time: at, Queue: "service", Agent: "bob", Event: EvConnect, Data: []string{"5", "x", "2", MatchSkill}},
		{Time: at, Queue: "service", Event: EvEnterQueue},
		{Time: at, Queue: "service", Agent: "sue", Event: EvConnect, Data: []string{"31", "y", "2", MatchWidened}},
		{Time: at, Queue: "service", Event: EvEnterQueue},
		{Time: at, Queue: "service", Agent: "ann", Event: EvConnect, Data: []string{"3", "z", "2"}},
	}
	s := ComputeStats("service", entries, 20*time.Second)
	if s.Answered != 3 || s.SkillAnswered != 1 || s.WidenedAnswered != 1 {
		t.Errorf("answered %d, by skill %d, after widening %d; want 3, 1, 1", s.Answered, s.SkillAnswered, s.WidenedAnswered)
	}
}

// TestSkillsFromTheInboundRoute: the skills of the route a call came in by
// travel through the flow to dispatch: only Ann speaks English well enough,
// though Bob has waited longer.
func TestSkillsFromTheInboundRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := skillSite(func(s *site.Site) {
			s.Inbound = []site.InboundRoute{{Match: "+15551230000", To: "queue:service", Skills: map[string]int{"en": 4}}}
		})
		v := newEnv(t, s, nil)
		fl, w, _ := flowOn(t, v)
		v.login("bob")
		sleep(time.Second)
		v.login("ann")
		v.answers("101", time.Second)
		v.answers("103", time.Second)
		caller := calltest.NewLeg("caller", calltest.From("+13125550123", "Alice"))
		time.AfterFunc(20*time.Second, func() { caller.Hangup(call.Normal) })
		fl.Handle(t.Context(), caller, flow.Inbound{CallID: "s1", From: caller.Remote(), To: "+15551230000", Trunk: "carrier", DID: "+15551230000"})
		synctest.Wait()
		if got := v.offeredTo(); !slices.Equal(got, []string{"103"}) {
			t.Errorf("offered to %v, want Ann (103) alone", got)
		}
		if r := w.last(t); r.Agent != "ann" {
			t.Errorf("CDR agent %q, want ann", r.Agent)
		}
		if got := v.connectSkill(); !slices.Equal(got, []string{"ann:" + MatchSkill}) {
			t.Errorf("CONNECT %v", got)
		}
	})
}
