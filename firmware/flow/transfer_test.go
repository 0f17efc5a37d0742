package flow

import (
	"context"
	"ringbox/firmware/cdr"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

// xferLeg is a fake phone leg that can ask for transfers (a REFER).
type xferLeg struct {
	*calltest.Leg
	c chan call.Transfer
}

func (l *xferLeg) Transfers() <-chan call.Transfer { return l.c }
func (l *xferLeg) Unwrap() call.Leg                { return l.Leg }

// xferDialer hands out xferLegs for the numbers in phones.
type xferDialer struct {
	call.Dialer
	mu     sync.Mutex
	phones map[string][]*xferLeg
}

func (d *xferDialer) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	l, err := d.Dialer.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	x := &xferLeg{Leg: l.(*calltest.Leg), c: make(chan call.Transfer)}
	d.mu.Lock()
	d.phones[t.Number] = append(d.phones[t.Number], x)
	d.mu.Unlock()
	return x, nil
}

func (d *xferDialer) phone(num string, i int) *xferLeg {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.phones[num]) <= i {
		return nil
	}
	return d.phones[num][i]
}

// reports collects what a transfer reports (the NOTIFYs a phone gets).
type reports struct {
	mu    sync.Mutex
	codes []int
}

func (r *reports) report(code int, _ string) {
	r.mu.Lock()
	r.codes = append(r.codes, code)
	r.mu.Unlock()
}

func (r *reports) got() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.codes)
}

func newXferOffice(t *testing.T) (*office, *xferDialer) {
	t.Helper()
	o := newOffice(t, nil)
	xd := &xferDialer{Dialer: o.d, phones: map[string][]*xferLeg{}}
	o.e.Dialer = xd
	return o, xd
}

// A blind transfer that is answered: the caller ends up bridged to the
// destination, the transferrer's leg ends, the CDR links them.
func TestTransferBlindAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(4*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(5 * time.Second)
			var r reports
			xd.phone("102", 0).c <- call.Transfer{To: "103", Report: r.report}
			time.Sleep(10 * time.Second)
			if got := r.got(); !slices.Equal(got, []int{200}) {
				t.Errorf("reports = %v, want [200]", got)
			}
			// Presence follows the parties: Steve is free again, Sue is on
			// the call (so neither a group nor a queue rings her).
			if o.pres.Busy("ext:102") || !o.pres.Busy("ext:103") {
				t.Errorf("busy 102 %v, 103 %v; want 102 free, 103 busy", o.pres.Busy("ext:102"), o.pres.Busy("ext:103"))
			}
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		steve, sue := xd.phone("102", 0), xd.phone("103", 0)
		if sue == nil {
			t.Fatal("103 was never rung")
		}
		if got := caller.BridgedWith(); !slices.Equal(got, []string{steve.ID(), sue.ID()}) {
			t.Fatalf("caller bridged with %v, want steve then sue", got)
		}
		if ended, _, _ := steve.Ended(); !ended {
			t.Fatal("the transferrer's leg is still up")
		}
		rec := o.cdr.last(t)
		if len(rec.Transfers) != 1 || rec.Transfers[0].By != "102" || rec.Transfers[0].To != "103" ||
			rec.Transfers[0].Result != "completed" || rec.Transfers[0].Leg != sue.ID() {
			t.Fatalf("cdr transfers = %+v", rec.Transfers)
		}
		var linked bool
		for _, l := range rec.Legs {
			if l.ID == sue.ID() && l.TransferBy == "102" {
				linked = true
			}
		}
		if !linked {
			t.Fatalf("cdr legs %+v: no leg of 103 transferred by 102", rec.Legs)
		}
	})
}

// A blind transfer nobody answers comes back to the transferrer, who hung
// up: their extension rings again exactly transfer_recall (30s) after the
// transfer started.
func TestTransferRecallAfterNoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve-recall", calltest.AnswerAfter(2*time.Second)) })
		o.silent("103")
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		var r reports
		go func() {
			time.Sleep(5 * time.Second)
			steve := xd.phone("102", 0)
			steve.c <- call.Transfer{To: "103", Report: r.report}
			steve.Hangup(call.Normal) // a blind transfer: the phone hangs up at once
			time.Sleep(60 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		got := o.d.log()
		if len(got) != 3 || got[1].Number != "103" || got[2].Number != "102" {
			t.Fatalf("dialled %v, want 102, 103, 102", got)
		}
		if got[1].At != 5*time.Second || got[2].At != 35*time.Second {
			t.Fatalf("103 rang at %v and the recall at %v, want 5s and 35s (the transfer at 5s, transfer_recall 30s)", got[1].At, got[2].At)
		}
		if codes := r.got(); !slices.Equal(codes, []int{480}) {
			t.Fatalf("reports = %v, want [480]", codes)
		}
		recall := xd.phone("102", 1)
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != recall.ID() {
			t.Fatalf("caller bridged with %v, want the recall leg last", b)
		}
		if recall.Played() == 0 {
			t.Fatal("the transferrer heard no tone before the recalled call")
		}
		rec := o.cdr.last(t)
		if len(rec.Transfers) != 1 || !rec.Transfers[0].Recalled || rec.Transfers[0].Result != "no_answer" {
			t.Fatalf("cdr transfers = %+v", rec.Transfers)
		}
	})
}

// A declined blind transfer while the transferrer waits on the line: the
// call comes straight back (603 reported), no recall dial.
func TestTransferDeclinedComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg {
			return calltest.NewLeg("sue", calltest.RejectAfter(3*time.Second, call.Rejected))
		})
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		var r reports
		go func() {
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).c <- call.Transfer{To: "103", Report: r.report}
			time.Sleep(20 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		if codes := r.got(); !slices.Equal(codes, []int{603}) {
			t.Fatalf("reports = %v, want [603]", codes)
		}
		steve := xd.phone("102", 0)
		if b := caller.BridgedWith(); !slices.Equal(b, []string{steve.ID(), steve.ID()}) {
			t.Fatalf("caller bridged with %v, want steve twice", b)
		}
		if n := len(o.d.log()); n != 2 {
			t.Fatalf("%d dials, want 2 (no recall)", n)
		}
	})
}

// A transfer to an outside number the transferrer may not call is refused
// (403) and the call stays with the transferrer.
func TestTransferForbiddenOutside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := officeSite()
		s.Extensions[1].Permission = "internal"
		o := newOffice(t, s)
		xd := &xferDialer{Dialer: o.d, phones: map[string][]*xferLeg{}}
		o.e.Dialer = xd
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("+15559990000", func() *calltest.Leg { return calltest.NewLeg("far", calltest.AnswerAfter(time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		var r reports
		go func() {
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).c <- call.Transfer{To: "+15559990000", Report: r.report}
			time.Sleep(10 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		if codes := r.got(); !slices.Equal(codes, []int{403}) {
			t.Fatalf("reports = %v, want [403]", codes)
		}
		if xd.phone("+15559990000", 0) != nil {
			t.Fatal("the forbidden number was dialled")
		}
	})
}

func TestFeatureCodeDigits(t *testing.T) {
	var f featureCode
	type got struct{ code, num string }
	var all []got
	for _, k := range []byte("12##103#5#*3*2104#*#") {
		if code, n, ok := f.add(k); ok {
			all = append(all, got{code, n})
		}
	}
	if want := []got{{"##", "103"}, {"*2", "104"}}; !slices.Equal(all, want) {
		t.Fatalf("codes = %v, want %v", all, want)
	}
	f.reset()
	f.add('#')
	f.add('#')
	f.add('4')
	if code, n, ok := f.flush(); !ok || code != "##" || n != "4" {
		t.Fatalf("flush = %q %q %v, want ## 4", code, n, ok)
	}
}

// *2 + number: the caller waits while Steve talks to Sue; Steve hanging
// up hands the caller to Sue. The code's digits end with # or a 3 s pause.
func TestTransferConsultFeatureCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(2*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(5 * time.Second)
			steve := xd.phone("102", 0)
			steve.Press("*2103") // no #: the pause ends the number
			time.Sleep(10 * time.Second)
			sue := xd.phone("103", 0)
			if sue == nil {
				t.Error("*2103 did not ring 103")
				caller.Hangup(call.Normal)
				return
			}
			if b := steve.BridgedWith(); len(b) != 2 || b[1] != sue.ID() {
				t.Errorf("steve bridged with %v, want the caller then sue", b)
			}
			steve.Hangup(call.Normal) // completes the transfer
			time.Sleep(5 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		sue := xd.phone("103", 0)
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != sue.ID() {
			t.Fatalf("caller bridged with %v, want steve then sue", b)
		}
		rec := o.cdr.last(t)
		if len(rec.Transfers) != 1 || rec.Transfers[0].Kind != "attended" || rec.Transfers[0].Result != "completed" ||
			rec.Transfers[0].To != "103" {
			t.Fatalf("cdr transfers = %+v", rec.Transfers)
		}
		if got := o.d.log(); got[1].At != 5*time.Second+digitGap {
			t.Fatalf("103 rang at %v, want %v (the code's pause)", got[1].At, 5*time.Second+digitGap)
		}
	})
}

// An attended transfer: Steve (102) has the caller; he calls Sue (103)
// himself (the consult call), then transfers with Replaces naming his leg
// in the consult call. The caller ends up bridged to Sue, Steve's two legs
// end, and both CDRs name each other's call.
func TestTransferAttended(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(2*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		consult := calltest.NewLeg("steve-consult", calltest.From("102", "Steve"))
		var r reports
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(3 * time.Second)
			o.e.Handle(t.Context(), consult, Inbound{CallID: "consult", From: consult.Remote(), To: "103", Extension: "102"})
		}()
		go func() {
			time.Sleep(10 * time.Second)
			xd.phone("102", 0).c <- call.Transfer{Replaces: consult.ID(), Report: r.report}
			time.Sleep(10 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		wg.Wait()
		sue := xd.phone("103", 0)
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != sue.ID() {
			t.Fatalf("caller bridged with %v, want sue last", b)
		}
		if codes := r.got(); !slices.Equal(codes, []int{200}) {
			t.Fatalf("reports = %v, want [200]", codes)
		}
		if ended, _, _ := consult.Ended(); !ended {
			t.Fatal("the transferrer's consult leg is still up")
		}
		if ended, _, _ := xd.phone("102", 0).Ended(); !ended {
			t.Fatal("the transferrer's leg is still up")
		}
		var main, cons *cdr.Record
		o.cdr.mu.Lock()
		for i := range o.cdr.all {
			switch o.cdr.all[i].CallID {
			case "consult":
				cons = &o.cdr.all[i]
			default:
				main = &o.cdr.all[i]
			}
		}
		o.cdr.mu.Unlock()
		if main == nil || cons == nil {
			t.Fatal("missing CDRs")
		}
		if len(main.Transfers) != 1 || main.Transfers[0].Kind != "attended" || main.Transfers[0].Call != "consult" ||
			main.Transfers[0].By != "102" || main.Transfers[0].Leg != sue.ID() {
			t.Fatalf("transferred call's transfers = %+v", main.Transfers)
		}
		if len(cons.Transfers) != 1 || cons.Transfers[0].Call != main.CallID {
			t.Fatalf("consult call's transfers = %+v", cons.Transfers)
		}
		if ended, _, _ := sue.Ended(); !ended {
			t.Fatal("sue's leg outlived the call")
		}
	})
}

// The caller transfers: Alice (101) called Steve (102) and transfers him
// to Sue (103). Steve goes on in a call of his own whose record names the
// original call; Alice's leg ends once Sue answers.
func TestTransferByTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(2*time.Second)) })
		alice := &xferLeg{Leg: calltest.NewLeg("alice", calltest.From("101", "Alice")), c: make(chan call.Transfer)}
		var r reports
		go func() {
			time.Sleep(5 * time.Second)
			alice.c <- call.Transfer{To: "103", Report: r.report}
			time.Sleep(10 * time.Second)
			xd.phone("102", 0).Hangup(call.Normal)
		}()
		o.e.Handle(t.Context(), alice, Inbound{CallID: "orig", From: alice.Remote(), To: "102", Extension: "101"})
		if err := o.e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		steve, sue := xd.phone("102", 0), xd.phone("103", 0)
		if sue == nil {
			t.Fatal("103 was never rung")
		}
		if b := steve.BridgedWith(); len(b) != 2 || b[0] != alice.ID() || b[1] != sue.ID() {
			t.Fatalf("steve bridged with %v, want alice, sue", b)
		}
		if ended, _, _ := alice.Ended(); !ended {
			t.Fatal("the transferrer's leg is still up")
		}
		if codes := r.got(); !slices.Equal(codes, []int{200}) {
			t.Fatalf("reports = %v, want [200]", codes)
		}
		o.cdr.mu.Lock()
		recs := slices.Clone(o.cdr.all)
		o.cdr.mu.Unlock()
		if len(recs) != 2 {
			t.Fatalf("%d CDRs, want 2", len(recs))
		}
		orig, split := recs[0], recs[1]
		if orig.CallID != "orig" {
			orig, split = split, orig
		}
		if len(orig.Transfers) != 1 || orig.Transfers[0].Result != "handed_off" || orig.Transfers[0].Call != split.CallID {
			t.Fatalf("original call's transfers = %+v", orig.Transfers)
		}
		if split.TransferOf != "orig" || len(split.Transfers) != 1 || split.Transfers[0].By != "101" ||
			split.Transfers[0].Result != "completed" || split.Transfers[0].Leg != sue.ID() {
			t.Fatalf("split call = %+v", split)
		}
	})
}

// The caller's in-call code: Alice (101) called Steve and types *2 103 #,
// talks to Sue, hangs up: Steve and Sue are connected.
func TestTransferCallerConsultCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(2*time.Second)) })
		alice := calltest.NewLeg("alice", calltest.From("101", "Alice"))
		go func() {
			time.Sleep(5 * time.Second)
			alice.Press("*2103#")
			time.Sleep(5 * time.Second)
			if b := alice.BridgedWith(); len(b) != 2 || xd.phone("103", 0) == nil || b[1] != xd.phone("103", 0).ID() {
				t.Errorf("alice bridged with %v, want steve then sue (the consultation)", b)
			}
			alice.Hangup(call.Normal)
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).Hangup(call.Normal)
		}()
		o.e.Handle(t.Context(), alice, Inbound{CallID: "orig", From: alice.Remote(), To: "102", Extension: "101"})
		if err := o.e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		steve, sue := xd.phone("102", 0), xd.phone("103", 0)
		if b := steve.BridgedWith(); len(b) != 2 || b[1] != sue.ID() {
			t.Fatalf("steve bridged with %v, want alice then sue", b)
		}
		o.cdr.mu.Lock()
		defer o.cdr.mu.Unlock()
		var split *cdr.Record
		for i := range o.cdr.all {
			if o.cdr.all[i].TransferOf == "orig" {
				split = &o.cdr.all[i]
			}
		}
		if split == nil || len(split.Transfers) != 1 || split.Transfers[0].Kind != "attended" || split.Transfers[0].Result != "completed" {
			t.Fatalf("CDRs = %+v", o.cdr.all)
		}
	})
}

// talkLog is a fake ACD that notes when agents' calls end.
type talkLog struct {
	mu    sync.Mutex
	ended map[string]time.Duration
	start time.Time
}

func (a *talkLog) Blocked(string) string { return "" }

func (a *talkLog) Talking(agent, _ string) func() {
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if _, ok := a.ended[agent]; !ok {
			a.ended[agent] = time.Since(a.start)
		}
	}
}

// An agent who transfers a call is done with it when they leave, not
// when the transferred call ends: the ACD learns it then (their state,
// their wrap-up).
func TestTransferEndsTheAgentsCallWhenTheyLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		ag := &talkLog{ended: map[string]time.Duration{}, start: time.Now()}
		o.e.Agents = ag
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("104", func() *calltest.Leg { return calltest.NewLeg("janet", calltest.AnswerAfter(time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).c <- call.Transfer{To: "104"}
			time.Sleep(30 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102") // 102 is agent steve's extension
		ag.mu.Lock()
		defer ag.mu.Unlock()
		if at, ok := ag.ended["steve"]; !ok || at != 6*time.Second {
			t.Fatalf("steve's call ended for the ACD at %v (%v), want 6s (when 104 answered)", at, ok)
		}
	})
}

// Blind transfers to what is not an extension: an IVR by its id (the
// caller hears its greeting; no recall), and an outside number the
// transferrer may call (rung through the outbound routes and trunk).
func TestTransferToIVRAndOutside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		var r reports
		go func() {
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).c <- call.Transfer{To: "main", Report: r.report}
			time.Sleep(5 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		if !slices.Contains(o.prompts.asked(), "main-menu") {
			t.Fatalf("prompts %v: the IVR's greeting was not played", o.prompts.asked())
		}
		if codes := r.got(); !slices.Equal(codes, []int{200}) {
			t.Fatalf("reports = %v, want [200]", codes)
		}
		rec := o.cdr.last(t)
		if !slices.Contains(rec.Path, "ivr:main") || len(rec.Transfers) != 1 || rec.Transfers[0].Result != "completed" {
			t.Fatalf("cdr path %v transfers %+v", rec.Path, rec.Transfers)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("+15559990000", func() *calltest.Leg { return calltest.NewLeg("far", calltest.AnswerAfter(3*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		var r reports
		go func() {
			time.Sleep(5 * time.Second)
			xd.phone("102", 0).c <- call.Transfer{To: "+15559990000", Report: r.report}
			time.Sleep(10 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		if codes := r.got(); !slices.Equal(codes, []int{200}) {
			t.Fatalf("reports = %v, want [200]", codes)
		}
		far := xd.phone("+15559990000", 0)
		if far == nil {
			t.Fatal("the outside number was not rung")
		}
		if tg := far.Target(); tg.Kind != call.TargetTrunk || tg.Trunk != "carrier" {
			t.Fatalf("outside number rung as %+v, want through the carrier trunk", tg)
		}
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != far.ID() {
			t.Fatalf("caller bridged with %v", b)
		}
	})
}

// An agent without an extension (janet answers on her mobile) transfers
// blind and nobody answers: the recall rings her the way she was rung,
// on her mobile, and the call record names her as the transferrer.
func TestTransferRecallRingsAgentWithoutExtension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		s := o.e.Config.Current().Site
		for i := range s.Agents {
			if s.Agents[i].ID == "janet" {
				s.Agents[i].Extension = ""
			}
		}
		const mobile = "+15550001004"
		o.d.Add(mobile, func() *calltest.Leg { return calltest.NewLeg("janet", calltest.AnswerAfter(time.Second)) })
		o.d.Add(mobile, func() *calltest.Leg { return calltest.NewLeg("janet-recall", calltest.AnswerAfter(2*time.Second)) })
		o.silent("103")
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(5 * time.Second)
			janet := xd.phone(mobile, 0)
			janet.Press("##103#") // a mobile transfers with the in-call code
			time.Sleep(time.Second)
			janet.Hangup(call.Normal)
			time.Sleep(60 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "agent:janet")
		got := o.d.log()
		if len(got) != 3 || got[1].Number != "103" || got[2].Number != mobile || got[2].At != got[1].At+30*time.Second {
			t.Fatalf("dialled %v, want the mobile, 103, then the mobile again 30s later", got)
		}
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != xd.phone(mobile, 1).ID() {
			t.Fatalf("caller bridged with %v, want the recall leg last", b)
		}
		rec := o.cdr.last(t)
		if len(rec.Transfers) != 1 || rec.Transfers[0].By != "agent:janet" || !rec.Transfers[0].Recalled {
			t.Fatalf("cdr transfers = %+v, want janet's recalled transfer", rec.Transfers)
		}
	})
}

// Steve starts a consult (*2103#) and hangs up while 103 still rings:
// the transfer completes while ringing, so the caller is connected to Sue
// when she answers (no recall, no ringback to Steve's dead leg).
func TestTransferConsultHangupWhileRinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(10*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(5 * time.Second)
			steve := xd.phone("102", 0)
			steve.Press("*2103#")
			time.Sleep(3 * time.Second)
			steve.Hangup(call.Normal) // 103 is still ringing
			time.Sleep(20 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		sue := xd.phone("103", 0)
		if sue == nil {
			t.Fatal("103 was never rung")
		}
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != sue.ID() {
			t.Fatalf("caller bridged with %v, want steve then sue", b)
		}
		if b := sue.BridgedWith(); len(b) != 1 || b[0] != caller.ID() {
			t.Fatalf("sue bridged with %v, want only the caller", b)
		}
		if got := o.d.log(); len(got) != 2 {
			t.Fatalf("dialled %v, want 102 and 103 only (no recall)", got)
		}
		rec := o.cdr.last(t)
		if len(rec.Transfers) != 1 || rec.Transfers[0].Result != "completed" || rec.Transfers[0].By != "102" {
			t.Fatalf("cdr transfers = %+v", rec.Transfers)
		}
	})
}

// A semi-attended transfer: Steve calls Sue (103) to consult and presses
// transfer while she still rings (REFER with Replaces naming his consult
// leg). The consult call ends and the caller is sent to 103 as a blind
// transfer: Sue's phone rings again, for the caller, who is bridged to
// her when she answers.
func TestTransferAttendedWhileConsultRings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.silent("103")
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(4*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		consult := calltest.NewLeg("steve-consult", calltest.From("102", "Steve"))
		var r reports
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(3 * time.Second)
			o.e.Handle(t.Context(), consult, Inbound{CallID: "consult", From: consult.Remote(), To: "103", Extension: "102"})
		}()
		go func() {
			time.Sleep(6 * time.Second) // 103 rings for the consult
			xd.phone("102", 0).c <- call.Transfer{Replaces: consult.ID(), Report: r.report}
			time.Sleep(20 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		wg.Wait()
		if ended, _, _ := consult.Ended(); !ended {
			t.Fatal("the consult call is still up")
		}
		first, sue := xd.phone("103", 0), xd.phone("103", 1)
		if sue == nil {
			t.Fatal("103 was not rung again for the caller")
		}
		if ended, _, _ := first.Ended(); !ended {
			t.Fatal("103's ringing for the consult did not stop")
		}
		if b := caller.BridgedWith(); len(b) != 2 || b[1] != sue.ID() {
			t.Fatalf("caller bridged with %v, want steve then sue", b)
		}
		if codes := r.got(); !slices.Equal(codes, []int{200}) {
			t.Fatalf("reports = %v, want [200]", codes)
		}
		rec := o.cdr.last(t)
		if rec.CallID == "consult" {
			t.Fatal("the last CDR is the consult's")
		}
		if len(rec.Transfers) != 1 || rec.Transfers[0].To != "103" || rec.Transfers[0].Result != "completed" {
			t.Fatalf("cdr transfers = %+v", rec.Transfers)
		}
	})
}
