package acd

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
)

// TestLoginPerQueue: an agent in two queues logs out of one alone; its
// callers are no longer offered to them, the other queue's are, and
// "log in" brings them back everywhere.
func TestLoginPerQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := testSite(func(q *site.Queue) { q.Agents = agentsOf("bob") })
		s.Queues = append(s.Queues, site.Queue{ID: "sales", Name: "Sales", Agents: agentsOf("bob"),
			AgentRing: site.Duration(15 * time.Second), OnEmpty: "voicemail:sales"})
		v := newEnv(t, s, nil)
		ctx := context.Background()
		v.login("bob")
		res, err := v.e.LogoutQueue(ctx, "bob", "service", SourceAPI)
		if err != nil {
			t.Fatal(err)
		}
		if res.Agent.Status != Available || !slices.Equal(res.Agent.QueuesOut, []string{"service"}) {
			t.Fatalf("bob after leaving service: %+v, want available, out of service only", res.Agent)
		}
		v.answers("101", time.Second)
		_, svc := v.caller("service", "c1")
		select {
		case r := <-svc:
			if r.next != "voicemail:service" {
				t.Errorf("service caller went to %q, want on_empty: bob left the queue", r.next)
			}
		default:
			t.Error("service caller still waits though nobody is logged in there")
		}
		v.caller("sales", "c2")
		sleep(2 * time.Second)
		if got := v.connected(); !slices.Equal(got, []string{"bob"}) {
			t.Errorf("connected %v, want bob for the sales caller", got)
		}
		if rm := v.st.events(EvRemoveMember); len(rm) != 1 || rm[0].Queue != "service" {
			t.Errorf("REMOVEMEMBER %+v, want one for service", rm)
		}
		if _, err := v.e.LoginQueue(ctx, "bob", "nope", SourceAPI); err != ErrNoQueue {
			t.Errorf("LoginQueue(not bob's queue) = %v, want ErrNoQueue", err)
		}
		res, err = v.e.Login(ctx, "bob", false, "", time.Time{}, SourceAPI)
		if err != nil || len(res.Agent.QueuesOut) != 0 {
			t.Errorf("Login (all) = %+v, %v; want back in every queue", res.Agent, err)
		}
		if n := len(v.busEvents("agent.queue")); n != 2 {
			t.Errorf("%d agent.queue events, want 2 (left service, back in service)", n)
		}
		// Out of the last queue is logged out.
		v.e.LogoutQueue(ctx, "bob", "service", SourceAPI)
		res, _ = v.e.LogoutQueue(ctx, "bob", "sales", SourceAPI)
		if res.Agent.Status != LoggedOut {
			t.Errorf("bob out of both queues is %v, want logged out", res.Agent.Status)
		}
		res, _ = v.e.LoginQueue(ctx, "bob", "sales", SourceAPI)
		if res.Agent.Status != Available || !slices.Equal(res.Agent.QueuesOut, []string{"service"}) {
			t.Errorf("bob logged in to sales alone: %+v", res.Agent)
		}
	})
}

// twoQueues is testSite with bob in service (number 600) and sales (601).
func twoQueues() *site.Site {
	s := testSite(func(q *site.Queue) { q.Number = "600" })
	s.Queues = append(s.Queues, site.Queue{ID: "sales", Name: "Sales", Number: "601", Agents: agentsOf("bob"),
		AgentRing: site.Duration(15 * time.Second), OnEmpty: "voicemail:sales"})
	return s
}

// TestFeatureLoginOneQueue: *45 then a queue's number logs the agent in to
// that queue alone, and out again; *45 alone stays every queue; a number
// that is not one of the agent's queues gets the busy tone and changes
// nothing.
func TestFeatureLoginOneQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, twoQueues(), nil)
		fe := &flow.Engine{Config: v.cfg, Dialer: calltest.NewDialer(), Features: v.e.Features(),
			FeaturePrefixes: v.e.FeaturePrefixes(), Logger: slog.New(slog.DiscardHandler)}
		dial := func(ext, code string) *calltest.Leg {
			leg := calltest.NewLeg("phone-" + ext)
			fe.Handle(context.Background(), leg, flow.Inbound{CallID: code, To: code, Extension: ext})
			return leg
		}
		bob := func() AgentInfo { a, _ := v.e.Agent(context.Background(), "bob"); return a }

		dial("101", "*45601")
		if a := bob(); a.Status != Available || !slices.Equal(a.QueuesOut, []string{"service"}) {
			t.Fatalf("after *45601: %s, out of %v; want available in sales alone", a.Status, a.QueuesOut)
		}
		dial("101", "*45600")
		if a := bob(); a.Status != Available || len(a.QueuesOut) != 0 {
			t.Fatalf("after *45600: %s, out of %v; want in both", a.Status, a.QueuesOut)
		}
		dial("101", "*45601")
		if a := bob(); a.Status != Available || !slices.Equal(a.QueuesOut, []string{"sales"}) {
			t.Fatalf("after *45601 again: %s, out of %v; want out of sales alone", a.Status, a.QueuesOut)
		}
		// Sue serves service only: 601 is not hers.
		if l := dial("102", "*45601"); l.HangupCause() != call.Forbidden {
			t.Errorf("sue *45601 ended %v, want forbidden", l.HangupCause())
		}
		if l := dial("101", "*45999"); l.HangupCause() != call.NotFound {
			t.Errorf("*45999 ended %v, want not found", l.HangupCause())
		}
		if a, _ := v.e.Agent(context.Background(), "sue"); a.Status != LoggedOut {
			t.Errorf("sue is %s after a refused code", a.Status)
		}
		dial("101", "*45")
		if a := bob(); a.Status != LoggedOut {
			t.Errorf("after *45: %s, want logged out of everything", a.Status)
		}
	})
}

// TestQueueLogoutSurvivesRestart: an agent out of one queue alone is still
// out of it, and in the other, after a restart.
func TestQueueLogoutSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		v := newEnv(t, twoQueues(), st)
		ctx := context.Background()
		v.login("bob")
		if _, err := v.e.LogoutQueue(ctx, "bob", "sales", SourceAPI); err != nil {
			t.Fatal(err)
		}
		v.stop()
		<-v.done
		v.done <- nil // for the cleanup

		w := newEnv(t, twoQueues(), st)
		a, err := w.e.Agent(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != Available || !slices.Equal(a.QueuesOut, []string{"sales"}) {
			t.Errorf("bob after restart: %s, out of %v; want available, out of sales", a.Status, a.QueuesOut)
		}
		// Back in sales: saved too.
		w.e.LoginQueue(ctx, "bob", "sales", SourceAPI)
		st.mu.Lock()
		s := st.status["bob"]
		st.mu.Unlock()
		if len(s.OutOf) != 0 {
			t.Errorf("saved out_of %v after rejoining", s.OutOf)
		}
	})
}
