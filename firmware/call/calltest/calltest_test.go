package calltest

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
)

func TestOutboundAnswersAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := NewDialer()
		d.Add("101", func() *Leg { return NewLeg("bob", AnswerAfter(5*time.Second)) })
		start := time.Now()
		leg, err := d.Dial(t.Context(), call.Target{Kind: call.TargetExtension, Number: "101"})
		if err != nil {
			t.Fatal(err)
		}
		if err := leg.Answer(t.Context()); err != nil {
			t.Fatalf("Answer: %v", err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("answered after %v, want 5s", got)
		}
	})
}

func TestCancelledByContextCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := NewDialer()
		d.Add("102", func() *Leg { return NewLeg("sue") }) // never answers
		ctx, cancel := context.WithCancelCause(t.Context())
		leg, _ := d.Dial(ctx, call.Target{Number: "102"})
		time.AfterFunc(3*time.Second, func() { cancel(call.AnsweredElsewhere) })
		if err := leg.Answer(ctx); call.CauseOf(err) != call.AnsweredElsewhere {
			t.Errorf("Answer = %v, want answered elsewhere", err)
		}
		synctest.Wait()
		if got := leg.(*Leg).HangupCause(); got != call.AnsweredElsewhere {
			t.Errorf("hung up with %v, want answered elsewhere", got)
		}
	})
}

func TestRejectAndUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := NewDialer()
		d.Add("103", func() *Leg { return NewLeg("busy", RejectAfter(time.Second, call.Busy)) })
		leg, _ := d.Dial(t.Context(), call.Target{Number: "103"})
		if err := leg.Answer(t.Context()); err != call.Busy {
			t.Errorf("Answer = %v, want busy", err)
		}
		if _, err := d.Dial(t.Context(), call.Target{Number: "999"}); err != call.NotFound {
			t.Errorf("Dial unknown = %v, want not found", err)
		}
	})
}

type frames int

func (f *frames) ReadFrame(p []int16) bool {
	if *f == 0 {
		return false
	}
	*f--
	return true
}

func TestPlayBargeIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLeg("caller")
		l.Answer(t.Context())
		l.PressAfter(100*time.Millisecond, "1")
		src := frames(500)
		start := time.Now()
		l.Media().Play(t.Context(), &src, true)
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("barge-in took %v", d)
		}
		if k := <-l.Media().Digits(); k.Key != '1' {
			t.Errorf("digit %q, want 1", k.Key)
		}
	})
}
