package acd

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

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
