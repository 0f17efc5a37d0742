package flow

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/events"
	"ringbox/firmware/ring"
)

// TestOfferEventsNameTheGroup: agents rung by a ring group are offered
// the call through that group, with the caller's name as sent (not the
// group's caller-ID prefix) and the time the caller reached the box; the
// agents who did not take it learn it was answered elsewhere.
func TestOfferEventsNameTheGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		var mu sync.Mutex
		var got []events.Payload
		o.e.Ringer = &ring.Ringer{Offers: ring.NewOffers(func(p events.Payload) { mu.Lock(); got = append(got, p); mu.Unlock() })}
		o.silent("101", "+15550001001")
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(10*time.Second))
		o.leg("102", steve)
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"))
		time.AfterFunc(40*time.Second, func() { caller.Hangup(call.Normal) })
		start := time.Now()
		o.dest(t, caller, "ringgroup:front")
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		offered, ended := map[string]events.AgentOffered{}, map[string]string{}
		for _, p := range got {
			switch e := p.(type) {
			case events.AgentOffered:
				offered[e.Agent] = e
			case events.AgentOfferEnded:
				ended[e.Agent] = e.Outcome
			}
		}
		bob := offered["bob"]
		if bob.Via != "ringgroup:front" || bob.Caller != "+15557770000" || bob.CallerName != "Alice" || !bob.Since.Equal(start) {
			t.Errorf("bob offered %+v, want via ringgroup:front from Alice since the call started", bob)
		}
		// Bob's preference is extension then mobile: both are his devices.
		if len(bob.Targets) != 2 || bob.Targets[0] != ring.TargetExtension || bob.Targets[1] != ring.TargetMobile {
			t.Errorf("bob's targets %v, want extension and mobile", bob.Targets)
		}
		if len(ended) != 2 || ended["bob"] != events.OfferElsewhere || ended["steve"] != events.OfferAnswered {
			t.Errorf("offers ended %v, want bob elsewhere, steve answered (and the next stage never rung)", ended)
		}
	})
}
