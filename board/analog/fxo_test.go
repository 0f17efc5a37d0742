package analog

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/fsk"
	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/events"
)

func TestFXOInboundWithCallerID(t *testing.T) {
	for _, zone := range []string{"us", "de", "nl"} {
		t.Run(zone, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, zone)
				set, _ := tone.Zone(zone)
				msg := fsk.Message{Time: time.Date(2026, 12, 4, 9, 30, 0, 0, time.Local), Number: "5551234567", Name: "ALICE SMITH"}
				x := r.b.Exchange(1)
				if err := x.Ring(set.RingCadence(), fsk.OnHook(fsk.StandardFor(zone), msg, -20)); err != nil {
					t.Fatal(err)
				}
				p := r.call(10 * time.Second)
				if p.info.Trunk != "pstn" || p.info.DID != "fxo:1" {
					t.Fatalf("call from the line: %+v, want trunk pstn, DID fxo:1", p.info)
				}
				if p.info.From.Number != "5551234567" {
					t.Errorf("caller number %q, want 5551234567", p.info.From.Number)
				}
				if zone != "nl" && p.info.From.Name != "ALICE SMITH" {
					t.Errorf("caller name %q, want ALICE SMITH", p.info.From.Name)
				}
				if x.Answered() {
					t.Fatal("the box answered before the flow did")
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := p.leg.Answer(ctx); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
				if !x.Answered() || !x.OffHook() {
					t.Fatal("answering the leg did not take the line off hook")
				}
				if got := r.line("fxo:1").State; got != StateTalking {
					t.Errorf("state %s, want talking", got)
				}
				// The far end hangs up by reversing the polarity.
				if err := x.HangUp("reversal"); err != nil {
					t.Fatal(err)
				}
				select {
				case <-p.leg.Done():
				case <-time.After(2 * time.Second):
					t.Fatal("polarity reversal did not end the call")
				}
				time.Sleep(100 * time.Millisecond)
				if x.OffHook() {
					t.Error("the box still holds the line")
				}
			})
		})
	}
}

func TestFXOCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		x := r.b.Exchange(1)
		set, _ := tone.Zone("us")
		if err := x.Ring(set.RingCadence(), nil); err != nil {
			t.Fatal(err)
		}
		p := r.call(15 * time.Second) // no caller ID: routed at the second ring
		if p.info.From.Number != "" {
			t.Errorf("caller %q without caller ID", p.info.From.Number)
		}
		x.StopRinging()
		select {
		case <-p.leg.Done():
			if c := call.CauseOf(p.leg.Err()); c != call.Cancelled {
				t.Errorf("leg ended %v, want cancelled", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the call lives on after the ringing stopped")
		}
	})
}

// Busy and congestion tones from the exchange end the call within 2 s in
// every zone; other hang-up signals too.
func TestFXOFarEndHangUp(t *testing.T) {
	type tc struct{ zone, how string }
	var cases []tc
	for _, z := range tone.Zones() {
		cases = append(cases, tc{z, "busy"})
	}
	cases = append(cases, tc{"us", "loop"}, tc{"us", "battery"}, tc{"uk", "reversal"})
	for _, c := range cases {
		t.Run(c.zone+"/"+c.how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, c.zone)
				leg := r.dialOut(t, "911")
				x := r.b.Exchange(1)
				time.Sleep(time.Second)
				if err := x.HangUp(c.how); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				select {
				case <-leg.Done():
					t.Logf("%s hang-up seen after %v", c.how, time.Since(start))
				case <-time.After(2 * time.Second):
					t.Fatalf("%s hang-up not seen within 2 s", c.how)
				}
			})
		})
	}
}

func TestFXOSilenceTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		r.site.Trunks[1].SilenceTimeout = 10_000_000_000 // 10s
		leg := r.dialOut(t, "911")
		if err := r.b.Exchange(1).HangUp("silence"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-leg.Done():
			t.Fatal("ended before the silence timeout")
		case <-time.After(9 * time.Second):
		}
		select {
		case <-leg.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("silence did not end the call")
		}
	})
}

// dialOut seizes the FXO line for number and waits until it is dialled.
func (r *rig) dialOut(t *testing.T, number string) call.Leg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	leg, err := r.e.Dialer(nil).Dial(ctx, call.Target{Kind: call.TargetTrunk, Trunk: "pstn", Number: number})
	if err != nil {
		t.Fatalf("dial out: %v", err)
	}
	if err := leg.Answer(ctx); err != nil {
		t.Fatalf("dialling %s: %v", number, err)
	}
	if got, want := r.b.Exchange(1).Dialed(), dialable(number); got != want {
		t.Fatalf("the exchange got %q, want %q", got, want)
	}
	return leg
}

func TestFXOOutboundDialsAfterDialTone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		leg := r.dialOut(t, "+15551234567") // '+' cannot be dialled on a line
		_ = leg
		if got := r.line("fxo:1"); got.State != StateTalking || got.Digits != "15551234567" {
			t.Errorf("line %+v", got)
		}
	})
}

func TestFXONoDialToneFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		sub := r.bus.Subscribe(16, events.Filter("line."))
		defer sub.Close()
		x := r.b.Exchange(1)
		x.SetBattery(false)
		time.Sleep(200 * time.Millisecond)
		if got := r.line("fxo:1"); got.Health != HealthNoBattery {
			t.Fatalf("no battery: health %q", got.Health)
		}
		select {
		case ev := <-sub.C():
			lc, ok := ev.Data.(events.LineChanged)
			if !ok || lc.Port != "fxo:1" || lc.Health != HealthNoBattery || lc.Detail == "" {
				t.Errorf("event %+v, want line.changed for fxo:1 with no_battery and why", ev.Data)
			}
		default:
			t.Error("no line.changed event when the line lost its battery")
		}
		_, err := r.e.Dialer(nil).Dial(context.Background(), call.Target{Kind: call.TargetTrunk, Trunk: "pstn", Number: "911"})
		if call.CauseOf(err) != call.Congestion {
			t.Fatalf("dial on a dead line: %v, want congestion (next trunk)", err)
		}
		x.SetBattery(true)
		x.SetParallelOffHook(true)
		time.Sleep(200 * time.Millisecond)
		if got := r.line("fxo:1"); got.Health != HealthInUse {
			t.Fatalf("extension phone off hook: health %q, want in_use", got.Health)
		}
		x.SetParallelOffHook(false)
		time.Sleep(200 * time.Millisecond)
		if got := r.line("fxo:1"); got.Health != HealthOK {
			t.Fatalf("health %q after the other phone hung up", got.Health)
		}
	})
}

// Ringing voltage that does not repeat as a ring cadence (a line test, a
// single burst) is not a call; a double ring's bursts are one cycle.
func TestFXORingValidatedByCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "uk")
		x := r.b.Exchange(1)
		if err := x.Ring([]time.Duration{time.Second, 30 * time.Second}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-r.calls:
			t.Fatalf("a single burst of ringing placed a call: %+v", p.info)
		case <-time.After(10 * time.Second):
		}
		x.StopRinging()
		time.Sleep(10 * time.Second)
		if got := r.line("fxo:1").State; got != StateIdle {
			t.Fatalf("after a lone burst: %s, want idle", got)
		}
		// The uk double ring with no caller ID: routed when the second
		// cycle starts, not at the second burst of the first.
		set, _ := tone.Zone("uk")
		start := time.Now()
		if err := x.Ring(set.RingCadence(), nil); err != nil {
			t.Fatal(err)
		}
		r.call(10 * time.Second)
		if d := time.Since(start); d < 3*time.Second {
			t.Errorf("routed %v after the ringing started, before the second cycle (3 s)", d)
		}
	})
}
