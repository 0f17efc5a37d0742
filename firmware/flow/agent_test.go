package flow

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

func TestAgentRingPreference(t *testing.T) {
	tests := []struct {
		pref string
		want []dialAt
	}{
		{site.RingBoth, []dialAt{{"+15550001001", 0}, {"101", 0}}},
		{site.RingExtensionThenMobile, []dialAt{{"101", 0}, {"+15550001001", 15 * time.Second}}},
		{site.RingExtensionOnly, []dialAt{{"101", 0}}},
		{site.RingMobileOnly, []dialAt{{"+15550001001", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.pref, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := officeSite()
				s.Agents[0].RingPreference = tt.pref
				o := newOffice(t, s)
				ext, mob := calltest.NewLeg("ext"), calltest.NewLeg("mobile")
				o.leg("101", ext)
				o.leg("+15550001001", mob)
				caller := calltest.NewLeg("caller")
				o.dest(t, caller, "agent:bob")
				got := o.d.log()
				sortDials(got)
				if !slices.Equal(got, tt.want) {
					t.Errorf("dials %v, want %v", got, tt.want)
				}
				// Both stop at the agent's ring time (20s here): the
				// extension keeps ringing while the mobile joins.
				for _, l := range []*calltest.Leg{ext, mob} {
					if ended, _, at := l.Ended(); ended && at.Sub(o.d.start) != 20*time.Second {
						t.Errorf("%s stopped at %v, want 20s", l, at.Sub(o.d.start))
					}
				}
				for _, d := range o.d.Dials() {
					if d.Agent != "bob" {
						t.Errorf("target %s without agent: %+v", d.Number, d)
					}
					if d.Kind == call.TargetExternal && d.Class != site.PermInternational {
						t.Errorf("mobile dialled with class %q", d.Class)
					}
				}
			})
		})
	}
}

func TestAgentOffHoursNotRung(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at 2000-01-01 00:00 UTC: Friday 19:00 in New
		// York, outside Nina's 09:00-17:00 (and inside them in UTC terms
		// of no zone at all, had the zone been forgotten).
		o := newOffice(t, nil)
		o.silent("108")
		caller := calltest.NewLeg("caller")
		if c := o.dest(t, caller, "agent:nina"); c != call.Unavailable {
			t.Errorf("off-hours agent: %v, want unavailable", c)
		}
		if d := o.d.log(); len(d) != 0 {
			t.Errorf("dialled %v", d)
		}
	})
}

func TestAgentOnACallNotRung(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		defer o.pres.Begin("mobile:+15550001001")() // Bob is on his mobile
		o.silent("101", "+15550001001")
		caller := calltest.NewLeg("caller")
		o.dest(t, caller, "agent:bob")
		if d := o.d.log(); len(d) != 0 {
			t.Errorf("dialled %v", d)
		}
		// Unavailable: on to Bob's mailbox.
		if r := o.cdr.last(t); !slices.Equal(r.Path, []string{"agent:bob", "voicemail:101"}) {
			t.Errorf("path %v", r.Path)
		}
	})
}

func TestOutboundCallMarksCallingExtension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.leg("+15557654321", calltest.NewLeg("far", calltest.AnswerAfter(time.Second)))
		caller := calltest.NewLeg("steve")
		time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
		var during bool
		done := make(chan struct{})
		time.AfterFunc(5*time.Second, func() {
			during = o.pres.Busy("ext:102") && o.pres.Busy("agent:steve")
			close(done)
		})
		o.e.Handle(t.Context(), caller, Inbound{CallID: "out1", To: "+15557654321", Extension: "102"})
		<-done
		if !during {
			t.Error("calling extension and its agent not marked on a call")
		}
	})
}

func TestAnnouncementThenRecordedBridge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		rb := &calltest.RecordingBridger{}
		o.e.Bridger = rb
		o.e.RecordingsDir = t.TempDir()
		o.prompts.lens["recording-notice"] = 4 * time.Second
		o.leg("102", calltest.NewLeg("steve", calltest.AnswerAfter(2*time.Second)))
		caller := calltest.NewLeg("caller")
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		o.inbound(t, caller, "+15551230001")

		if got := o.d.log(); len(got) != 1 || got[0] != (dialAt{"102", 4 * time.Second}) {
			t.Errorf("dials %v, want 102 after the 4 s announcement", got)
		}
		paths := rb.Paths()
		if len(paths) != 1 || !strings.HasPrefix(paths[0], o.e.RecordingsDir+string(filepath.Separator)) || !strings.HasSuffix(paths[0], ".wav") {
			t.Fatalf("recorded to %v, want one WAV under %s", paths, o.e.RecordingsDir)
		}
		r := o.cdr.last(t)
		if r.Recording != paths[0] {
			t.Errorf("CDR recording %q, want %q", r.Recording, paths[0])
		}
		if !slices.Equal(r.Path, []string{"announce:recorded", "extension:102"}) {
			t.Errorf("path %v", r.Path)
		}
		if p := o.prompts.asked(); len(p) == 0 || p[0] != "recording-notice" {
			t.Errorf("prompts %v", p)
		}
	})
}

func TestNoRecordingWithoutAnnouncement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		rb := &calltest.RecordingBridger{}
		o.e.Bridger = rb
		o.e.RecordingsDir = t.TempDir()
		o.leg("102", calltest.NewLeg("steve", calltest.AnswerAfter(2*time.Second)))
		caller := calltest.NewLeg("caller")
		time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "extension:102")
		if p := rb.Paths(); len(p) != 0 {
			t.Errorf("recorded %v", p)
		}
		if r := o.cdr.last(t); r.Recording != "" {
			t.Errorf("CDR recording %q", r.Recording)
		}
	})
}

type queueStub struct{ got QueueCall }

func (q *queueStub) RunQueue(ctx context.Context, qc QueueCall) QueueResult {
	q.got = qc
	return QueueResult{Next: "extension:107", Cause: call.Normal}
}

func TestQueueDestination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		caller := calltest.NewLeg("caller")
		if c := o.dest(t, caller, "queue:service"); c != call.Unavailable {
			t.Errorf("queue without a runner: %v, want unavailable", c)
		}
		q := &queueStub{}
		o.e.Queues = q
		o.leg("107", calltest.NewLeg("lobby", calltest.AnswerAfter(time.Second)))
		caller = calltest.NewLeg("caller2")
		time.AfterFunc(5*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "queue:service")
		if q.got.Queue != "service" || q.got.Caller != caller || !slices.Equal(q.got.Path, []string{"queue:service"}) {
			t.Errorf("queue got %+v", q.got)
		}
		if r := o.cdr.last(t); !slices.Equal(r.Path, []string{"queue:service", "extension:107"}) {
			t.Errorf("path %v, want the queue's next destination followed", r.Path)
		}
	})
}

func TestRecordingFailureIsAnEventAndTheCallGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		bus := events.New()
		o.e.Bus = bus
		sub := bus.Subscribe(64, events.Filter("recording."))
		rb := &calltest.RecordingBridger{Fail: errors.New("write recording: no space left on device")}
		o.e.Bridger = rb
		o.e.RecordingsDir = t.TempDir()
		o.leg("102", calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)))
		caller := calltest.NewLeg("caller")
		time.AfterFunc(30*time.Second, func() { caller.Hangup(call.Normal) })
		start := time.Now()
		o.inbound(t, caller, "+15551230001")
		if d := time.Since(start); d < 30*time.Second {
			t.Errorf("call ended after %v; a recording failure must not end it", d)
		}
		select {
		case ev := <-sub.C():
			if p, ok := ev.Data.(events.RecordingStopped); !ok || !strings.Contains(p.Reason, "no space") {
				t.Errorf("event %+v does not say why", ev)
			}
		default:
			t.Error("no recording.stopped event")
		}
	})
}
