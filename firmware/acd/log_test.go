package acd

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

func TestRestartKeepsStatus(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := config.New(testSite(nil), 1)
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*Engine, func()) {
		e := New(Config{Config: cfg, Dialer: calltest.NewDialer(), Store: st, Logger: slog.New(slog.DiscardHandler)})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.Run(rctx) }()
		return e, func() { cancel(); <-done }
	}
	e, stop := start()
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if _, err := e.Login(ctx, "bob", true, "lunch", until, SourceAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Login(ctx, "sue", false, "", time.Time{}, SourceAPI); err != nil {
		t.Fatal(err)
	}
	stop()

	e, stop = start()
	defer stop()
	bob, err := e.Agent(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if bob.Status != Unavailable || bob.Reason != "lunch" || !bob.Until.Equal(until) {
		t.Errorf("bob after restart: %s %q until %v; want unavailable \"lunch\" until %v", bob.Status, bob.Reason, bob.Until, until)
	}
	if sue, _ := e.Agent(ctx, "sue"); sue.Status != Available {
		t.Errorf("sue after restart: %s, want available", sue.Status)
	}
	if ann, _ := e.Agent(ctx, "ann"); ann.Status != LoggedOut {
		t.Errorf("ann after restart: %s, want logged_out", ann.Status)
	}
	act, _ := st.ListAgentActivity(ctx, "bob", time.Time{}, time.Time{})
	if len(act) == 0 || act[len(act)-1].Reason != "lunch" {
		t.Errorf("bob's activity log: %+v", act)
	}
	ql, _ := st.ListQueueLog(ctx, time.Time{}, time.Time{}, "service")
	var evs []string
	for _, e := range ql {
		if e.Agent == "bob" {
			evs = append(evs, e.Event+"|"+strings.Join(e.Data, "|"))
		}
	}
	if want := []string{"ADDMEMBER|", "PAUSE|lunch"}; fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Errorf("bob's queue log %v, want %v (log in unavailable)", evs, want)
	}
}

func qe(sec int, call, agent, ev string, data ...string) store.QueueLogEntry {
	return store.QueueLogEntry{Time: time.Unix(int64(1_700_000_000+sec), 0), CallID: call, Queue: "service", Agent: agent, Event: ev, Data: data}
}

// knownLog: 4 callers: two answered (10 s and 30 s), one abandoned after
// 5 s, one abandoned after 40 s; bob missed once and declined once.
var knownLog = []store.QueueLogEntry{
	qe(0, "c1", "NONE", EvEnterQueue, "", "555", "1"),
	qe(1, "c2", "NONE", EvEnterQueue, "", "556", "2"),
	qe(2, "c3", "NONE", EvEnterQueue, "", "557", "3"),
	qe(3, "c4", "NONE", EvEnterQueue, "", "558", "4"),
	qe(7, "c3", "NONE", EvAbandon, "3", "3", "5"),
	qe(8, "c1", "bob", EvRingNoAnswer, "8000"),
	qe(9, "c1", "bob", EvRingNoAnswer, "1000", "declined"),
	qe(10, "c1", "sue", EvConnect, "10", "leg-1", "1"),
	qe(31, "c2", "bob", EvConnect, "30", "leg-2", "3"),
	qe(43, "c4", "NONE", EvAbandon, "1", "4", "40"),
	qe(70, "c1", "sue", EvCompleteCaller, "10", "60", "1"),
	qe(131, "c2", "bob", EvCompleteAgent, "30", "100", "2"),
}

func TestComputeStats(t *testing.T) {
	s := ComputeStats("service", knownLog, 20*time.Second)
	if s.Offered != 4 || s.Answered != 2 || s.Abandoned != 2 {
		t.Fatalf("offered/answered/abandoned = %d/%d/%d, want 4/2/2", s.Offered, s.Answered, s.Abandoned)
	}
	if s.AvgWait != 20 || s.LongestWait != 40 || s.AvgTalk != 80 {
		t.Errorf("avg wait %v, longest %v, avg talk %v; want 20, 40, 80", s.AvgWait, s.LongestWait, s.AvgTalk)
	}
	// SL: 1 of 2 answered within 20 s = 50%. SL2: (1 answered + 1
	// abandoned within 20 s) / (2 + 2) = 50%.
	if s.ServiceLevel != 50 || s.ServiceLevelAbandons != 50 {
		t.Errorf("service level %v / %v, want 50 / 50", s.ServiceLevel, s.ServiceLevelAbandons)
	}
	s = ComputeStats("service", knownLog, 30*time.Second)
	if s.ServiceLevel != 100 || s.ServiceLevelAbandons != 75 {
		t.Errorf("T=30s: service level %v / %v, want 100 / 75", s.ServiceLevel, s.ServiceLevelAbandons)
	}
	want := map[string]AgentStats{
		"bob": {Agent: "bob", Answered: 1, Missed: 1, Declined: 1, Talk: 100},
		"sue": {Agent: "sue", Answered: 1, Talk: 60},
	}
	for _, a := range s.Agents {
		if a != want[a.Agent] {
			t.Errorf("agent stats %+v, want %+v", a, want[a.Agent])
		}
	}
	if len(s.Agents) != 2 {
		t.Errorf("%d agents in stats, want 2", len(s.Agents))
	}
}

func TestWriteQueueLog(t *testing.T) {
	var b bytes.Buffer
	entries := []store.QueueLogEntry{
		knownLog[0], knownLog[7], knownLog[10],
		{Time: time.Unix(1_700_000_200, 0), CallID: "NONE", Queue: "service", Agent: "bob", Event: EvPause, Data: []string{"lunch|long"}},
		{Time: time.Unix(1_700_000_201, 0), CallID: "NONE", Queue: "service", Agent: "bob", Event: EvAddMember},
	}
	if err := WriteQueueLog(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := "1700000000|c1|service|NONE|ENTERQUEUE||555|1\n" +
		"1700000010|c1|service|sue|CONNECT|10|leg-1|1\n" +
		"1700000070|c1|service|sue|COMPLETECALLER|10|60|1\n" +
		"1700000200|NONE|service|bob|PAUSE|lunch/long\n" +
		"1700000201|NONE|service|bob|ADDMEMBER\n"
	if b.String() != want {
		t.Errorf("queue_log:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestTerminalEventInvariant runs many random scenarios and checks that
// every caller who entered has exactly one terminal event, and that every
// COMPLETE follows a CONNECT.
func TestTerminalEventInvariant(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 7))
				strategies := []string{site.QueueLongestIdle, site.QueueRingAll, site.QueueRoundRobin, site.QueueRingProgressively, site.QueueRandom}
				v := newEnv(t, testSite(func(q *site.Queue) {
					q.Strategy = strategies[r.IntN(len(strategies))]
					q.MaxWait = site.Duration(time.Duration(30+r.IntN(90)) * time.Second)
					q.Confirm = r.IntN(2) == 0
					q.Wrapup = site.Duration(time.Duration(r.IntN(10)) * time.Second)
					q.MaxNoAnswer = r.IntN(3)
					q.ExitKey, q.ExitTo = "0", "voicemail:exit"
				}), nil)
				for _, n := range []string{"101", "102", "103"} {
					for range 40 {
						var opts []calltest.Option
						switch r.IntN(4) {
						case 0: // never answers
						case 1:
							opts = append(opts, calltest.RejectAfter(time.Duration(r.IntN(5))*time.Second, call.Rejected))
						default:
							opts = append(opts, calltest.AnswerAfter(time.Duration(r.IntN(8))*time.Second))
						}
						press := "1"
						if r.IntN(4) == 0 {
							press = "2"
						}
						d := time.Duration(r.IntN(12)) * time.Second
						v.d.Add(n, func() *calltest.Leg {
							l := calltest.NewLeg("agent"+n, opts...)
							l.PressAfter(d, press)
							time.AfterFunc(d+20*time.Second, func() { l.Hangup(call.Normal) }) // the agent hangs up
							return l
						})
					}
				}
				for _, id := range []string{"bob", "sue", "ann"} {
					if r.IntN(3) > 0 {
						v.login(id)
					}
				}
				var results []chan result
				for i := range 12 {
					leg, res := v.caller("service", fmt.Sprintf("s%d-c%d", seed, i))
					results = append(results, res)
					switch r.IntN(4) {
					case 0:
						leg.PressAfter(time.Duration(r.IntN(60))*time.Second, "0")
					case 1:
						time.AfterFunc(time.Duration(r.IntN(60))*time.Second, func() { leg.Hangup(call.Cancelled) })
					}
					time.AfterFunc(time.Duration(60+r.IntN(120))*time.Second, func() { leg.Hangup(call.Normal) })
					sleep(time.Duration(r.IntN(10)) * time.Second)
					if r.IntN(6) == 0 {
						id := []string{"bob", "sue", "ann"}[r.IntN(3)]
						v.e.ToggleLogin(context.Background(), id, SourceAPI)
					}
				}
				for _, res := range results {
					<-res
				}
				synctest.Wait()
				checkInvariant(t, v.st.log)
			})
		})
	}
}

func checkInvariant(t *testing.T, log []store.QueueLogEntry) {
	t.Helper()
	entered := map[string]bool{}
	terminal := map[string]int{}
	connected := map[string]bool{}
	for _, e := range log {
		switch {
		case e.Event == EvEnterQueue:
			entered[e.CallID] = true
		case e.Event == EvConnect:
			if connected[e.CallID] {
				t.Errorf("%s connected twice", e.CallID)
			}
			connected[e.CallID] = true
		case Terminal(e.Event):
			if !entered[e.CallID] {
				t.Errorf("%s: %s before ENTERQUEUE", e.CallID, e.Event)
			}
			if (e.Event == EvCompleteAgent || e.Event == EvCompleteCaller) != connected[e.CallID] {
				t.Errorf("%s: %s, connected=%v", e.CallID, e.Event, connected[e.CallID])
			}
			terminal[e.CallID]++
		}
	}
	counts := map[string]int{}
	for _, e := range log {
		counts[e.Event]++
	}
	t.Logf("events: %v", counts)
	for id := range entered {
		if terminal[id] != 1 {
			t.Errorf("caller %s has %d terminal events, want 1", id, terminal[id])
		}
	}
}
