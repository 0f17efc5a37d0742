package acd

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
)

// TestPickupOfQueueOffer: the queue offers a caller to Bob; Ann picks it
// up with *8 from her phone. The caller is bridged to Ann, the queue log
// connects the caller to Ann (not Bob), Ann is on the call and counted
// as answering it, Bob is idle again and missed nothing.
func TestPickupOfQueueOffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := testSite(func(q *site.Queue) { q.Agents = agentsOf("bob") })
		s.Inbound = []site.InboundRoute{{Match: "*", To: "queue:service"}}
		v := newEnv(t, s, nil)
		fl, w, _ := flowOn(t, v)
		fl.Ringer = v.e.ringer // one ringing engine, as serve wires it
		v.login("bob", "ann")
		bob := calltest.NewLeg("bob")
		v.d.Add("101", func() *calltest.Leg { return bob })
		caller := calltest.NewLeg("caller", calltest.From("+13125550123", "Alice"))
		picker := calltest.NewLeg("ann")
		time.AfterFunc(4*time.Second, func() {
			go fl.Handle(t.Context(), picker, flow.Inbound{CallID: "pick", To: flow.FeatureGroupPickup, Extension: "103"})
		})
		time.AfterFunc(4*time.Second+time.Second, func() {
			if ag, _ := v.e.Agent(t.Context(), "ann"); ag.State != OnCall {
				t.Errorf("ann is %s during the picked call, want on a call", ag.State)
			}
			if ag, _ := v.e.Agent(t.Context(), "bob"); ag.State == Offered || ag.State == OnCall {
				t.Errorf("bob is %s after ann picked his offer up", ag.State)
			}
		})
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		fl.Handle(t.Context(), caller, flow.Inbound{CallID: "q1", From: caller.Remote(), To: "queue", Trunk: "carrier", DID: "+15551230000"})
		synctest.Wait()

		if got := caller.BridgedWith(); !slices.Equal(got, []string{picker.ID()}) {
			t.Fatalf("caller bridged with %v, want ann's picker leg", got)
		}
		if ended, cause, _ := bob.Ended(); !ended || cause != call.AnsweredElsewhere {
			t.Errorf("bob's phone ended %v %v, want answered elsewhere", ended, cause)
		}
		if got := v.connected(); !slices.Equal(got, []string{"ann"}) {
			t.Errorf("queue log connected %v, want ann", got)
		}
		if got := v.st.events(EvRingNoAnswer); len(got) != 0 {
			t.Errorf("queue log has ring-no-answer %v: bob missed nothing", got)
		}
		r := w.last(t)
		for _, x := range w.all {
			if x.CallID == "q1" {
				r = x
			}
		}
		if r.Agent != "ann" || r.AnsweredBy != "agent:ann/ext:103" {
			t.Errorf("CDR agent %q answered by %q, want ann", r.Agent, r.AnsweredBy)
		}
	})
}
