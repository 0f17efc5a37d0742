package acd

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/cdr"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
)

// These tests run the real routing engine (package flow) on the real ACD:
// a queue call is a whole call, with the same answer, presence, bridge,
// recording and CDR as any other.

type cdrLog struct {
	mu  sync.Mutex
	all []cdr.Record
}

func (c *cdrLog) InsertCDR(ctx context.Context, r cdr.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, r)
	return nil
}

func (c *cdrLog) last(t *testing.T) cdr.Record {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.all) == 0 {
		t.Fatal("no CDR written")
	}
	return c.all[len(c.all)-1]
}

// flowOn returns a routing engine whose queues and agents are v's ACD.
func flowOn(t *testing.T, v *env) (*flow.Engine, *cdrLog, *calltest.RecordingBridger) {
	w := &cdrLog{}
	rb := &calltest.RecordingBridger{}
	fl := &flow.Engine{Config: v.cfg, Dialer: v.d, Bridger: rb, CDR: w, Presence: v.pres, Queues: v.e, Agents: v.e,
		RecordingsDir: t.TempDir(), ExtensionRing: 20 * time.Second}
	return fl, w, rb
}

func recordedQueueSite() *site.Site {
	s := testSite(func(q *site.Queue) { q.Wrapup = site.Duration(30 * time.Second) })
	s.Announcements = []site.Announcement{{ID: "recorded", Prompt: "recording-notice", Record: true, Next: "queue:service"}}
	s.Inbound = []site.InboundRoute{{Match: "+15551230000", To: "announce:recorded"}}
	return s
}

func TestQueueCallIsAWholeCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, recordedQueueSite(), nil)
		fl, w, rb := flowOn(t, v)
		v.login("bob")
		v.answers("101", 2*time.Second)
		caller := calltest.NewLeg("caller", calltest.From("+13125550123", "Alice"))
		time.AfterFunc(60*time.Second, func() { caller.Hangup(call.Normal) })
		fl.Handle(t.Context(), caller, flow.Inbound{CallID: "q1", From: caller.Remote(), To: "+15551230000", Trunk: "carrier", DID: "+15551230000"})
		synctest.Wait()

		r := w.last(t)
		if r.Answer.IsZero() || r.Billable < 50*time.Second {
			t.Errorf("CDR answer %v billable %v: the queue call must count as answered", r.Answer, r.Billable)
		}
		if r.Agent != "bob" || r.AnsweredBy != "agent:bob/ext:101" {
			t.Errorf("CDR agent %q answered by %q, want bob on his extension", r.Agent, r.AnsweredBy)
		}
		if r.HangupBy != "caller" || r.Cause != "normal" {
			t.Errorf("CDR hangup by %q cause %q, want the caller, normal", r.HangupBy, r.Cause)
		}
		i := slices.IndexFunc(r.Legs, func(l cdr.Leg) bool { return l.Target == "agent:bob/ext:101" })
		if i < 0 || r.Legs[i].Answer.IsZero() || r.Legs[i].Agent != "bob" {
			t.Errorf("CDR legs %+v, want bob's answered leg", r.Legs)
		}
		if !slices.Equal(r.Path, []string{"announce:recorded", "queue:service"}) {
			t.Errorf("path %v", r.Path)
		}
		// record: true before the queue records the conversation.
		if p := rb.Paths(); len(p) != 1 || r.Recording != p[0] || !strings.HasSuffix(p[0], "q1.wav") {
			t.Errorf("recorded %v, CDR recording %q", p, r.Recording)
		}
		if c := v.st.events(EvCompleteCaller); len(c) != 1 || c[0].Agent != "bob" {
			t.Errorf("COMPLETECALLER = %+v", c)
		}
		a, _ := v.e.Agent(context.Background(), "bob")
		if a.State != Wrapup {
			t.Errorf("bob after the call: %s, want wrap-up", a.State)
		}
		if v.pres.Busy("agent:bob", "ext:101") {
			t.Error("bob still marked on a call")
		}
	})
}

// TestQueueOffersCarryTheCallersCodecs: the agent's phone is offered
// what the caller can use.
func TestQueueOffersCarryTheCallersCodecs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, recordedQueueSite(), nil)
		fl, _, _ := flowOn(t, v)
		v.login("bob")
		v.answers("101", time.Second)
		caller := calltest.NewLeg("caller", calltest.Codecs("G722", "PCMA"))
		time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
		fl.Handle(t.Context(), caller, flow.Inbound{CallID: "q2", From: caller.Remote(), To: "+15551230000", Trunk: "carrier", DID: "+15551230000"})
		d := v.d.Dials()
		if len(d) != 1 || !slices.Equal(d[0].Codecs, []string{"G722", "PCMA"}) {
			t.Errorf("agent offered %+v, want the caller's codecs", d)
		}
	})
}

// agentSite adds a ring group and a hunt group of the queue's agents.
func agentSite(ringUnavailable bool) *site.Site {
	s := testSite(nil)
	s.RingGroups = []site.RingGroup{{ID: "front", Stages: []site.Stage{{Ring: []string{"bob", "sue"}, For: site.Duration(20 * time.Second)}},
		NoAnswer: "hangup", RingUnavailableAgents: ringUnavailable}}
	s.HuntGroups = []site.HuntGroup{{ID: "support", Members: []string{"bob", "sue", "ann"}, Ring: site.Duration(10 * time.Second), NoAnswer: "hangup"}}
	s.Agents[1].WrapupAfterAllCalls = true
	s.Agents[1].Wrapup = site.Duration(45 * time.Second)
	return s
}

// TestGroupsRingOnlyAvailableAgents: ring groups, hunt groups and agent:
// destinations skip agents who are unavailable, logged out, in wrap-up or
// on a call, unless the group rings unavailable agents anyway.
func TestGroupsRingOnlyAvailableAgents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, agentSite(false), nil)
		fl, _, _ := flowOn(t, v)
		v.login("bob", "sue")
		if _, err := v.e.SetUnavailable(context.Background(), "bob", "lunch", time.Time{}, SourceAPI); err != nil {
			t.Fatal(err)
		}
		// ann is logged out.
		v.answers("101", time.Hour)
		v.answers("102", time.Hour)
		v.answers("103", time.Hour)
		numbers := func() []string {
			var out []string
			for _, d := range v.d.Dials() {
				out = append(out, d.Number)
			}
			return out
		}
		before := len(v.d.Dials())
		run := func(to string) {
			c := calltest.NewLeg("caller-" + to)
			time.AfterFunc(3*time.Second, func() { c.Hangup(call.Normal) })
			s := v.cfg.Current().Site
			s2 := *s
			s2.Inbound = []site.InboundRoute{{Match: "*", To: to}}
			if _, err := v.cfg.Publish(&s2, v.cfg.Current().Version+1); err != nil {
				t.Fatal(err)
			}
			fl.Handle(t.Context(), c, flow.Inbound{CallID: "c-" + to, From: c.Remote(), To: "+1555", Trunk: "carrier", DID: "+1555"})
			synctest.Wait()
		}
		run("ringgroup:front")
		run("hunt:support")
		run("agent:bob")
		if got := numbers()[before:]; !slices.Equal(got, []string{"102", "102"}) {
			t.Errorf("rang %v, want only sue (bob unavailable, ann logged out), once per group", got)
		}

		// The group that rings unavailable agents anyway rings bob too.
		s := agentSite(true)
		s.Inbound = []site.InboundRoute{{Match: "*", To: "ringgroup:front"}}
		if _, err := v.cfg.Publish(s, v.cfg.Current().Version+1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		before = len(v.d.Dials())
		c := calltest.NewLeg("caller-anyway")
		time.AfterFunc(3*time.Second, func() { c.Hangup(call.Normal) })
		fl.Handle(t.Context(), c, flow.Inbound{CallID: "anyway", From: c.Remote(), To: "+1555", Trunk: "carrier", DID: "+1555"})
		got := numbers()[before:]
		slices.Sort(got)
		if !slices.Equal(got, []string{"101", "102"}) {
			t.Errorf("ring_unavailable_agents rang %v, want bob and sue", got)
		}
	})
}

// TestWrapupAfterAllCalls: an agent with wrapup_after_all_calls gets the
// cool-down after a ring-group call too, and is not rung meanwhile.
func TestWrapupAfterAllCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := agentSite(false)
		s.Inbound = []site.InboundRoute{{Match: "*", To: "ringgroup:front"}}
		v := newEnv(t, s, nil)
		fl, w, _ := flowOn(t, v)
		v.login("sue")
		v.answers("102", time.Second)
		c := calltest.NewLeg("caller")
		time.AfterFunc(20*time.Second, func() { c.Hangup(call.Normal) })
		fl.Handle(t.Context(), c, flow.Inbound{CallID: "w1", From: c.Remote(), To: "+1555", Trunk: "carrier", DID: "+1555"})
		synctest.Wait()
		if r := w.last(t); r.Agent != "sue" {
			t.Fatalf("CDR agent %q, want sue", r.Agent)
		}
		a, _ := v.e.Agent(context.Background(), "sue")
		if a.State != Wrapup || a.WrapupUntil.Sub(time.Now()) != 45*time.Second {
			t.Errorf("sue after a ring-group call: %s until %v, want 45 s of wrap-up", a.State, a.WrapupUntil)
		}
		if why := v.e.Blocked("sue"); why != "in wrap-up" {
			t.Errorf("Blocked(sue) = %q, want in wrap-up", why)
		}
		// A second call meanwhile does not ring her.
		before := len(v.d.Dials())
		c2 := calltest.NewLeg("caller2")
		time.AfterFunc(3*time.Second, func() { c2.Hangup(call.Normal) })
		fl.Handle(t.Context(), c2, flow.Inbound{CallID: "w2", From: c2.Remote(), To: "+1555", Trunk: "carrier", DID: "+1555"})
		if n := len(v.d.Dials()) - before; n != 0 {
			t.Errorf("sue rung %d times during her wrap-up", n)
		}
		sleep(45 * time.Second)
		if a, _ := v.e.Agent(context.Background(), "sue"); a.State != Idle {
			t.Errorf("sue after wrap-up: %s", a.State)
		}
	})
}

// TestAgentRungByAGroupIsNotOfferedAQueueCall: while a ring group rings
// Sue she is not offered a queue caller; when the group gives up, the
// waiting caller is offered to her at once.
func TestAgentRungByAGroupIsNotOfferedAQueueCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := agentSite(false)
		s.Queues[0].Agents = []site.QueueAgent{{Agent: "sue"}}
		s.Inbound = []site.InboundRoute{{Match: "*", To: "ringgroup:front"}}
		v := newEnv(t, s, nil)
		fl, _, _ := flowOn(t, v)
		v.login("sue")
		v.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("sue-group") }) // rings, never answers
		v.answers("102", time.Second)
		group := calltest.NewLeg("group-caller")
		time.AfterFunc(25*time.Second, func() { group.Hangup(call.Normal) })
		go fl.Handle(t.Context(), group, flow.Inbound{CallID: "g", From: group.Remote(), To: "+1555", Trunk: "carrier", DID: "+1555"})
		sleep(time.Second)
		v.caller("service", "q")
		sleep(5 * time.Second)
		if n := len(v.d.Dials()); n != 1 {
			t.Fatalf("%d dials while the group rang sue, want only the group's", n)
		}
		// The group's stage ends at 20 s: sue is offered the queue caller.
		sleep(15 * time.Second)
		if d := v.d.Dials(); len(d) != 2 {
			t.Fatalf("dials %v: the queue caller was not offered to sue once the group stopped ringing her", d)
		}
		if c := v.connected(); len(c) != 1 || c[0] != "sue" {
			t.Errorf("connected %v, want sue", c)
		}
	})
}
