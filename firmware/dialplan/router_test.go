package dialplan

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

// trunks is a fake next dialer: each trunk id gets a leg maker or fails.
type trunks struct {
	mu    sync.Mutex
	make  map[string]func() *calltest.Leg
	fail  map[string]call.Cause
	dials []call.Target
}

func (d *trunks) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	d.mu.Lock()
	d.dials = append(d.dials, t)
	mk, c, failing := d.make[t.Trunk], d.fail[t.Trunk], false
	_, failing = d.fail[t.Trunk]
	d.mu.Unlock()
	if failing {
		return nil, c
	}
	if mk == nil {
		return nil, call.NotFound
	}
	// The calltest dialer gives the leg its ringing behaviour.
	cd := calltest.NewDialer()
	cd.Add(t.Number, mk)
	return cd.Dial(ctx, t)
}

func (d *trunks) targets() []call.Target {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]call.Target(nil), d.dials...)
}

func router(t *testing.T, next call.Dialer) (*Router, *[]Decision) {
	s := &site.Site{
		System:     site.System{OfficeNumber: "+15551230000"},
		Extensions: []site.Extension{{Number: "101"}},
		Trunks: []site.Trunk{
			{ID: "a", Host: "a.example"},
			{ID: "b", Host: "b.example"},
			{ID: "off", Host: "c.example", CallerID: site.CallerIDOffice, OfficeNumber: "+15559990000"},
		},
		Outbound: []site.OutboundRoute{
			{Pattern: "9.", Strip: 1, Trunks: []string{"a", "b"}, Permission: site.PermNational},
			{Pattern: "+1NXXNXXXXXX", Trunks: []string{"a", "b"}},
			{Pattern: "+44.", Trunks: []string{"off"}, Permission: site.PermInternational},
		},
	}
	p, err := NewPlan(s.Outbound)
	if err != nil {
		t.Fatal(err)
	}
	var refused []Decision
	return &Router{Plan: p, Site: s, Next: next, Forbidden: func(_ context.Context, _ call.Target, d Decision) {
		refused = append(refused, d)
	}}, &refused
}

func TestRouterFailsOverToTheNextTrunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Trunk a rings, then gives up with 503 after 2 s; b answers.
		d := &trunks{make: map[string]func() *calltest.Leg{
			"a": func() *calltest.Leg {
				return calltest.NewLeg("a", calltest.RejectAfter(2*time.Second, call.Congestion))
			},
			"b": func() *calltest.Leg { return calltest.NewLeg("b", calltest.AnswerAfter(time.Second)) },
		}, fail: map[string]call.Cause{}}
		r, _ := router(t, d)
		leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "95551234", Class: site.PermNational,
			From: call.Party{Number: "101", Name: "Bob"}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := leg.Answer(t.Context()); err != nil {
			t.Fatalf("answer: %v", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("answered after %v, want 3s (2 s on a, 1 s on b)", d)
		}
		ri := leg.(interface {
			Trunk() string
			Sent() string
		})
		if ri.Trunk() != "b" || ri.Sent() != "5551234" {
			t.Errorf("went out on %q as %q, want b as 5551234", ri.Trunk(), ri.Sent())
		}
		if u := call.Unwrap(leg); u == leg || u.Media() == nil {
			t.Errorf("Unwrap gave %v", u)
		}
		// From an extension: the office number, asserted, no diversion.
		for _, tg := range d.targets() {
			if tg.From.Number != "+15551230000" || tg.Asserted != "+15551230000" || tg.Diversion != "" || tg.From.Name != "Bob" {
				t.Errorf("trunk %s shows %+v asserted %q diversion %q", tg.Trunk, tg.From, tg.Asserted, tg.Diversion)
			}
		}
		leg.Hangup(call.Normal)
		<-leg.Done()
		if c := call.CauseOf(leg.Err()); c != call.Normal {
			t.Errorf("ended %v", c)
		}
	})
}

func TestRouterFailsFastAndBusyDoesNotFailOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &trunks{make: map[string]func() *calltest.Leg{
			"b": func() *calltest.Leg { return calltest.NewLeg("b", calltest.RejectAfter(time.Second, call.Busy)) },
		}, fail: map[string]call.Cause{"a": call.Congestion}}
		r, _ := router(t, d)
		leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "+12125550199", Class: site.PermNational})
		if err != nil {
			t.Fatal(err)
		}
		if err := leg.Answer(t.Context()); call.CauseOf(err) != call.Busy {
			t.Errorf("answer = %v, want busy", err)
		}
		if n := len(d.targets()); n != 2 {
			t.Errorf("%d trunks tried, want 2 (a down, b busy: busy is the callee's answer)", n)
		}
		// Every trunk down: Dial itself fails with congestion.
		d.fail["b"] = call.Congestion
		if _, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "+12125550199", Class: site.PermNational}); call.CauseOf(err) != call.Congestion {
			t.Errorf("all trunks down: Dial = %v, want congestion", err)
		}
	})
}

func TestRouterPermissionAndCallerID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &trunks{make: map[string]func() *calltest.Leg{
			"a":   func() *calltest.Leg { return calltest.NewLeg("a") },
			"off": func() *calltest.Leg { return calltest.NewLeg("off") },
		}, fail: map[string]call.Cause{}}
		r, refused := router(t, d)
		if _, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "+442071234567", Class: site.PermNational}); call.CauseOf(err) != call.Forbidden {
			t.Errorf("national caller to +44: %v, want forbidden", err)
		}
		if len(*refused) != 1 {
			t.Errorf("refusals reported: %d", len(*refused))
		}
		// An outside caller sent on to a mobile keeps their number, with
		// the office as asserted identity and diversion.
		caller := call.Party{Number: "+13125550123", Name: "Office: Alice"}
		leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "+12125550100", Class: site.PermInternational, From: caller, Diversion: "+15551230009"})
		if err != nil {
			t.Fatal(err)
		}
		tg := d.targets()[0]
		if tg.From != caller || tg.Asserted != "+15551230000" || tg.Diversion != "+15551230009" {
			t.Errorf("forwarded call shows %+v asserted %q diversion %q", tg.From, tg.Asserted, tg.Diversion)
		}
		leg.Hangup(call.Cancelled)
		<-leg.Done()
		if c := call.CauseOf(leg.Err()); c != call.Cancelled {
			t.Errorf("hung up while ringing: %v", c)
		}
		// A trunk that requires the office number shows its own.
		leg, err = r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "+442071234567", Class: site.PermInternational, From: caller})
		if err != nil {
			t.Fatal(err)
		}
		tg = d.targets()[len(d.targets())-1]
		if tg.From.Number != "+15559990000" || tg.Diversion != "" {
			t.Errorf("caller_id: office trunk shows %+v diversion %q", tg.From, tg.Diversion)
		}
		leg.Hangup(call.Cancelled)
	})
}
