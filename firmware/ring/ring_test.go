package ring

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/site"
)

// legs collects the CDR legs a ringing reports.
type legs struct {
	mu sync.Mutex
	l  []cdr.Leg
}

func (l *legs) add(x cdr.Leg) { l.mu.Lock(); l.l = append(l.l, x); l.mu.Unlock() }
func (l *legs) causes() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for _, x := range l.l {
		out[x.Target] = x.Cause
	}
	return out
}

func entry(number string, at, until time.Duration) Entry {
	return Entry{Target: call.Target{Kind: call.TargetExtension, Number: number}, Label: "ext:" + number, At: at, Until: until, Member: number}
}

// prompts is a fake prompt source: every prompt lasts a second.
func prompts(id string, rate int) (call.Source, bool) {
	return &frames{n: 50}, true
}

type frames struct{ n int }

func (f *frames) ReadFrame(p []int16) bool {
	if f.n == 0 {
		return false
	}
	f.n--
	clear(p)
	return true
}

func TestStagesFirstAnswerWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		bob := calltest.NewLeg("bob") // rings for ever
		steve := calltest.NewLeg("steve")
		sue := calltest.NewLeg("sue", calltest.AnswerAfter(5*time.Second))
		d.Add("101", func() *calltest.Leg { return bob })
		d.Add("102", func() *calltest.Leg { return steve })
		d.Add("103", func() *calltest.Leg { return sue })
		var got legs
		var wg sync.WaitGroup
		r := &Ringer{}
		start := time.Now()
		res := r.Ring(t.Context(), Request{Dialer: d, Record: got.add, Wait: &wg, Entries: []Entry{
			entry("101", 0, 20*time.Second), entry("102", 0, 20*time.Second),
			entry("103", 20*time.Second, 40*time.Second),
		}})
		wg.Wait()
		if res.Answer == nil || res.Leg != sue {
			t.Fatalf("Ring = %+v, want sue", res)
		}
		if d := time.Since(start); d != 25*time.Second {
			t.Errorf("answered after %v, want 25s", d)
		}
		if got := bob.HangupCause(); got != call.NoAnswer {
			t.Errorf("bob ended %v, want no answer at the end of his stage", got)
		}
		if res.Rec.Target != "ext:103" || res.Rec.Answer.IsZero() {
			t.Errorf("winner's record %+v", res.Rec)
		}
		if c := got.causes(); c["ext:101"] != "no_answer" || c["ext:102"] != "no_answer" {
			t.Errorf("losers recorded %v", c)
		}
	})
}

func TestLosersAreAnsweredElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		bob := calltest.NewLeg("bob")
		steve := calltest.NewLeg("steve", calltest.AnswerAfter(3*time.Second))
		d.Add("101", func() *calltest.Leg { return bob })
		d.Add("102", func() *calltest.Leg { return steve })
		var wg sync.WaitGroup
		res := (&Ringer{}).Ring(t.Context(), Request{Dialer: d, Wait: &wg, Entries: []Entry{entry("101", 0, 0), entry("102", 0, 0)}})
		wg.Wait()
		if res.Answer == nil || res.Leg != steve {
			t.Fatalf("winner %v", res.Leg)
		}
		synctest.Wait()
		if got := bob.HangupCause(); got != call.AnsweredElsewhere {
			t.Errorf("bob ended %v, want answered elsewhere (no missed-call mark)", got)
		}
	})
}

func TestSkippedStageStartsNextAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		sue := calltest.NewLeg("sue", calltest.AnswerAfter(time.Second))
		d.Add("103", func() *calltest.Leg { return sue })
		off := entry("101", 0, 20*time.Second)
		off.Check = func(time.Time) string { return SkipOffHours }
		start := time.Now()
		res := (&Ringer{}).Ring(t.Context(), Request{Dialer: d, Entries: []Entry{off, entry("103", 20*time.Second, 40*time.Second)}})
		if res.Answer == nil || res.Leg != sue {
			t.Fatalf("Ring = %+v", res)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("answered after %v, want 1s: nobody was ringing, so stage 2 starts at once", d)
		}
	})
}

func TestNobodyRingable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		off := entry("101", 0, 20*time.Second)
		off.Check = func(time.Time) string { return "unavailable" }
		res := (&Ringer{}).Ring(t.Context(), Request{Dialer: calltest.NewDialer(), Entries: []Entry{off}})
		if res.Answer != nil || res.Cause != call.Unavailable || res.Rung != 0 {
			t.Errorf("Ring = %+v, want unavailable with nobody rung", res)
		}
	})
}

func TestConfirm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		// The mobile's own voicemail answers at once and never presses 1;
		// Sue's mobile answers and declines; the desk phone accepts.
		vm := calltest.NewLeg("voicemail", calltest.AnswerAfter(time.Second))
		decl := calltest.NewLeg("sue-mobile", calltest.AnswerAfter(2*time.Second))
		desk := calltest.NewLeg("desk", calltest.AnswerAfter(5*time.Second))
		d.Add("+1555001", func() *calltest.Leg { return vm })
		d.Add("+1555002", func() *calltest.Leg { return decl })
		d.Add("102", func() *calltest.Leg { return desk })
		decl.PressAfter(4*time.Second, "2")
		// The voicemail gives up at 13 s (1 s ring, 2 s of prompts, 10 s
		// wait); nobody is left ringing, so the desk phone's stage starts
		// then, it answers at 18 s and presses 1 at 19.01 s.
		desk.PressAfter(19*time.Second+10*time.Millisecond, "1")
		ext := func(n string, at, until time.Duration) Entry {
			e := entry(n, at, until)
			e.Target.Kind = call.TargetExternal
			e.Label = "external:" + n
			e.Confirm = true
			return e
		}
		deskE := entry("102", 30*time.Second, 60*time.Second)
		deskE.Confirm = true
		var got legs
		var wg sync.WaitGroup
		start := time.Now()
		res := (&Ringer{Prompt: prompts}).Ring(t.Context(), Request{Dialer: d, Record: got.add, Wait: &wg,
			Entries: []Entry{ext("+1555001", 0, 30*time.Second), ext("+1555002", 0, 30*time.Second), deskE}})
		wg.Wait()
		if res.Answer == nil || res.Leg != desk {
			t.Fatalf("Ring = %+v, want the desk phone", res)
		}
		// The key stops the prompt at the next 20 ms frame.
		if d := time.Since(start); d != 19*time.Second+20*time.Millisecond {
			t.Errorf("won after %v, want 19.02s", d)
		}
		c := got.causes()
		if c["external:+1555001"] != "no_answer" || c["external:+1555002"] != "rejected" {
			t.Errorf("confirm outcomes %v, want voicemail no_answer and the decline rejected", c)
		}
	})
}

func TestDeclineIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		desk := calltest.NewLeg("desk", calltest.AnswerAfter(time.Second))
		d.Add("101", func() *calltest.Leg { return desk })
		desk.PressAfter(3*time.Second, "2")
		e := entry("101", 0, 15*time.Second)
		e.Confirm = true
		start := time.Now()
		res := (&Ringer{Prompt: prompts}).Ring(t.Context(), Request{Dialer: d, Entries: []Entry{e}})
		if res.Answer != nil || !res.Declined || res.Cause != call.NoAnswer {
			t.Errorf("Ring = %+v, want no answer, declined", res)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("decline took %v to move on, want 3s (at once)", d)
		}
	})
}

func TestCallerHangsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		bob := calltest.NewLeg("bob")
		d.Add("101", func() *calltest.Leg { return bob })
		caller := calltest.NewLeg("caller")
		time.AfterFunc(7*time.Second, func() { caller.Hangup(call.Cancelled) })
		res := (&Ringer{}).Ring(t.Context(), Request{Dialer: d, Caller: caller, Entries: []Entry{entry("101", 0, 30*time.Second)}})
		if res.Cause != call.Cancelled {
			t.Errorf("cause %v, want cancelled", res.Cause)
		}
		synctest.Wait()
		if got := bob.HangupCause(); got != call.Cancelled {
			t.Errorf("bob ended %v", got)
		}
	})
}

func TestClaimLostHearsCallTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := calltest.NewDialer()
		bob := calltest.NewLeg("bob", calltest.AnswerAfter(time.Second))
		d.Add("101", func() *calltest.Leg { return bob })
		var wg sync.WaitGroup
		res := (&Ringer{Prompt: prompts}).Ring(t.Context(), Request{Dialer: d, Wait: &wg, Entries: []Entry{entry("101", 0, 30*time.Second)},
			Claim: func() bool { return false }})
		if res.Answer != nil {
			t.Fatal("a leg won although the claim was refused")
		}
		wg.Wait()
		if bob.Played() == 0 || bob.HangupCause() != call.AnsweredElsewhere {
			t.Errorf("bob played %d frames, ended %v; want the call-taken prompt then answered elsewhere", bob.Played(), bob.HangupCause())
		}
	})
}

// TestFastBusyMovesOn rings a sequential hunt whose first phone answers
// 486 within milliseconds: the next member must ring at once, every time,
// and the result is the second member (the race seen on a real box).
func TestFastBusyMovesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for i := range 200 {
			d := calltest.NewDialer()
			busy := calltest.NewLeg("busy", calltest.RejectAfter(time.Duration(i%5)*time.Millisecond, call.Busy))
			ok := calltest.NewLeg("ok", calltest.AnswerAfter(time.Second))
			d.Add("201", func() *calltest.Leg { return busy })
			d.Add("202", func() *calltest.Leg { return ok })
			start := time.Now()
			var wg sync.WaitGroup
			res := (&Ringer{}).Ring(t.Context(), Request{Dialer: d, Wait: &wg,
				Entries: []Entry{entry("201", 0, 15*time.Second), entry("202", 15*time.Second, 30*time.Second)}})
			wg.Wait()
			if res.Answer == nil || res.Leg != ok {
				t.Fatalf("run %d: Ring = %+v, want the second member", i, res)
			}
			if d := time.Since(start); d != time.Second+time.Duration(i%5)*time.Millisecond {
				t.Fatalf("run %d: answered after %v: the second member was not rung at once", i, d)
			}
			ok.Hangup(call.Normal)
		}
	})
}

// TestFastBusyRealTime is the same under the real scheduler and the race
// detector: many busy members end at random moments while the engine
// launches the next ones.
func TestFastBusyRealTime(t *testing.T) {
	for i := range 100 {
		d := calltest.NewDialer()
		var entries []Entry
		for m := range 5 {
			n := fmt.Sprint(300 + m)
			d.Add(n, func() *calltest.Leg {
				return calltest.NewLeg(n, calltest.RejectAfter(time.Duration(rand.IntN(2000))*time.Microsecond, call.Busy))
			})
			entries = append(entries, entry(n, time.Duration(m)*time.Second, time.Duration(m+1)*time.Second))
		}
		win := calltest.NewLeg("win", calltest.AnswerAfter(time.Millisecond))
		d.Add("399", func() *calltest.Leg { return win })
		entries = append(entries, entry("399", 5*time.Second, 6*time.Second))
		var wg sync.WaitGroup
		var got legs
		res := (&Ringer{}).Ring(t.Context(), Request{Dialer: d, Wait: &wg, Record: got.add, Entries: entries})
		wg.Wait()
		if res.Answer == nil || res.Leg != win {
			t.Fatalf("run %d: Ring = %+v (legs %v), want the last member", i, res, got.causes())
		}
		if n := len(d.Dials()); n != 6 {
			t.Fatalf("run %d: %d dials, want 6", i, n)
		}
		win.Hangup(call.Normal)
	}
}

// agentsFake is an ACD answering Blocked from a table.
type agentsFake map[string]string

func (a agentsFake) Blocked(id string) string { return a[id] }

func TestAgentEntriesAndAvailability(t *testing.T) {
	s := &site.Site{
		System:     site.System{Timezone: "UTC"},
		Extensions: []site.Extension{{Number: "101"}, {Number: "102"}, {Number: "103", DND: true}},
		Agents: []site.Agent{
			{ID: "bob", Extension: "101", Mobile: "+15550001", RingPreference: site.RingExtensionThenMobile, MobileAfter: site.Duration(10 * time.Second)},
			{ID: "sue", Extension: "102"},
			{ID: "dee", Extension: "103"},
		},
	}
	snap, err := config.New(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	av := Avail{Snap: snap.Current(), Agents: agentsFake{"sue": "unavailable"}}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

	ens := Member(av, "bob", 0, 20*time.Second, Group(false))
	var labels []string
	for _, e := range ens {
		labels = append(labels, fmt.Sprintf("%s@%v", e.Label, e.At))
	}
	if want := []string{"agent:bob/ext:101@0s", "agent:bob/mobile:+15550001@10s"}; !slices.Equal(labels, want) {
		t.Errorf("bob rings %v, want %v", labels, want)
	}
	tests := []struct {
		member string
		opts   Opts
		want   string
	}{
		{"bob", Group(false), ""},
		{"sue", Group(false), "unavailable"},
		{"sue", Group(true), ""}, // ring_unavailable_agents
		{"ext:102", Group(false), "unavailable"},
		{"dee", Group(true), SkipDND},
	}
	for _, tt := range tests {
		if got := Why(av, tt.member, now, tt.opts); got != tt.want {
			t.Errorf("Why(%s, %+v) = %q, want %q", tt.member, tt.opts, got, tt.want)
		}
	}
	if Reachable(s, &s.Agents[2]) {
		t.Error("dee (extension in DND, no mobile) is reachable")
	}
}

func TestAgentBrowserPreferences(t *testing.T) {
	s := &site.Site{
		System:     site.System{Timezone: "UTC"},
		Version:    1,
		Extensions: []site.Extension{{Number: "101"}, {Number: "102"}, {Number: "103"}},
		Agents: []site.Agent{
			{ID: "amy", RingPreference: site.RingBrowser},
			{ID: "bob", Extension: "101", RingPreference: site.RingBrowserThenExtension, MobileAfter: site.Duration(8 * time.Second)},
			{ID: "cat", Extension: "102", RingPreference: site.RingBrowserAndExtension},
			{ID: "dan", Extension: "103", RingPreference: site.RingBrowserThenExtension},
		},
	}
	if errs := s.Validate(); errs != nil {
		t.Fatalf("site invalid: %v", errs)
	}
	snap, err := config.New(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	av := Avail{Snap: snap.Current()}
	if ens := Member(av, "amy", 0, time.Minute, Opts{Via: "Sales"}); len(ens) != 1 || ens[0].Target.Via != "Sales" {
		t.Errorf("via not on the browser target: %+v", ens)
	}
	tests := []struct {
		agent string
		until time.Duration
		want  []string
	}{
		{"amy", 20 * time.Second, []string{"agent:amy/browser@0s"}},
		{"bob", 20 * time.Second, []string{"agent:bob/browser@0s", "agent:bob/ext:101@8s"}},
		{"cat", 20 * time.Second, []string{"agent:cat/browser@0s", "agent:cat/ext:102@0s"}},
		{"dan", 10 * time.Second, []string{"agent:dan/browser@0s"}}, // the default 15s is past the ring time
	}
	for _, tt := range tests {
		var got []string
		for _, e := range Member(av, tt.agent, 0, tt.until, Group(false)) {
			got = append(got, fmt.Sprintf("%s@%v", e.Label, e.At))
			if e.Kind == "browser" && (e.Target.Kind != call.TargetBrowser || e.Target.Number != tt.agent || e.Target.Agent != tt.agent) {
				t.Errorf("%s browser target %+v", tt.agent, e.Target)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s rings %v, want %v", tt.agent, got, tt.want)
		}
	}
	if !Reachable(s, &s.Agents[0]) {
		t.Error("browser-only agent not reachable")
	}
}
