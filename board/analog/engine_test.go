package analog

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/fsk"
	"ringbox/audio/tone"
	"ringbox/board/sim"
	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// rig is an engine on a sim board with two FXS ports (fxs:1 is extension
// 201, fxs:2 extension 202) and one FXO line (trunk pstn), whose calls are
// recorded instead of routed.
type rig struct {
	t     *testing.T
	b     *sim.Board
	e     *Engine
	site  *site.Site
	calls chan placed
	bus   *events.Bus
	stop  context.CancelFunc
	done  chan struct{}
}

type placed struct {
	leg  call.Leg
	info CallInfo
}

func testSite(zone string) *site.Site {
	return &site.Site{
		System:     site.System{ToneZone: zone},
		Extensions: []site.Extension{{Number: "101", Name: "Bob"}, {Number: "201", Name: "Front desk"}, {Number: "202", Name: "Kitchen"}},
		Lines:      []site.Line{{Port: "fxs:1", Extension: "201"}, {Port: "fxs:2", Extension: "202", CallWaiting: true}},
		Trunks:     []site.Trunk{{ID: "carrier", Host: "sip.example"}, {ID: "pstn", FXO: 1}},
		Outbound:   []site.OutboundRoute{{Pattern: "911", Trunks: []string{"pstn"}, Emergency: true}, {Pattern: "9.", Strip: 1, Trunks: []string{"pstn"}}},
	}
}

// newRig must run inside a synctest bubble.
func newRig(t *testing.T, zone string) *rig {
	r := &rig{t: t, site: testSite(zone), calls: make(chan placed, 8), bus: events.New(), done: make(chan struct{})}
	r.b = sim.New(sim.Options{FXS: 2, FXO: 1, Zone: zone})
	r.e = New(Config{
		Ports: r.b.Lines(),
		Site:  func() *site.Site { return r.site },
		Bus:   r.bus,
		Handle: func(ctx context.Context, in call.Leg, info CallInfo) {
			r.calls <- placed{in, info}
			<-in.Done()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() {
		defer close(r.done)
		r.e.Run(ctx)
	}()
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.stop()
	<-r.done
	r.b.Close()
}

func (r *rig) call(d time.Duration) placed {
	r.t.Helper()
	select {
	case p := <-r.calls:
		return p
	case <-time.After(d):
		r.t.Fatalf("no call placed within %v", d)
		return placed{}
	}
}

func (r *rig) line(port string) LineInfo {
	for _, l := range r.e.Lines() {
		if l.Port == port {
			return l
		}
	}
	r.t.Fatalf("no line %s", port)
	return LineInfo{}
}

// power is the Goertzel power of hz in pcm, relative to the total.
func power(pcm []int16, hz float64) float64 {
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s := x + k*s1 - s2
		s2, s1 = s1, s
		total += x * x
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	if total == 0 {
		return 0
	}
	return p / (total * float64(len(pcm)) / 2)
}

// hearsSome reports whether some 100 ms of pcm is the tone hz (a
// cadenced tone: busy, congestion).
func hearsSome(pcm []int16, hz ...float64) bool {
	for i := 0; i+800 <= len(pcm); i += 400 {
		if hears(pcm[i:i+800], hz...) {
			return true
		}
	}
	return false
}

func hears(pcm []int16, hz ...float64) bool {
	sum := 0.0
	for _, f := range hz {
		sum += power(pcm, f)
	}
	return len(pcm) > 0 && sum > 0.8
}

func TestFXSDialToneThenDigits(t *testing.T) {
	for _, mode := range []string{"dtmf", "pulse"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, "us")
				ph := r.b.Phone(1)
				ph.Lift()
				time.Sleep(500 * time.Millisecond)
				if got := r.line("fxs:1").State; got != StateDialTone {
					t.Fatalf("off hook: state %s, want dial_tone", got)
				}
				if h := ph.Heard(300 * time.Millisecond); !hears(h, 350, 440) {
					t.Fatal("the phone does not hear the us dial tone (350+440 Hz)")
				}
				var err error
				if mode == "dtmf" {
					err = ph.DialDTMF("101")
				} else {
					err = ph.DialPulse("101")
				}
				if err != nil {
					t.Fatal(err)
				}
				p := r.call(2 * time.Second)
				if p.info.To != "101" || p.info.Extension != "201" || p.info.From.Number != "201" || p.info.From.Name != "Front desk" {
					t.Fatalf("call placed %+v, want 201 (Front desk) calling 101", p.info)
				}
				if h := ph.Heard(100 * time.Millisecond); hears(h, 350, 440) {
					t.Error("dial tone still plays after dialling")
				}
				// The far end hangs up: busy tone after the CPC break.
				p.leg.Hangup(call.Normal)
				time.Sleep(time.Second)
				if got := r.line("fxs:1").State; got != StateBusy {
					t.Fatalf("after the far end hung up: state %s, want busy", got)
				}
				if h := ph.Heard(time.Second); !hearsSome(h, 480, 620) {
					t.Error("no busy tone (480+620 Hz) after the far end hung up")
				}
				ph.Hang()
				time.Sleep(2 * time.Second)
				if got := r.line("fxs:1").State; got != StateIdle {
					t.Errorf("on hook: state %s, want idle", got)
				}
			})
		})
	}
}

func TestFXSInterDigitTimeoutAndHash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "de")
		ph := r.b.Phone(1)
		ph.Lift()
		time.Sleep(300 * time.Millisecond)
		if h := ph.Heard(200 * time.Millisecond); !hears(h, 425) {
			t.Fatal("no de dial tone (425 Hz)")
		}
		// 9. takes any number of digits: dialled after the inter-digit time.
		if err := ph.DialDTMF("955512"); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-r.calls:
			t.Fatalf("dialled %q before the inter-digit timeout", p.info.To)
		case <-time.After(3 * time.Second):
		}
		p := r.call(2 * time.Second)
		if p.info.To != "955512" {
			t.Fatalf("dialled %q", p.info.To)
		}
		p.leg.Hangup(call.Normal)
		ph.Hang()
		time.Sleep(2 * time.Second)
		// '#' ends dialling at once.
		ph.Lift()
		time.Sleep(300 * time.Millisecond)
		if err := ph.DialDTMF("9555#"); err != nil {
			t.Fatal(err)
		}
		if p := r.call(500 * time.Millisecond); p.info.To != "9555" {
			t.Fatalf("dialled %q, want 9555", p.info.To)
		}
	})
}

func TestFXSNoDigitsCongestion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		ph := r.b.Phone(1)
		ph.Lift()
		time.Sleep(16 * time.Second)
		if got := r.line("fxs:1").State; got != StateBusy {
			t.Fatalf("off hook 16 s without dialling: %s, want busy", got)
		}
		if h := ph.Heard(time.Second); !hearsSome(h, 480, 620) {
			t.Error("no congestion tone")
		}
	})
}

func TestFXSRingsWithCadence(t *testing.T) {
	for _, zone := range []string{"us", "uk", "de"} {
		t.Run(zone, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, zone)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				d := r.e.Dialer(nil)
				leg, err := d.Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "201", From: call.Party{Number: "+15551234567", Name: "Alice"}})
				if err != nil {
					t.Fatal(err)
				}
				set, _ := tone.Zone(zone)
				cad := set.RingCadence()
				var cycle time.Duration
				for _, c := range cad {
					cycle += c
				}
				time.Sleep(2*cycle + 100*time.Millisecond)
				ph := r.b.Phone(1)
				log := ph.RingLog()
				if len(log) < 2*len(cad) {
					t.Fatalf("%d ring edges in two cycles, want %d", len(log), 2*len(cad))
				}
				for i := 1; i < 2*len(cad); i++ {
					got := log[i].At.Sub(log[i-1].At)
					if want := cad[(i-1)%len(cad)]; got != want {
						t.Errorf("ring edge %d after %v, want %v (cadence %v)", i, got, want, cad)
					}
				}
				// Caller ID was sent on hook between rings.
				m, err := fsk.Decode(nil)
				_ = m
				_ = err
				ph.Lift()
				ansCtx, c2 := context.WithTimeout(context.Background(), time.Second)
				defer c2()
				if err := leg.Answer(ansCtx); err != nil {
					t.Fatalf("lifting the phone did not answer: %v", err)
				}
				if ph.Ringing() {
					t.Error("still ringing after the phone was lifted")
				}
				if got := r.line("fxs:1").State; got != StateTalking {
					t.Errorf("state %s, want talking", got)
				}
			})
		})
	}
}

func TestFXSBusyWithoutCallWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		r.b.Phone(1).Lift()
		time.Sleep(200 * time.Millisecond)
		_, err := r.e.Dialer(nil).Dial(context.Background(), call.Target{Kind: call.TargetFXS, Number: "1"})
		if call.CauseOf(err) != call.Busy {
			t.Fatalf("ringing an off-hook port: %v, want busy", err)
		}
		_, err = r.e.Dialer(nil).Dial(context.Background(), call.Target{Kind: call.TargetFXS, Number: "7"})
		if call.CauseOf(err) != call.NotFound {
			t.Fatalf("ringing a port the board lacks: %v, want not found", err)
		}
	})
}

// A board without analog ports still runs until it is stopped: serve takes
// a subsystem returning as the box failing.
func TestRunWithoutPortsWaitsForStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Config{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		time.Sleep(time.Hour)
		select {
		case <-done:
			t.Fatal("Run returned with no ports before it was stopped")
		default:
		}
		cancel()
		<-done
	})
}

// A port the site names that the board lacks is listed as missing, and
// ringing it fails at once.
func TestMissingPortsAreListed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		r.site.Lines = append(r.site.Lines, site.Line{Port: "fxs:5", Extension: "101"})
		r.site.Trunks = append(r.site.Trunks, site.Trunk{ID: "pstn2", FXO: 3})
		got := map[string]LineInfo{}
		for _, l := range r.e.Lines() {
			got[l.Port] = l
		}
		if l := got["fxs:5"]; l.Health != HealthMissing || l.Extension != "101" {
			t.Errorf("fxs:5 = %+v, want missing for extension 101", l)
		}
		if l := got["fxo:3"]; l.Health != HealthMissing || l.Trunk != "pstn2" {
			t.Errorf("fxo:3 = %+v, want missing for trunk pstn2", l)
		}
		if l := got["fxs:1"]; l.Health != HealthOK || l.Extension != "201" {
			t.Errorf("fxs:1 = %+v", l)
		}
		if _, err := r.e.Dialer(nil).Dial(context.Background(), call.Target{Kind: call.TargetExtension, Number: "101"}); call.CauseOf(err) != call.Unavailable {
			t.Errorf("ringing an extension whose port is missing: %v, want unavailable", err)
		}
		if _, err := r.e.Dialer(nil).Dial(context.Background(), call.Target{Kind: call.TargetTrunk, Trunk: "pstn2", Number: "911"}); call.CauseOf(err) != call.Congestion {
			t.Errorf("dialling out on a missing FXO port: %v, want congestion (next trunk)", err)
		}
	})
}
