package analog

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/fsk"
	"ringbox/audio/fsk/fsktest"
	"ringbox/firmware/call"
)

// answer is the flow answering a call the phone placed.
func answer(t *testing.T, l call.Leg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := l.Answer(ctx); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) roles(n int) map[role]int {
	out := map[role]int{}
	for _, fl := range r.e.fxs[n].snapshot() {
		out[fl.role]++
	}
	return out
}

func TestHookFlashHoldConsultThreeWayTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		ph := r.b.Phone(1)
		ph.Lift()
		time.Sleep(300 * time.Millisecond)
		if err := ph.DialDTMF("101"); err != nil {
			t.Fatal(err)
		}
		a := r.call(2 * time.Second)
		answer(t, a.leg)
		time.Sleep(100 * time.Millisecond)
		if ph.Feed().String() != "reverse" {
			t.Errorf("feed %v after the far end answered, want reverse (answer supervision)", ph.Feed())
		}

		// Flash: the first party is held, dial tone for a consult call.
		if err := ph.Flash(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if got := r.line("fxs:1").State; got != StateDialTone {
			t.Fatalf("after a flash: %s, want dial_tone", got)
		}
		if r.roles(1)[roleHeld] != 1 {
			t.Fatalf("roles %v: the first call is not held", r.roles(1))
		}
		if err := ph.DialDTMF("202"); err != nil {
			t.Fatal(err)
		}
		b := r.call(2 * time.Second)
		if b.info.To != "202" {
			t.Fatalf("consult call to %q", b.info.To)
		}
		answer(t, b.leg)

		// Flash again: three-way.
		if err := ph.Flash(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if r.roles(1)[roleConf] != 2 {
			t.Fatalf("roles %v, want both calls in a three-way", r.roles(1))
		}
		// And again: the consulted party is dropped, back to the first.
		if err := ph.Flash(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-b.leg.Done():
		case <-time.After(time.Second):
			t.Fatal("the consulted party was not dropped")
		}
		time.Sleep(100 * time.Millisecond)
		if got := r.roles(1); got[roleActive] != 1 || len(r.e.fxs[1].snapshot()) != 1 {
			t.Fatalf("roles %v, want the first call alone and active", got)
		}

		// Consult again and hang up: a transfer.
		if err := ph.Flash(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if err := ph.DialDTMF("202"); err != nil {
			t.Fatal(err)
		}
		c := r.call(2 * time.Second)
		answer(t, c.leg)
		ph.Hang()
		time.Sleep(2 * time.Second)
		if got := r.roles(1); got[roleLinked] != 2 {
			t.Fatalf("roles %v after hanging up during a consult, want the two calls linked", got)
		}
		if got := r.line("fxs:1").State; got != StateIdle {
			t.Fatalf("state %s: the phone is not free after the transfer", got)
		}
		select {
		case <-a.leg.Done():
			t.Fatal("the transferred caller was hung up")
		default:
		}
		// The phone is free: it can be rung while the two talk.
		rctx, rcancel := context.WithCancel(context.Background())
		if _, err := r.e.Dialer(nil).Dial(rctx, call.Target{Kind: call.TargetFXS, Number: "1"}); err != nil {
			t.Errorf("ringing the phone after it transferred a call: %v", err)
		}
		rcancel()
		time.Sleep(100 * time.Millisecond)
		// Either party hanging up ends the other.
		a.leg.Hangup(call.Normal)
		select {
		case <-c.leg.Done():
		case <-time.After(time.Second):
			t.Fatal("the transferred call lives on after its other party hung up")
		}
	})
}

func TestCallWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		ph := r.b.Phone(2) // fxs:2 has call waiting
		ph.Lift()
		time.Sleep(300 * time.Millisecond)
		if err := ph.DialDTMF("101"); err != nil {
			t.Fatal(err)
		}
		a := r.call(2 * time.Second)
		answer(t, a.leg)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := r.e.Dialer(nil).Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "202", From: call.Party{Number: "+15557654321", Name: "Carol"}})
		if err != nil {
			t.Fatalf("a second call to a line with call waiting: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
		if h := ph.Heard(200 * time.Millisecond); !hearsSome(h, 440) {
			t.Error("no call-waiting tone (440 Hz)")
		}
		// Type II caller ID: the phone acknowledges the alerting signal
		// (CAS, at 400 ms) with DTMF D and is sent the caller's ID.
		time.Sleep(200 * time.Millisecond)
		if err := ph.DialDTMF("D"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(700 * time.Millisecond)
		m, err := fsktest.RefDecode(fsk.Bell202, ph.Heard(time.Second))
		if err != nil || m.Number != "+15557654321" || m.Name != "Carol" {
			t.Errorf("call-waiting caller ID after the acknowledgement: %+v, %v; want Carol +15557654321", m, err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := ph.Flash(); err != nil {
			t.Fatal(err)
		}
		actx, c2 := context.WithTimeout(context.Background(), 2*time.Second)
		defer c2()
		if err := w.Answer(actx); err != nil {
			t.Fatalf("a flash did not answer the waiting call: %v", err)
		}
		if got := r.roles(2); got[roleHeld] != 1 || got[roleActive] != 1 {
			t.Fatalf("roles %v, want the first call held and the waiting one active", got)
		}
		// Flash swaps.
		if err := ph.Flash(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if r.e.fxs[2].find(roleActive).l != a.leg.(*Leg) {
			t.Error("a second flash did not go back to the first call")
		}
		// Without call waiting the second caller gets busy.
		r.site.Lines[1].CallWaiting = false
		ph1 := r.b.Phone(1)
		ph1.Lift()
		time.Sleep(300 * time.Millisecond)
		if err := ph1.DialDTMF("101"); err != nil {
			t.Fatal(err)
		}
		answer(t, r.call(2*time.Second).leg)
		if _, err := r.e.Dialer(nil).Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "201"}); call.CauseOf(err) != call.Busy {
			t.Errorf("second call to a line without call waiting: %v, want busy", err)
		}
	})
}
