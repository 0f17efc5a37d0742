package acd

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/prompts"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

func TestParallelConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Agents = agentsOf("bob", "sue") }), nil)
		v.login("bob", "sue")
		v.answers("101", 2*time.Second)
		v.answers("102", 2*time.Second)
		c1, _ := v.caller("service", "c1")
		c2, _ := v.caller("service", "c2")
		sleep(2 * time.Second)
		got := v.connected()
		slices.Sort(got)
		if !slices.Equal(got, []string{"bob", "sue"}) {
			t.Fatalf("connected %v after 2s, want bob and sue at once", got)
		}
		for _, e := range v.st.events(EvConnect) {
			if e.Data[0] != "2" {
				t.Errorf("CONNECT %s holdtime %s, want 2", e.CallID, e.Data[0])
			}
		}
		for _, c := range []*calltest.Leg{c1, c2} {
			if len(c.BridgedWith()) != 1 {
				t.Errorf("%v bridged with %v, want one agent", c, c.BridgedWith())
			}
		}
	})
}

// oneAtATime runs callers one after another: each is answered after 1 s
// and hangs up 10 s later; it returns who took each call.
func oneAtATime(t *testing.T, v *env, n int) []string {
	for i := range n {
		c, res := v.caller("service", "c"+string(rune('a'+i)))
		sleep(11 * time.Second)
		c.Hangup(call.Normal)
		<-res
		synctest.Wait()
	}
	return v.connected()
}

func TestStrategies(t *testing.T) {
	tests := []struct {
		strategy string
		login    []string // in this order, 1 s apart
		want     []string
	}{
		{site.QueueLongestIdle, []string{"ann", "bob", "sue"}, []string{"ann", "bob", "sue", "ann"}},
		{site.QueueRoundRobin, []string{"ann", "bob", "sue"}, []string{"bob", "sue", "ann", "bob"}},
		{site.QueueLinear, []string{"ann", "bob", "sue"}, []string{"bob", "bob", "bob", "bob"}},
		{site.QueueFewestCalls, []string{"sue", "bob", "ann"}, []string{"bob", "sue", "ann", "bob"}},
		{site.QueueLeastTalkTime, []string{"sue", "bob", "ann"}, []string{"bob", "sue", "ann", "bob"}},
		{site.QueueRandom, []string{"sue", "bob", "ann"}, []string{"ann", "ann", "ann", "ann"}}, // Rand always 0: the last seen
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := newEnv(t, testSite(func(q *site.Queue) { q.Strategy = tt.strategy }), nil)
				for _, id := range tt.login {
					v.login(id)
					sleep(time.Second)
				}
				for _, n := range []string{"101", "102", "103"} {
					v.answers(n, time.Second)
				}
				if got := oneAtATime(t, v, 4); !slices.Equal(got, tt.want) {
					t.Errorf("%s: calls went to %v, want %v", tt.strategy, got, tt.want)
				}
			})
		})
	}
}

func TestRingAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Strategy = site.QueueRingAll }), nil)
		v.login("bob", "sue", "ann")
		v.d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob") })
		v.answers("102", 3*time.Second)
		v.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("ann") })
		v.caller("service", "c1")
		if n := len(v.d.Dials()); n != 3 {
			t.Fatalf("%d agents rung at once, want 3", n)
		}
		sleep(3 * time.Second)
		if got := v.connected(); !slices.Equal(got, []string{"sue"}) {
			t.Fatalf("connected %v, want sue", got)
		}
		for _, n := range []string{"101", "103"} {
			if c := v.agentLegs(n)[0].HangupCause(); c != call.AnsweredElsewhere {
				t.Errorf("%s stopped ringing with %v, want answered elsewhere", n, c)
			}
		}
		if n := len(v.st.events(EvRingNoAnswer)); n != 0 {
			t.Errorf("%d RINGNOANSWER for agents answered elsewhere, want 0", n)
		}
	})
}

func TestLevelWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) {
			q.Agents = []site.QueueAgent{{Agent: "bob"}, {Agent: "sue", Level: 2}}
			q.LevelWait = site.Duration(45 * time.Second)
		}), nil)
		v.login("sue")
		v.e.Login(context.Background(), "bob", true, "meeting", time.Time{}, SourceAPI) // present, not available
		v.answers("102", time.Second)
		v.caller("service", "c1")
		sleep(44 * time.Second)
		if n := len(v.d.Dials()); n != 0 {
			t.Fatalf("level 2 rung after 44s, want not before 45s")
		}
		sleep(time.Second)
		if n := len(v.d.Dials()); n != 1 {
			t.Fatalf("level 2 not rung at 45s (%d dials)", n)
		}
		sleep(time.Second)
		if c := v.st.events(EvConnect); len(c) != 1 || c[0].Agent != "sue" || c[0].Data[0] != "46" {
			t.Errorf("CONNECT = %+v, want sue after 46s", c)
		}
	})
}

func TestDeclineMovesOnAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Confirm = true; q.Strategy = site.QueueLinear }), nil)
		v.login("bob", "sue")
		v.answers("101", time.Second, func(l *calltest.Leg) { l.PressAfter(1500*time.Millisecond, "2") })
		v.answers("102", time.Second, func(l *calltest.Leg) { l.PressAfter(1200*time.Millisecond, "1") })
		v.caller("service", "c1")
		// The key stops the confirm prompt at its next 20 ms frame.
		sleep(1520 * time.Millisecond)
		if d := v.d.Dials(); len(d) != 2 || d[1].Number != "102" {
			t.Fatalf("dials after bob declined: %v, want sue at once", d)
		}
		sleep(2 * time.Second)
		if got := v.connected(); !slices.Equal(got, []string{"sue"}) {
			t.Fatalf("connected %v, want sue", got)
		}
		rna := v.st.events(EvRingNoAnswer)
		if len(rna) != 1 || rna[0].Agent != "bob" || len(rna[0].Data) < 2 || rna[0].Data[1] != "declined" {
			t.Errorf("RINGNOANSWER = %+v, want bob declined", rna)
		}
		a, _ := v.e.Agent(context.Background(), "bob")
		if a.Declined != 1 || a.Missed != 0 || a.Status != Available {
			t.Errorf("bob after decline: %+v, want 1 declined, 0 missed, still available", a)
		}
	})
}

func TestMaxNoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) {
			q.Agents = agentsOf("bob")
			q.MaxNoAnswer = 2
			q.AgentRing = site.Duration(10 * time.Second)
			q.RetryDelay = site.Duration(2 * time.Second)
		}), nil)
		v.login("bob")
		v.d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob") })
		v.caller("service", "c1")
		sleep(10 * time.Second)
		if n := len(v.d.Dials()); n != 1 {
			t.Fatalf("%d dials at 10s, want 1", n)
		}
		sleep(time.Second)
		if n := len(v.d.Dials()); n != 1 {
			t.Fatalf("bob rung again within retry_delay")
		}
		sleep(time.Second)
		if n := len(v.d.Dials()); n != 2 {
			t.Fatalf("bob not rung again after retry_delay (%d dials)", n)
		}
		sleep(10 * time.Second)
		a, _ := v.e.Agent(context.Background(), "bob")
		if a.Status != Unavailable || a.Reason != ReasonMissedCalls {
			t.Fatalf("bob after 2 missed offers: %s %q, want unavailable %q", a.Status, a.Reason, ReasonMissedCalls)
		}
		if ev := v.busEvents("agent.max_no_answer"); len(ev) != 1 {
			t.Errorf("%d agent.max_no_answer events, want 1", len(ev))
		}
		if n := len(v.st.events(EvPause)); n != 1 {
			t.Errorf("%d PAUSE lines, want 1", n)
		}
	})
}

func TestWrapupBlocksNextOffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Agents = agentsOf("bob"); q.Wrapup = site.Duration(20 * time.Second) }), nil)
		v.login("bob")
		v.answers("101", 0)
		c1, r1 := v.caller("service", "c1")
		v.caller("service", "c2")
		sleep(5 * time.Second)
		c1.Hangup(call.Normal)
		<-r1
		synctest.Wait()
		a, _ := v.e.Agent(context.Background(), "bob")
		if a.State != Wrapup || a.WrapupUntil.Sub(v.start) != 25*time.Second {
			t.Fatalf("bob %s until %v, want wrapup until +25s", a.State, a.WrapupUntil.Sub(v.start))
		}
		sleep(20*time.Second - time.Millisecond)
		if n := len(v.d.Dials()); n != 1 {
			t.Fatalf("offered during wrap-up")
		}
		sleep(time.Millisecond)
		if n := len(v.d.Dials()); n != 2 {
			t.Fatalf("not offered when wrap-up ended (%d dials)", n)
		}
		if c := v.st.events(EvCompleteCaller); len(c) != 1 || c[0].Data[1] != "5" {
			t.Errorf("COMPLETECALLER = %+v, want calltime 5", c)
		}
	})
}

func TestWrapupExtendAndEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Agents = agentsOf("bob"); q.Wrapup = site.Duration(20 * time.Second) }), nil)
		v.login("bob")
		v.answers("101", 0)
		c1, r1 := v.caller("service", "c1")
		c1.Hangup(call.Normal)
		<-r1
		synctest.Wait()
		if _, err := v.e.ExtendWrapup(context.Background(), "bob", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		v.caller("service", "c2")
		sleep(49 * time.Second)
		if n := len(v.d.Dials()); n != 1 {
			t.Fatalf("offered before the extended wrap-up ended")
		}
		if _, err := v.e.EndWrapup(context.Background(), "bob"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(v.d.Dials()); n != 2 {
			t.Fatalf("not offered when wrap-up was ended early")
		}
		if _, err := v.e.EndWrapup(context.Background(), "bob"); err != ErrNotWrap {
			t.Errorf("EndWrapup outside wrap-up = %v, want ErrNotWrap", err)
		}
	})
}

func TestBusyAgentSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Strategy = site.QueueLinear }), nil)
		v.login("bob", "sue")
		end := v.pres.Begin("ext:101") // bob is on a direct call
		v.answers("101", time.Second)
		v.answers("102", time.Second)
		v.caller("service", "c1")
		sleep(time.Second)
		if got := v.connected(); !slices.Equal(got, []string{"sue"}) {
			t.Fatalf("connected %v, want sue (bob is on a call)", got)
		}
		end()
		v.caller("service", "c2")
		sleep(time.Second)
		if got := v.connected(); !slices.Equal(got, []string{"sue", "bob"}) {
			t.Errorf("connected %v, want bob once free", got)
		}
	})
}

func TestOffHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at 2000-01-01 00:00 UTC, a Saturday.
		s := testSite(func(q *site.Queue) { q.Strategy = site.QueueLinear; q.Agents = agentsOf("bob", "sue") })
		s.Agents[0].Hours = []site.Range{{Days: "mon-sun", From: "00:00", To: "00:10"}}
		s.Agents[0].AutoLogin = true
		s.Agents[1].Hours = []site.Range{{Days: "mon-fri", From: "09:00", To: "17:00"}}
		v := newEnv(t, s, nil)
		v.login("sue") // logged in, but off hours
		v.answers("101", time.Second)
		v.answers("102", time.Second)
		a, _ := v.e.Agent(context.Background(), "bob")
		if a.Status != Available {
			t.Fatalf("bob at 00:00 with auto_login: %s, want available", a.Status)
		}
		sleep(5 * time.Minute)
		c1, r1 := v.caller("service", "c1")
		sleep(time.Second)
		if got := v.connected(); !slices.Equal(got, []string{"bob"}) {
			t.Fatalf("connected %v, want bob (sue is off hours)", got)
		}
		_, r2 := v.caller("service", "c2")
		sleep(6 * time.Minute) // past 00:10: bob's hours end during the call
		if ended, _, _ := c1.Ended(); ended {
			t.Fatal("the call was cut at the end of bob's hours")
		}
		a, _ = v.e.Agent(context.Background(), "bob")
		if a.Status != LoggedOut || a.State != OnCall {
			t.Errorf("bob after hours: %s/%s, want logged_out/on_call", a.Status, a.State)
		}
		// With nobody present the waiting caller went to on_empty.
		if r := <-r2; r.next != "voicemail:service" {
			t.Errorf("c2 went to %q, want on_empty", r.next)
		}
		c1.Hangup(call.Normal)
		<-r1
		if n := len(v.d.Dials()); n != 1 {
			t.Errorf("%d offers, want 1", n)
		}
	})
}

func TestExitKeyDuringComfort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) {
			q.Comfort = &site.Comfort{Every: site.Duration(10 * time.Second), Prompts: []string{"all-agents-busy"}}
			q.ExitKey, q.ExitTo = "0", "voicemail:exit"
		}), nil)
		v.e.Login(context.Background(), "bob", true, "lunch", time.Time{}, SourceAPI)
		pcm, _ := prompts.Get("en", "all-agents-busy", 8000)
		if len(pcm) < 8000 {
			t.Fatalf("comfort prompt only %d samples", len(pcm))
		}
		c, res := v.caller("service", "c1")
		c.PressAfter(10*time.Second+500*time.Millisecond, "0")
		r := <-res
		if r.next != "voicemail:exit" || r.at != 10*time.Second+500*time.Millisecond {
			t.Errorf("exit to %q at %v, want voicemail:exit at 10.5s (in the message)", r.next, r.at)
		}
		ek := v.st.events(EvExitKey)
		if len(ek) != 1 || !slices.Equal(ek[0].Data, []string{"0", "1", "1", "10"}) {
			t.Errorf("EXITWITHKEY = %+v, want 0|1|1|10", ek)
		}
	})
}

func TestMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Agents = agentsOf("bob"); q.MaxWait = site.Duration(time.Minute) }), nil)
		v.login("bob")
		v.d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob") })
		_, res := v.caller("service", "c1")
		r := <-res
		if r.next != "voicemail:timeout" || r.at != time.Minute {
			t.Errorf("went to %q after %v, want on_timeout after 1m", r.next, r.at)
		}
		if ev := v.st.events(EvExitTimeout); len(ev) != 1 || ev[0].Data[2] != "60" {
			t.Errorf("EXITWITHTIMEOUT = %+v, want wait 60", ev)
		}
		synctest.Wait()
		a, _ := v.e.Agent(context.Background(), "bob")
		if a.State != Idle {
			t.Errorf("bob %s after the caller left, want idle", a.State)
		}
	})
}

func TestNoAgentsOnEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(nil), nil)
		_, res := v.caller("service", "c1")
		if r := <-res; r.next != "voicemail:service" || r.at != 0 {
			t.Errorf("went to %q after %v, want on_empty at once", r.next, r.at)
		}
		if ev := v.st.events(EvExitEmpty); len(ev) != 1 {
			t.Errorf("%d EXITEMPTY, want 1", len(ev))
		}
	})
}

func TestLastAgentLogoutWarns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Agents = agentsOf("bob", "sue") }), nil)
		v.e.Login(context.Background(), "bob", true, "lunch", time.Time{}, SourceAPI)
		v.e.Login(context.Background(), "sue", true, "lunch", time.Time{}, SourceAPI)
		_, r1 := v.caller("service", "c1")
		_, r2 := v.caller("service", "c2")
		sleep(30 * time.Second)
		if res, _ := v.e.Logout(context.Background(), "bob", SourceAPI); res.Warning != "" {
			t.Errorf("warning %q while sue is still logged in", res.Warning)
		}
		res, err := v.e.Logout(context.Background(), "sue", SourceAPI)
		if err != nil || res.Warning == "" {
			t.Fatalf("last agent logout: %+v, %v; want a warning", res, err)
		}
		for _, r := range []chan result{r1, r2} {
			if got := <-r; got.next != "voicemail:service" {
				t.Errorf("caller went to %q, want on_empty", got.next)
			}
		}
		synctest.Wait()
		if ev := v.busEvents("queue.empty_warning"); len(ev) == 0 {
			t.Error("no queue.empty_warning event")
		}
		if n := len(v.st.events(EvExitEmpty)); n != 2 {
			t.Errorf("%d EXITEMPTY, want 2", n)
		}
	})
}

func TestAbandonWhileRinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(nil), nil)
		v.login("bob")
		v.d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob") })
		c, res := v.caller("service", "c1")
		sleep(3 * time.Second)
		c.Hangup(call.Cancelled)
		if r := <-res; r.next != "" || r.cause != call.Cancelled {
			t.Errorf("abandon returned %q %v", r.next, r.cause)
		}
		synctest.Wait()
		if got := v.agentLegs("101")[0].HangupCause(); got != call.Cancelled {
			t.Errorf("agent leg ended with %v, want cancelled", got)
		}
		if ev := v.st.events(EvAbandon); len(ev) != 1 || !slices.Equal(ev[0].Data, []string{"1", "1", "3"}) {
			t.Errorf("ABANDON = %+v, want 1|1|3", ev)
		}
	})
}

func TestLongestWaitingFirstAcrossQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := testSite(func(q *site.Queue) { q.Agents = agentsOf("bob") })
		s.Queues = append(s.Queues, site.Queue{ID: "sales", Agents: agentsOf("bob"), OnEmpty: "hangup"})
		v := newEnv(t, s, nil)
		v.e.Login(context.Background(), "bob", true, "lunch", time.Time{}, SourceAPI)
		v.answers("101", 0)
		v.caller("sales", "first")
		sleep(time.Second)
		v.caller("service", "second")
		v.e.SetAvailable(context.Background(), "bob", SourceAPI)
		synctest.Wait()
		if c := v.st.events(EvConnect); len(c) != 1 || c[0].CallID != "first" {
			t.Errorf("CONNECT %+v, want the longest waiting caller (sales) first", c)
		}
	})
}

func TestPositionAnnouncement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.AnnouncePosition = site.Duration(30 * time.Second) }), nil)
		v.e.Login(context.Background(), "bob", true, "lunch", time.Time{}, SourceAPI)
		v.caller("service", "c1")
		v.caller("service", "c2")
		var pos int
		var ewt time.Duration
		v.e.do(context.Background(), func() {
			v.e.queues["service"].recent = []time.Duration{3 * time.Minute, 5 * time.Minute}
			pos, ewt = v.e.estimate(v.e.waiting[1])
		})
		// Nobody available: both callers ahead share one (minimum) agent.
		if pos != 2 || ewt != 8*time.Minute {
			t.Errorf("estimate = %d, %v; want 2, 8m", pos, ewt)
		}
		short := v.e.announcement("en", 8000, 2, 30*time.Second)
		long := v.e.announcement("en", 8000, 2, 2*time.Minute)
		if len(short) != 3 || len(long) != 6 {
			t.Errorf("announcement clips: %d under a minute, %d over; want position only (3), then wait too (6)", len(short), len(long))
		}
	})
}
