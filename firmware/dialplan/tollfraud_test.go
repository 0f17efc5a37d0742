package dialplan

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/numplan"
	"ringbox/firmware/site"
)

// demoRoutes are the outbound routes of docs/examples/demo.yaml before
// the toll-fraud fix: the "9." route was the hole.
func demoRoutes() []site.OutboundRoute {
	return []site.OutboundRoute{
		{Pattern: "911", Trunks: []string{"a"}, Emergency: true},
		{Pattern: "+1NXXNXXXXXX", Trunks: []string{"a"}, Permission: site.PermNational},
		{Pattern: "9.", Strip: 1, Trunks: []string{"a"}, Permission: site.PermNational},
		{Pattern: "011.", Trunks: []string{"a"}, Permission: site.PermInternational},
		{Pattern: "*67.", Trunks: []string{"a"}, Permission: site.PermInternational, AllowSymbols: true},
		{Pattern: "8*.", Trunks: []string{"a"}, Permission: site.PermInternational},
	}
}

func TestLookupJudgesTheNumberSent(t *testing.T) {
	plan, err := NewPlan(demoRoutes())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		number, class string
		ok            bool
		refused       string
		numClass      numplan.Class
	}{
		// The finding: 9 + 011... from the default class used to leave.
		{"9011442071234567", "", true, RefusedCaller, numplan.International},
		{"9011442071234567", site.PermNational, true, RefusedCaller, numplan.International},
		// An international caller still cannot: the route is capped at national.
		{"9011442071234567", site.PermInternational, true, RefusedRoute, numplan.International},
		{"011442071234567", site.PermInternational, true, "", numplan.International},
		{"919005550100", site.PermNational, true, RefusedCaller, numplan.Premium},
		{"919005550100", site.PermPremium, true, RefusedRoute, numplan.Premium},
		{"99005550100", site.PermInternational, true, RefusedCaller, numplan.Premium},
		{"99005550100", site.PermPremium, true, RefusedRoute, numplan.Premium},
		{"918095550100", site.PermNational, true, RefusedCaller, numplan.International}, // Dominican Republic
		{"+19005550100", site.PermNational, true, RefusedCaller, numplan.Premium},
		{"912125550100", site.PermNational, true, "", numplan.National},
		{"95551234", site.PermLocal, true, "", numplan.Local},
		{"95551234", site.PermInternal, true, RefusedCaller, numplan.Local},
		// '.' is digits only: 9*... and 9#... match no route at all.
		{"9*123", site.PermPremium, false, "", 0},
		{"9#123", site.PermPremium, false, "", 0},
		{"95551234#", site.PermPremium, false, "", 0},
		// Symbols leave only through a route that allows them.
		{"*675551234", site.PermInternational, true, "", numplan.Unknown},
		{"*675551234", site.PermNational, true, RefusedCaller, numplan.Unknown},
		{"8*123", site.PermPremium, true, RefusedSymbols, numplan.Unknown},
		// Emergency numbers: every caller, through any route.
		{"911", site.PermInternal, true, "", numplan.Emergency},
		{"9911", site.PermInternal, true, "", numplan.Emergency},
		{"911", "bogus", true, "", numplan.Emergency},
		{"912125550100", "bogus", true, RefusedCaller, numplan.National},
	} {
		d, ok := plan.Lookup(c.number, c.class)
		if ok != c.ok || d.Refused != c.refused || (ok && d.Class != c.numClass) || d.Allowed != (ok && c.refused == "") {
			t.Errorf("Lookup(%q, %q) = ok %v refused %q class %v allowed %v, want ok %v refused %q class %v",
				c.number, c.class, ok, d.Refused, d.Class, d.Allowed, c.ok, c.refused, c.numClass)
		}
		if !d.Allowed && ok && d.Reason(c.class) == "" {
			t.Errorf("Lookup(%q, %q): refused without a reason", c.number, c.class)
		}
	}
}

// The numbering plan is the site's: in France 06... is mobile (national)
// and 00... international.
func TestLookupUsesTheSiteCountry(t *testing.T) {
	plan, err := NewSitePlan(&site.Site{System: site.System{ToneZone: "fr"}, Outbound: []site.OutboundRoute{
		{Pattern: "0.", Trunks: []string{"a"}, Permission: site.PermInternational},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for number, want := range map[string]string{"0612345678": "", "0044207123456": RefusedCaller, "0899123456": RefusedCaller} {
		if d, _ := plan.Lookup(number, site.PermNational); d.Refused != want {
			t.Errorf("fr, national caller, %s: refused %q (class %v), want %q", number, d.Refused, d.Class, want)
		}
	}
}

// counting is a next dialer whose legs ring until hung up; it counts what
// reached each trunk.
type counting struct {
	mu    sync.Mutex
	dials []call.Target
	down  map[string]bool
}

func (d *counting) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down[t.Trunk] {
		return nil, call.Congestion
	}
	d.dials = append(d.dials, t)
	cd := calltest.NewDialer()
	cd.Add(t.Number, func() *calltest.Leg { return calltest.NewLeg(t.Trunk) })
	return cd.Dial(ctx, t)
}

func (d *counting) sent() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, t := range d.dials {
		out = append(out, t.Trunk+":"+t.Number)
	}
	return out
}

func fraudRouter(s *site.Site, next call.Dialer, g *Guard) (*Router, *[]Anomaly, *[]Decision) {
	p, err := NewSitePlan(s)
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	var alerts []Anomaly
	var refused []Decision
	return &Router{Plan: p, Site: s, Next: next, Caller: "101", Guard: g,
		Forbidden: func(_ context.Context, _ call.Target, d Decision) {
			mu.Lock()
			refused = append(refused, d)
			mu.Unlock()
		},
		Alert: func(_ context.Context, a Anomaly) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() },
	}, &alerts, &refused
}

func fraudSite() *site.Site {
	return &site.Site{
		System:     site.System{ToneZone: "us"},
		Extensions: []site.Extension{{Number: "101"}, {Number: "104", Permission: site.PermInternational}},
		Trunks:     []site.Trunk{{ID: "a", Host: "a.example"}, {ID: "b", Host: "b.example"}},
		Outbound:   demoRoutes(),
	}
}

func TestRouterNeverSendsTollFraudToTheTrunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &counting{}
		r, _, refused := fraudRouter(fraudSite(), d, &Guard{})
		for _, number := range []string{"9011442071234567", "919005550100", "99005550100", "918095550100"} {
			if _, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: number, Class: site.PermNational}); call.CauseOf(err) != call.Forbidden {
				t.Errorf("%s from a national extension: %v, want forbidden", number, err)
			}
		}
		for _, number := range []string{"9*123", "9#123", "9*011442071234567"} {
			if _, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: number, Class: site.PermNational}); call.CauseOf(err) != call.NotFound {
				t.Errorf("%s: %v, want not found", number, err)
			}
		}
		if s := d.sent(); len(s) != 0 {
			t.Errorf("reached the trunk: %v", s)
		}
		if len(*refused) != 4 {
			t.Errorf("%d refusals told, want 4", len(*refused))
		}
		// A national number does leave, as sent after the strip.
		leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "912125550100", Class: site.PermNational})
		if err != nil {
			t.Fatal(err)
		}
		if s := d.sent(); len(s) != 1 || s[0] != "a:12125550100" {
			t.Errorf("sent %v, want a:12125550100", s)
		}
		leg.Hangup(call.Normal)
		<-leg.Done()
	})
}

func dialN(t *testing.T, r *Router, number string, n int) (legs []call.Leg, errs []error) {
	for range n {
		leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: number, Class: site.PermInternational})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		legs = append(legs, leg)
	}
	return legs, errs
}

func hangup(legs []call.Leg) {
	for _, l := range legs {
		l.Hangup(call.Normal)
		<-l.Done()
	}
}

func TestExtensionLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fraudSite()
		s.Extensions[0].MaxOutsideCalls = 2
		s.Extensions[0].OutsideCallsPerHour = 3
		g := &Guard{}
		r, alerts, _ := fraudRouter(s, &counting{}, g)
		legs, errs := dialN(t, r, "95551234", 3)
		if len(legs) != 2 || len(errs) != 1 || call.CauseOf(errs[0]) != call.Forbidden {
			t.Fatalf("3 calls at once with max_outside_calls 2: %d placed, errors %v", len(legs), errs)
		}
		if len(*alerts) != 1 || (*alerts)[0].Kind != AnomalyLimit || (*alerts)[0].Extension != "101" {
			t.Errorf("alerts %+v, want one limit alert for 101", *alerts)
		}
		// Emergency calls are never limited.
		em, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "911", Class: site.PermInternal})
		if err != nil {
			t.Errorf("911 at the limit: %v", err)
		} else {
			hangup([]call.Leg{em})
		}
		hangup(legs)
		if n := g.Active("101"); n != 0 {
			t.Errorf("%d calls still counted after hanging up", n)
		}
		// The hour: 2 started, 1 more allowed, then refused until an hour
		// after the first ones.
		more, errs := dialN(t, r, "95551234", 2)
		if len(more) != 1 || len(errs) != 1 {
			t.Errorf("calls per hour 3: %d more placed (errors %v), want 1", len(more), errs)
		}
		hangup(more)
		time.Sleep(time.Hour)
		again, errs := dialN(t, r, "95551234", 1)
		if len(again) != 1 {
			t.Errorf("an hour later: %v", errs)
		}
		hangup(again)
	})
}

func TestTrunkLimitGivesWayToTheNextTrunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fraudSite()
		s.Trunks[0].MaxOutboundCalls = 1
		s.Outbound[2].Trunks = []string{"a", "b"}
		d := &counting{}
		r, alerts, _ := fraudRouter(s, d, &Guard{})
		r.Caller = "" // a site-file destination: no extension limits
		legs, errs := dialN(t, r, "95551234", 2)
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		if got := strings.Join(d.sent(), " "); got != "a:5551234 b:5551234" {
			t.Errorf("sent %q, want the second call on b (a is at its limit)", got)
		}
		if len(*alerts) != 1 || (*alerts)[0].Trunk != "a" {
			t.Errorf("alerts %+v, want one for trunk a", *alerts)
		}
		hangup(legs)
		// a is free again.
		legs, _ = dialN(t, r, "95551234", 1)
		if s := d.sent(); s[len(s)-1] != "a:5551234" {
			t.Errorf("after hanging up, sent on %v", s)
		}
		hangup(legs)
	})
}

func TestInternationalBurstAndHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := fraudSite()
		s.Extensions[0].OutsideCallsPerHour = 100
		r, alerts, _ := fraudRouter(s, &counting{}, &Guard{})
		// Six attempts in ten minutes, refused ones included: one alert.
		for i := range 8 {
			class := site.PermNational
			if i%2 == 0 {
				class = site.PermInternational
			}
			leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "011442071234567", Class: class})
			if err == nil {
				hangup([]call.Leg{leg})
			}
			time.Sleep(time.Minute)
		}
		if len(*alerts) != 1 || (*alerts)[0].Kind != AnomalyInternationalBurst || (*alerts)[0].Count != 6 {
			t.Errorf("alerts %+v, want one burst of 6", *alerts)
		}
		// National calls make no burst.
		*alerts = nil
		time.Sleep(BurstWindow)
		for range 8 {
			legs, _ := dialN(t, r, "95551234", 1)
			hangup(legs)
		}
		if len(*alerts) != 0 {
			t.Errorf("national calls alerted: %+v", *alerts)
		}
		// Outside system.international_hours: refused, and an alert.
		s.System.InternationalHours = "office"
		open := false
		r.Open = func(id string, _ time.Time) bool { return id == "office" && open }
		if _, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "011442071234567", Class: site.PermInternational}); call.CauseOf(err) != call.Forbidden {
			t.Errorf("at night: %v, want forbidden", err)
		}
		if len(*alerts) != 1 || (*alerts)[0].Kind != AnomalyAfterHours {
			t.Errorf("alerts %+v, want after_hours", *alerts)
		}
		legs, errs := dialN(t, r, "95551234", 1) // national calls go on
		if len(errs) != 0 {
			t.Errorf("a local call at night: %v", errs)
		}
		hangup(legs)
		open = true
		legs, errs = dialN(t, r, "011442071234567", 1)
		if len(errs) != 0 {
			t.Errorf("international within hours: %v", errs)
		}
		hangup(legs)
	})
}

func TestWarnings(t *testing.T) {
	s := fraudSite()
	s.Outbound = append(s.Outbound, site.OutboundRoute{Pattern: "+44.", Trunks: []string{"a"}, Permission: site.PermInternational})
	got := Warnings(s)
	var msgs []string
	for _, p := range got {
		msgs = append(msgs, p.Field+": "+p.Msg)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`outbound[2]: route "9." (permission national) matches numbers of a higher class, which it refuses: 9011442071234567, sent as 011442071234567 (international); 99005550100, sent as 9005550100 (premium)`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings:\n%s\nwant one containing %q", all, want)
		}
	}
	// 911 and 011. carry nothing dearer than their permission; +1NXXNXXXXXX
	// is fixed-length (its 900 numbers are refused call by call).
	// Emergency on an open-ended route, and a route capped at internal.
	s.Outbound = append(s.Outbound,
		site.OutboundRoute{Pattern: "1.", Trunks: []string{"a"}, Emergency: true, Permission: site.PermPremium},
		site.OutboundRoute{Pattern: "7XXX", Trunks: []string{"a"}, Permission: site.PermInternal})
	msgs = nil
	for _, p := range Warnings(s) {
		msgs = append(msgs, p.Field+": "+p.Msg)
	}
	all = strings.Join(msgs, "\n")
	for _, want := range []string{"outbound[7]: emergency has no effect on an open-ended pattern", `outbound[8]: route "7XXX" with permission internal carries nothing but emergency numbers`} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings:\n%s\nwant %q", all, want)
		}
	}
	for _, quiet := range []string{"outbound[0]", "outbound[1]", "outbound[3]", "outbound[6]"} {
		if strings.Contains(all, quiet+":") {
			t.Errorf("warnings:\n%s\nnothing to say about %s", all, quiet)
		}
	}
}

// BenchmarkLookup is the cost of judging one dialled number: the route,
// the strip, the class of the number sent and the permission.
func BenchmarkLookup(b *testing.B) {
	plan, err := NewPlan(demoRoutes())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if d, _ := plan.Lookup("9011442071234567", site.PermNational); d.Allowed {
			b.Fatal("allowed")
		}
	}
}
