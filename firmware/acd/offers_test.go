package acd

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call/calltest"
	"ringbox/firmware/events"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

// TestDeclineFromPage: the agent declines a queue offer from the web page
// while the phone rings; the caller goes to the next agent at once and
// the decline counts as pressing 2 does (queue log, agent figures).
func TestDeclineFromPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newEnv(t, testSite(func(q *site.Queue) { q.Strategy = site.QueueLinear }), nil)
		offers := ring.NewOffers(func(p events.Payload) { v.bus.Publish(p) })
		v.e.ringer.Offers = offers // before any offer: the actor reads it only when ringing
		v.login("bob", "sue")
		v.d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob") }) // rings for ever
		v.answers("102", time.Second)
		v.caller("service", "c1")
		sleep(2 * time.Second)
		live := offers.Live("bob")
		if len(live) != 1 || live[0].CallID != "c1" || live[0].Via != "queue:service" || live[0].Caller != "c1" {
			t.Fatalf("bob's live offers %+v, want c1 through queue:service", live)
		}
		if err := offers.Decline("sue", "c1"); err == nil {
			t.Error("sue declined an offer that is not hers")
		}
		if err := offers.Decline("bob", "c1"); err != nil {
			t.Fatalf("Decline: %v", err)
		}
		synctest.Wait()
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
		var ended []string
		for _, ev := range v.busEvents("agent.offer_ended") {
			e := ev.Data.(events.AgentOfferEnded)
			ended = append(ended, e.Agent+":"+e.Outcome)
		}
		if !slices.Equal(ended, []string{"bob:declined", "sue:answered"}) {
			t.Errorf("offers ended %v, want bob declined then sue answered", ended)
		}
	})
}
