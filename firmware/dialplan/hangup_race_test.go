package dialplan

import (
	"context"
	"testing"
	"testing/synctest"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

// answersAnyway is a trunk leg whose far end answers at the moment the
// ringing is stopped: its Answer returns the answer once farAnswers is
// closed, whatever its context says. A SIP leg does the same when its 200
// and the end of the ringing come together (Answer's select may take
// either), which is what a ring group ringing several mobiles at once
// meets on every call: they all answer together and the losers are hung
// up at that moment.
type answersAnyway struct {
	*calltest.Leg
	farAnswers chan struct{}
}

func (l answersAnyway) Answer(ctx context.Context) error {
	<-l.farAnswers
	return nil
}

type oneLeg struct{ leg answersAnyway }

func (d oneLeg) Dial(context.Context, call.Target) (call.Leg, error) { return d.leg, nil }

// TestHangupAsTheTrunkAnswers: a route hung up while its trunk leg rings
// ends that trunk leg even when the far end answers at that moment. Before
// the fix the route saw the answer after its Hangup had only stopped the
// ringing, took the call as answered and nobody hung the trunk leg up: in
// the soak test each such ring group loser kept its SIP dialog, two RTP
// sockets and its goroutines for good.
func TestHangupAsTheTrunkAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		trunk := answersAnyway{Leg: calltest.NewLeg("mobile"), farAnswers: make(chan struct{})}
		r, _ := router(t, oneLeg{trunk})
		leg, err := r.Dial(t.Context(), call.Target{Kind: call.TargetExternal, Number: "+12125550199", Class: site.PermNational})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the route waits for the trunk's answer
		leg.Hangup(call.AnsweredElsewhere)
		close(trunk.farAnswers)
		synctest.Wait()
		if ended, c, _ := trunk.Ended(); !ended || c != call.AnsweredElsewhere {
			t.Fatalf("trunk leg: ended %v with %v, want hung up as answered elsewhere", ended, c)
		}
		select {
		case <-leg.Done():
		default:
			t.Fatal("the route is still up")
		}
		if c := call.CauseOf(leg.Err()); c != call.AnsweredElsewhere {
			t.Errorf("route ended with %v, want answered elsewhere", c)
		}
	})
}
