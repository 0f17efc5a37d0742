package flow

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

// disaOffice is the office with a disa number: Bob's agent mobile and
// Lobby's listed mobile are known; Steve has a DISA PIN; Lobby may only
// call internally; outside numbers are dialled 9 + national number.
func disaOffice() *site.Site {
	s := officeSite()
	s.Inbound = append([]site.InboundRoute{{Match: "+15551230009", To: site.DestDISA}}, s.Inbound...)
	for i := range s.Extensions {
		switch s.Extensions[i].Number {
		case "102":
			s.Extensions[i].DISAPIN = "4321"
		case "107":
			s.Extensions[i].Mobile = "+15550001007"
			s.Extensions[i].Permission = site.PermInternal
		}
	}
	s.Outbound = append(s.Outbound, site.OutboundRoute{Pattern: "9NXXNXXXXXX", Strip: 1, Prepend: "+1", Trunks: []string{"carrier"}, Permission: site.PermNational})
	return s
}

type audits struct {
	mu  sync.Mutex
	all []string
}

func (a *audits) add(_ context.Context, actor, action, object, detail string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, action+" "+object+" "+detail)
	return nil
}

func (a *audits) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.all...)
}

// disaCall rings the disa number from number and runs the call to its end.
func (o *office) disaCall(t *testing.T, caller *calltest.Leg) {
	o.e.Handle(t.Context(), caller, Inbound{CallID: "disa-" + caller.ID(), From: caller.Remote(), To: "+15551230009", Trunk: "carrier", DID: "+15551230009"})
}

func TestDISAKnownMobileCallsExtension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(2*time.Second))
		o.leg("102", steve)
		// Bob's mobile, as the carrier writes it (national form).
		caller := calltest.NewLeg("bob-mobile", calltest.From("5550001001", ""))
		caller.PressAfter(3*time.Second, "102#")
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.disaCall(t, caller)

		if ok, _ := caller.Answered(); !ok {
			t.Fatal("the disa caller was never answered")
		}
		if played := caller.Played(); played < 3*50-5 {
			t.Errorf("the caller heard %d frames before dialling, want ~3s of dial tone", played)
		}
		if got := steve.BridgedWith(); len(got) != 1 || got[0] != caller.ID() {
			t.Fatalf("102 bridged with %v, want the disa caller", got)
		}
		if from := steve.Target().From; from.Number != "101" || from.Name != "Bob" {
			t.Errorf("102's phone shows %+v, want Bob's extension 101", from)
		}
		r := o.cdr.last(t)
		if strings.Join(r.Path, " ") != "disa disa:101 extension:102" || r.Caller != "5550001001" {
			t.Errorf("CDR path %v caller %q", r.Path, r.Caller)
		}
	})
}

func TestDISAKnownMobileDialsOutAsOffice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		far := calltest.NewLeg("far", calltest.AnswerAfter(time.Second))
		o.leg("+15559998888", far)
		caller := calltest.NewLeg("bob-mobile", calltest.From("+15550001001", ""))
		caller.PressAfter(time.Second, "95559998888") // no #: the pause ends it
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.disaCall(t, caller)

		dials := o.d.log()
		if len(dials) != 1 || dials[0].Number != "+15559998888" {
			t.Fatalf("dialled %v, want +15559998888 once", dials)
		}
		// Dialled after the last key and the inter-digit time, not before.
		if at := dials[0].At; at != time.Second+DISANextDigit {
			t.Errorf("dialled at %v, want %v", at, time.Second+DISANextDigit)
		}
		tg := far.Target()
		if tg.Kind != call.TargetTrunk || tg.From.Number != "+15551230000" || tg.Asserted != "+15551230000" || tg.Diversion != "" {
			t.Errorf("the carrier got %+v, want the office number as caller and asserted identity", tg)
		}
		if got := far.BridgedWith(); len(got) != 1 || got[0] != caller.ID() {
			t.Errorf("far end bridged with %v", got)
		}
	})
}

func TestDISAUnknownCallerWithPIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		far := calltest.NewLeg("far", calltest.AnswerAfter(time.Second))
		o.leg("+15559998888", far)
		caller := calltest.NewLeg("stranger", calltest.From("+15557770000", ""))
		caller.PressAfter(time.Second, "102#")
		caller.PressAfter(2*time.Second, "4321#")
		caller.PressAfter(3*time.Second, "95559998888#")
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.disaCall(t, caller)

		if tg := far.Target(); tg.From.Number != "+15551230000" {
			t.Errorf("the carrier got caller %+v, want the office number", tg.From)
		}
		if got := far.BridgedWith(); len(got) != 1 || got[0] != caller.ID() {
			t.Errorf("far end bridged with %v", got)
		}
		if r := o.cdr.last(t); !strings.Contains(strings.Join(r.Path, " "), "disa:102") {
			t.Errorf("CDR path %v, want disa:102", r.Path)
		}
	})
}

func TestDISAWrongPINThreeTimesHangsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		a := &audits{}
		o.e.Audit = a.add
		caller := calltest.NewLeg("stranger", calltest.From("+15557770000", ""))
		// Two wrong PINs, then an extension without any PIN.
		caller.PressAfter(time.Second, "102#1111#")
		caller.PressAfter(5*time.Second, "102#2222#")
		caller.PressAfter(9*time.Second, "103#1234#")
		o.disaCall(t, caller)

		if c := caller.HangupCause(); c != call.Forbidden {
			t.Errorf("caller ended with %v, want forbidden", c)
		}
		if n := len(o.d.log()); n != 0 {
			t.Errorf("%d calls placed after wrong PINs", n)
		}
		got := a.list()
		if len(got) != 1 || !strings.HasPrefix(got[0], "disa.refused +15557770000 3 wrong") {
			t.Errorf("audit %q", got)
		}
		for _, s := range got {
			if strings.Contains(s, "1111") || strings.Contains(s, "2222") {
				t.Errorf("audit shows a PIN tried: %q", s)
			}
		}
		want := "disa-extension disa-pin invalid-option disa-extension disa-pin invalid-option disa-extension disa-pin goodbye"
		if asked := o.prompts.asked(); strings.Join(asked, " ") != want {
			t.Errorf("prompts %v", asked)
		}
	})
}

func TestDISASilentCallerEndsAfterThreeTries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		caller := calltest.NewLeg("stranger", calltest.From("+15557770000", ""))
		start := time.Now()
		o.disaCall(t, caller)
		// Three times the extension prompt and DISAFirstDigit of silence,
		// two invalid prompts and the goodbye (prompts last 1s in the fake).
		if got, want := time.Since(start), 3*(time.Second+DISAFirstDigit)+3*time.Second; got != want {
			t.Errorf("a silent caller held the line %v, want %v", got, want)
		}
		if c := caller.HangupCause(); c != call.Forbidden {
			t.Errorf("caller ended with %v", c)
		}
	})
}

func TestDISARateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := disaOffice()
		s.System.DISAAttempts = 2
		s.System.DISAWindow = site.Duration(10 * time.Minute)
		o := newOffice(t, s)
		a := &audits{}
		o.e.Audit = a.add
		try := func(from string) (answered bool, c call.Cause) {
			caller := calltest.NewLeg("x", calltest.From(from, ""))
			caller.PressAfter(time.Second, "#") // dial tone, then nothing
			o.disaCall(t, caller)
			ok, _ := caller.Answered()
			return ok, caller.HangupCause()
		}
		for i := range 2 {
			if ok, _ := try("+15550001001"); !ok {
				t.Fatalf("call %d within the limit not answered", i+1)
			}
		}
		if ok, c := try("+15550001001"); ok || c != call.Forbidden {
			t.Errorf("third call in the window: answered %v, cause %v; want refused unanswered", ok, c)
		}
		// Another caller has their own allowance.
		if ok, _ := try("+15550001007"); !ok {
			t.Error("another caller refused")
		}
		if got := a.list(); len(got) != 1 || !strings.HasPrefix(got[0], "disa.limited +15550001001") {
			t.Errorf("audit %q", got)
		}
		time.Sleep(10 * time.Minute)
		if ok, _ := try("+15550001001"); !ok {
			t.Error("refused again once the window passed")
		}
	})
}

func TestDISAPermissionRefusesNumber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		a := &audits{}
		o.e.Audit = a.add
		o.leg("+15559998888", calltest.NewLeg("far", calltest.AnswerAfter(time.Second)))
		// Lobby's mobile: the lobby extension may only call internally.
		caller := calltest.NewLeg("lobby-mobile", calltest.From("+15550001007", ""))
		caller.PressAfter(time.Second, "95559998888#")
		o.disaCall(t, caller)

		if c := caller.HangupCause(); c != call.Forbidden {
			t.Errorf("caller ended with %v, want forbidden", c)
		}
		for _, d := range o.d.Dials() {
			if d.Kind == call.TargetTrunk {
				t.Errorf("a trunk was dialled: %+v", d)
			}
		}
		if got := a.list(); len(got) != 1 || !strings.HasPrefix(got[0], "call.forbidden 95559998888 107 ") {
			t.Errorf("audit %q", got)
		}
	})
}

func TestDISAGateForgetsOldCallers(t *testing.T) {
	var g disaGate
	t0 := time.Unix(0, 0)
	for i := range 1000 {
		g.allow(string(rune('a'+i%26))+strings.Repeat("x", i), t0, 5, time.Minute)
	}
	g.allow("late", t0.Add(2*time.Minute), 5, time.Minute)
	if n := len(g.seen); n != 1 {
		t.Errorf("%d callers remembered after the window, want 1", n)
	}
}

func TestCallbackCallsPhoneThenNumber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		mobile := calltest.NewLeg("bob-mobile", calltest.AnswerAfter(5*time.Second))
		o.leg("+15550001001", mobile)
		far := calltest.NewLeg("far", calltest.AnswerAfter(2*time.Second))
		o.leg("+15559998888", far)
		id, err := o.e.Callback(t.Context(), CallbackRequest{Extension: "101", Phone: "+15550001001", Number: "95559998888", By: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Minute, func() { mobile.Hangup(call.Normal) })
		if err := o.e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		dials := o.d.log()
		if len(dials) != 2 || dials[0].Number != "+15550001001" || dials[1].Number != "+15559998888" || dials[1].At != 5*time.Second {
			t.Fatalf("dialled %v, want the mobile, then the number once it answered (5s)", dials)
		}
		if tg := mobile.Target(); tg.From.Number != "+15551230000" {
			t.Errorf("the mobile was shown %+v, want the office number", tg.From)
		}
		if tg := far.Target(); tg.From.Number != "+15551230000" || tg.Asserted != "+15551230000" {
			t.Errorf("the number was shown %+v, want the office number", tg)
		}
		if got := far.BridgedWith(); len(got) != 1 || got[0] != mobile.ID() {
			t.Errorf("far bridged with %v, want the mobile", got)
		}
		if r := o.cdr.last(t); r.CallID != id || r.Callee != "95559998888" {
			t.Errorf("CDR %+v", r)
		}
	})
}

func TestCallbackRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		a := &audits{}
		o.e.Audit = a.add
		for _, c := range []struct {
			r    CallbackRequest
			want error
		}{
			{CallbackRequest{Extension: "107", Phone: "+15550001007", Number: "95559998888"}, ErrCallbackForbidden},
			// Lobby's own mobile may be rung, a stranger's phone only as far
			// as Lobby may dial.
			{CallbackRequest{Extension: "107", Phone: "+15557770000", Number: "102"}, ErrCallbackForbidden},
			{CallbackRequest{Extension: "101", Phone: "", Number: "102"}, ErrCallbackNoPhone},
			{CallbackRequest{Extension: "999", Phone: "+15550001001", Number: "102"}, ErrCallbackNoExtension},
			{CallbackRequest{Extension: "101", Phone: "+15550001001", Number: "12"}, ErrCallbackNoRoute},
			{CallbackRequest{Extension: "101", Phone: "+15550001001", Number: "sip:x@y"}, ErrCallbackBadNumber},
		} {
			if _, err := o.e.Callback(t.Context(), c.r); !errors.Is(err, c.want) {
				t.Errorf("Callback(%+v) = %v, want %v", c.r, err, c.want)
			}
		}
		if n := len(o.d.log()); n != 0 {
			t.Errorf("%d phones rung for refused call backs", n)
		}
		if got := a.list(); len(got) != 2 || !strings.HasPrefix(got[0], "call.forbidden 95559998888") || !strings.HasPrefix(got[1], "call.forbidden +15557770000") {
			t.Errorf("audit %q", got)
		}
		if _, err := o.e.Callback(t.Context(), CallbackRequest{Extension: "107", Phone: "+15550001007", Number: "102"}); err != nil {
			t.Errorf("lobby's own mobile refused: %v", err)
		}
	})
}

// TestDISAWithheldFromAssertedIdentity: a carrier that withholds the From
// but asserts the mobile's number (P-Asserted-Identity) is recognised.
func TestDISAWithheldFromAssertedIdentity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, disaOffice())
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(time.Second))
		o.leg("102", steve)
		caller := calltest.NewLeg("withheld", calltest.From("anonymous", ""))
		caller.PressAfter(time.Second, "102#")
		time.AfterFunc(20*time.Second, func() { caller.Hangup(call.Normal) })
		o.e.Handle(t.Context(), caller, Inbound{CallID: "w", From: caller.Remote(), To: "+15551230009", Trunk: "carrier",
			DID: "+15551230009", Asserted: "+15550001001"})
		if got := steve.BridgedWith(); len(got) != 1 || got[0] != caller.ID() {
			t.Errorf("102 bridged with %v, want the caller recognised as bob's mobile", got)
		}
		if from := steve.Target().From; from.Number != "101" {
			t.Errorf("102 sees %+v, want 101", from)
		}
	})
}

// BenchmarkDISAGate: the rate limit's cost per call to disa, with 10 000
// callers remembered.
func BenchmarkDISAGate(b *testing.B) {
	var g disaGate
	t0 := time.Unix(0, 0)
	for i := range 10000 {
		g.allow("+1555"+strings.Repeat("0", 7-len(itoa(i)))+itoa(i), t0, 5, 10*time.Minute)
	}
	now := t0.Add(time.Minute)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		g.allow("+15550001001", now, 5, 10*time.Minute)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
