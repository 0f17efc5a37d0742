package ring

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/events"
)

// published collects the offer events a registry publishes.
type published struct {
	mu sync.Mutex
	ev []events.Payload
}

func (p *published) add(e events.Payload) { p.mu.Lock(); p.ev = append(p.ev, e); p.mu.Unlock() }
func (p *published) all() []events.Payload {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Payload(nil), p.ev...)
}

func agentEntry(agent, number, kind string, at, until time.Duration) Entry {
	e := entry(number, at, until)
	e.Agent, e.Kind = agent, kind
	return e
}

func TestOfferEventsAndOutcomes(t *testing.T) {
	since := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	info := CallInfo{ID: "c1", From: call.Party{Number: "+15550100", Name: "Ann"}, Via: "ringgroup:front", Since: since}
	tests := []struct {
		name string
		bob  []calltest.Option // bob's desk phone
		sue  []calltest.Option
		want map[string]string // agent -> outcome
	}{
		{"bob answers, sue elsewhere", []calltest.Option{calltest.AnswerAfter(2 * time.Second)}, nil,
			map[string]string{"bob": events.OfferAnswered, "sue": events.OfferElsewhere}},
		{"bob rejects on the phone", []calltest.Option{calltest.RejectAfter(time.Second, call.Rejected)}, []calltest.Option{calltest.AnswerAfter(5 * time.Second)},
			map[string]string{"bob": events.OfferDeclined, "sue": events.OfferAnswered}},
		{"nobody answers", nil, nil,
			map[string]string{"bob": events.OfferMissed, "sue": events.OfferMissed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := calltest.NewDialer()
				d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob", tt.bob...) })
				d.Add("102", func() *calltest.Leg { return calltest.NewLeg("sue", tt.sue...) })
				var pub published
				r := &Ringer{Offers: NewOffers(pub.add)}
				var wg sync.WaitGroup
				r.Ring(t.Context(), Request{Dialer: d, Wait: &wg, Call: info, Entries: []Entry{
					agentEntry("bob", "101", "ext", 0, 20*time.Second), agentEntry("sue", "102", "ext", 0, 20*time.Second),
				}})
				wg.Wait()
				synctest.Wait()
				offered, ended := map[string]events.AgentOffered{}, map[string]string{}
				for _, p := range pub.all() {
					switch e := p.(type) {
					case events.AgentOffered:
						offered[e.Agent] = e
					case events.AgentOfferEnded:
						if _, ok := offered[e.Agent]; !ok {
							t.Errorf("%s: offer ended before it was offered", e.Agent)
						}
						ended[e.Agent] = e.Outcome
					}
				}
				for agent, want := range tt.want {
					o := offered[agent]
					if o.CallID != "c1" || o.Caller != "+15550100" || o.CallerName != "Ann" || o.Via != "ringgroup:front" || !o.Since.Equal(since) || len(o.Targets) != 1 || o.Targets[0] != TargetExtension {
						t.Errorf("%s offered %+v", agent, o)
					}
					if ended[agent] != want {
						t.Errorf("%s's offer ended %q, want %q", agent, ended[agent], want)
					}
				}
				if l := r.Offers.Live("bob"); len(l) != 0 {
					t.Errorf("bob still offered %v after the ringing", l)
				}
			})
		})
	}
}

func TestDeclineFromPageMovesOnAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		// Bob's desk phone and mobile both ring; Sue's stage comes after.
		bobDesk, bobMobile := calltest.NewLeg("bob-desk"), calltest.NewLeg("bob-mobile")
		sue := calltest.NewLeg("sue", calltest.AnswerAfter(time.Second))
		d.Add("101", func() *calltest.Leg { return bobDesk })
		d.Add("+1555", func() *calltest.Leg { return bobMobile })
		d.Add("102", func() *calltest.Leg { return sue })
		var pub published
		r := &Ringer{Offers: NewOffers(pub.add)}
		if err := r.Offers.Decline("bob", "c1"); !errors.Is(err, ErrNoOffer) {
			t.Errorf("Decline before any ringing = %v, want ErrNoOffer", err)
		}
		start := time.Now()
		go func() {
			time.Sleep(3 * time.Second)
			live := r.Offers.Live("bob")
			if len(live) != 1 || len(live[0].Targets) != 2 {
				t.Errorf("bob's live offers %+v, want one ringing desk and mobile", live)
			}
			if err := r.Offers.Decline("bob", "c1"); err != nil {
				t.Errorf("Decline: %v", err)
			}
		}()
		var wg sync.WaitGroup
		res := r.Ring(t.Context(), Request{Dialer: d, Wait: &wg, Call: CallInfo{ID: "c1", From: call.Party{Number: "+15550100"}}, Entries: []Entry{
			agentEntry("bob", "101", "ext", 0, 20*time.Second), agentEntry("bob", "+1555", "mobile", 0, 20*time.Second),
			agentEntry("sue", "102", "ext", 20*time.Second, 40*time.Second),
		}})
		wg.Wait()
		if res.Answer == nil || res.Leg != sue {
			t.Fatalf("Ring = %+v, want sue", res)
		}
		if !res.Declined {
			t.Error("Result.Declined not set: the queue would count a no-answer")
		}
		if got := time.Since(start); got != 4*time.Second {
			t.Errorf("sue answered after %v, want 4s: bob declined at 3s, so her stage starts then", got)
		}
		for _, l := range []*calltest.Leg{bobDesk, bobMobile} {
			if c := l.HangupCause(); c != call.Rejected {
				t.Errorf("%v ended %v, want rejected", l, c)
			}
		}
		var outcomes []string
		for _, p := range pub.all() {
			if e, ok := p.(events.AgentOfferEnded); ok && e.Agent == "bob" {
				outcomes = append(outcomes, e.Outcome)
			}
		}
		if len(outcomes) != 1 || outcomes[0] != events.OfferDeclined {
			t.Errorf("bob's offer ended %v, want one declined", outcomes)
		}
		if !r.Offers.WasOffered("bob", "+15550100") || r.Offers.WasOffered("bob", "+15559999") {
			t.Error("WasOffered does not remember exactly bob's caller")
		}
	})
}

// TestNoOfferWhenNothingRings: a device that cannot be rung (a desk phone
// not registered) pops nothing up on the agent's page.
func TestNoOfferWhenNothingRings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer() // knows no number: every dial fails
		var pub published
		r := &Ringer{Offers: NewOffers(pub.add)}
		res := r.Ring(t.Context(), Request{Dialer: d, Call: CallInfo{ID: "c1"}, Entries: []Entry{agentEntry("bob", "101", "ext", 0, 20*time.Second)}})
		if res.Answer != nil {
			t.Fatal("answered")
		}
		if got := pub.all(); len(got) != 0 {
			t.Errorf("published %v for a phone that never rang", got)
		}
		if r.Offers.WasOffered("bob", "") {
			t.Error("an empty number counts as offered")
		}
	})
}

// A browser is dialled with the call's id, so that the agent's page can
// match its ringing to the offer (and Accept the call it shows).
func TestBrowserDialNamesTheOfferedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		d.Add("ann", func() *calltest.Leg { return calltest.NewLeg("ann", calltest.AnswerAfter(time.Second)) })
		r := &Ringer{Offers: NewOffers(nil)}
		var wg sync.WaitGroup
		e := agentEntry("ann", "ann", "browser", 0, 20*time.Second)
		e.Target.Kind = call.TargetBrowser
		r.Ring(t.Context(), Request{Dialer: d, Wait: &wg, Call: CallInfo{ID: "c7"}, Entries: []Entry{e}})
		wg.Wait()
		if ds := d.Dials(); len(ds) != 1 || ds[0].Call != "c7" {
			t.Fatalf("dials %+v, want the browser dialled for call c7", ds)
		}
	})
}
