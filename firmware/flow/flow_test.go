package flow

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

type cdrs struct {
	mu  sync.Mutex
	all []cdr.Record
}

func (c *cdrs) InsertCDR(ctx context.Context, r cdr.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, r)
	return nil
}

func (c *cdrs) last(t *testing.T) cdr.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.all) == 0 {
		t.Fatal("no CDR written")
	}
	return c.all[len(c.all)-1]
}

func testSite() *site.Site {
	return &site.Site{
		Version: 1,
		System:  site.System{Timezone: "America/New_York", OfficeNumber: "+15551230000"},
		Extensions: []site.Extension{
			{Number: "101", Name: "Bob"},
			{Number: "102", Name: "Sue"},
			{Number: "103", DND: true},
		},
		Schedules: []site.Schedule{{ID: "business", Open: []site.Range{{Days: "mon-fri", From: "08:00", To: "18:00"}}}},
		Inbound: []site.InboundRoute{
			{Match: "+15551230000", When: "business", To: "extension:101", Otherwise: "extension:102"},
			{Match: "*", To: "hangup"},
		},
		Trunks: []site.Trunk{{ID: "carrier", Host: "carrier.example"}},
		Outbound: []site.OutboundRoute{
			{Pattern: "011.", Trunks: []string{"carrier"}, Permission: site.PermInternational},
			{Pattern: "+1NXXNXXXXXX", Trunks: []string{"carrier"}},
		},
	}
}

func newEngine(t *testing.T) (*Engine, *calltest.Dialer, *cdrs) {
	cfg, err := config.New(testSite(), 1)
	if err != nil {
		t.Fatal(err)
	}
	d := calltest.NewDialer()
	w := &cdrs{}
	return &Engine{Config: cfg, Dialer: d, Bridger: calltest.Bridger{}, CDR: w, ExtensionRing: 20 * time.Second}, d, w
}

func TestInternalCallBridged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d, w := newEngine(t)
		bob := calltest.NewLeg("bob", calltest.AnswerAfter(3*time.Second))
		d.Add("101", func() *calltest.Leg { return bob })
		caller := calltest.NewLeg("sue", calltest.From("102", "Sue"))
		time.AfterFunc(63*time.Second, func() { caller.Hangup(call.Normal) })
		e.Handle(t.Context(), caller, Inbound{CallID: "c1", From: call.Party{Number: "102"}, To: "101", Extension: "102"})

		if ok, _ := caller.Answered(); !ok {
			t.Fatal("caller was never answered")
		}
		if got := bob.BridgedWith(); len(got) != 1 || got[0] != caller.ID() {
			t.Errorf("bob bridged with %v, want the caller", got)
		}
		r := w.last(t)
		if r.Direction != "internal" || r.HangupBy != "caller" || r.Billable != 60*time.Second || r.Cause != "normal" {
			t.Errorf("CDR = %+v", r)
		}
		if len(r.Legs) != 1 || r.Legs[0].Target != "ext:101" || r.Legs[0].Answer.IsZero() {
			t.Errorf("CDR legs = %+v", r.Legs)
		}
	})
}

func TestNoAnswerAfterRingTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d, w := newEngine(t)
		bob := calltest.NewLeg("bob") // never answers
		d.Add("101", func() *calltest.Leg { return bob })
		caller := calltest.NewLeg("sue")
		start := time.Now()
		e.Handle(t.Context(), caller, Inbound{CallID: "c2", To: "101", Extension: "102"})
		if got := time.Since(start); got != 20*time.Second {
			t.Errorf("gave up after %v, want 20s", got)
		}
		if c := caller.HangupCause(); c != call.NoAnswer {
			t.Errorf("caller ended with %v, want no answer", c)
		}
		synctest.Wait()
		if c := bob.HangupCause(); c != call.NoAnswer {
			t.Errorf("bob stopped ringing with %v, want no answer", c)
		}
		if r := w.last(t); r.Cause != "no_answer" || !r.Answer.IsZero() {
			t.Errorf("CDR = %+v", r)
		}
	})
}

func TestCallerCancelsStopsRinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d, _ := newEngine(t)
		bob := calltest.NewLeg("bob")
		d.Add("101", func() *calltest.Leg { return bob })
		caller := calltest.NewLeg("sue")
		time.AfterFunc(5*time.Second, func() { caller.Hangup(call.Cancelled) })
		e.Handle(t.Context(), caller, Inbound{CallID: "c3", To: "101", Extension: "102"})
		synctest.Wait()
		if c := bob.HangupCause(); c != call.Cancelled {
			t.Errorf("bob ended with %v, want cancelled", c)
		}
	})
}

func TestDNDIsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, _ := newEngine(t)
		caller := calltest.NewLeg("bob")
		e.Handle(t.Context(), caller, Inbound{CallID: "c4", To: "103", Extension: "101"})
		if c := caller.HangupCause(); c != call.Busy {
			t.Errorf("call to DND extension ended with %v, want busy", c)
		}
	})
}

func TestOutboundUsesCallerPermission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, d, w := newEngine(t)
		var audit []string
		e.Audit = func(ctx context.Context, actor, action, object, detail string) error {
			audit = append(audit, action+" "+object)
			return nil
		}
		caller := calltest.NewLeg("bob")
		e.Handle(t.Context(), caller, Inbound{CallID: "c5", To: "01144207", Extension: "101"})
		if dials := d.Dials(); len(dials) != 0 {
			t.Fatalf("dials = %+v: a national extension reached a trunk with an international number", dials)
		}
		if c := caller.HangupCause(); c != call.Forbidden {
			t.Errorf("caller ended with %v, want forbidden", c)
		}
		if r := w.last(t); r.Direction != "outbound" || r.Cause != "forbidden" {
			t.Errorf("CDR direction %q cause %q", r.Direction, r.Cause)
		}
		if len(audit) != 1 || audit[0] != "call.forbidden 01144207" {
			t.Errorf("audit %v, want the refusal", audit)
		}
	})
}

func TestInboundScheduleInSiteTimezone(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		// 09:00 in New York is 14:00 UTC: open, though 14:00 would be
		// open in UTC too; 19:00 New York is 00:00 UTC next day: closed.
		{"open", time.Date(2026, 11, 23, 9, 0, 0, 0, ny), "101"},
		{"evening", time.Date(2026, 11, 23, 19, 0, 0, 0, ny), "102"},
		{"saturday", time.Date(2026, 11, 21, 10, 0, 0, 0, ny), "102"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := newEngine(t)
			c := e.newCall(calltest.NewLeg("caller"), Inbound{Trunk: "carrier", DID: "+15551230000"})
			if got := c.inboundDestination(tt.at); got != "extension:"+tt.want {
				t.Errorf("at %v: %q, want extension:%s", tt.at, got, tt.want)
			}
		})
	}
	e, _, _ := newEngine(t)
	c := e.newCall(calltest.NewLeg("caller"), Inbound{Trunk: "carrier", DID: "+15559999999"})
	if got := c.inboundDestination(time.Now()); got != "hangup" {
		t.Errorf("unknown DID went to %q, want the * route (hangup)", got)
	}
}

func TestInboundClosedWithoutOtherwiseFallsThrough(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	s := testSite()
	s.Inbound = []site.InboundRoute{
		{Match: "+15551230001", When: "business", To: "extension:101"},
		{Match: "+15551230001", To: "extension:102"},
	}
	cfg, _ := config.New(s, 1)
	c := (&Engine{Config: cfg}).newCall(calltest.NewLeg("caller"), Inbound{Trunk: "carrier", DID: "+15551230001"})
	if got := c.inboundDestination(time.Date(2026, 11, 23, 10, 0, 0, 0, ny)); got != "extension:101" {
		t.Errorf("open: %q", got)
	}
	if got := c.inboundDestination(time.Date(2026, 11, 23, 22, 0, 0, 0, ny)); got != "extension:102" {
		t.Errorf("closed: %q, want the next route", got)
	}
}

func TestToneTestReportsDigits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, _ := newEngine(t)
		bus := events.New()
		e.Bus = bus
		sub := bus.Subscribe(16, events.Filter("call.dtmf"))
		caller := calltest.NewLeg("bob")
		caller.PressAfter(2*time.Second, "5#")
		start := time.Now()
		e.Handle(t.Context(), caller, Inbound{CallID: "t1", To: "*44", Extension: "101"})
		if d := time.Since(start); d != time.Minute {
			t.Errorf("tone test lasted %v, want the 1 minute limit", d)
		}
		if caller.Played() < 2900 {
			t.Errorf("played %d frames, want a minute of tone", caller.Played())
		}
		var got string
		for len(sub.C()) > 0 {
			ev := <-sub.C()
			got += ev.Data.(events.CallDTMF).Digit
		}
		if got != "5#" {
			t.Errorf("reported digits %q, want 5#", got)
		}
	})
}

func TestUnknownFeatureCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, _ := newEngine(t)
		caller := calltest.NewLeg("bob")
		e.Handle(t.Context(), caller, Inbound{CallID: "t2", To: "*99", Extension: "101"})
		if c := caller.HangupCause(); c != call.NotFound {
			t.Errorf("unknown feature code ended with %v, want not found", c)
		}
	})
}
