package analog

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/dialplan"
)

// sipTrunks stands for the SIP edge: every trunk it is asked for is down
// (call.Congestion), as a SIP trunk that answers 503 or not at all.
type sipTrunks struct {
	mu    sync.Mutex
	tried []string
}

func (s *sipTrunks) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	s.mu.Lock()
	s.tried = append(s.tried, t.Trunk)
	s.mu.Unlock()
	return nil, call.Congestion
}

func (s *sipTrunks) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tried...)
}

// An emergency call whose SIP trunk is down leaves on the FXO line, and a
// call whose FXO line is dead goes on to the SIP trunk: failover both ways
// through the outbound route's trunk list.
func TestOutboundFailoverSIPAndFXO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		r.site.Outbound[0].Trunks = []string{"carrier", "pstn"} // 911: SIP first
		sip := &sipTrunks{}
		plan, err := dialplan.NewPlan(r.site.Outbound)
		if err != nil {
			t.Fatal(err)
		}
		router := &dialplan.Router{Plan: plan, Site: r.site, Next: r.e.Dialer(sip)}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		leg, err := router.Dial(ctx, call.Target{Kind: call.TargetExternal, Number: "911", Class: "internal"})
		if err != nil {
			t.Fatalf("911 with the SIP trunk down: %v", err)
		}
		if err := leg.Answer(ctx); err != nil {
			t.Fatalf("911 on the FXO line: %v", err)
		}
		if got := sip.got(); len(got) != 1 || got[0] != "carrier" {
			t.Errorf("SIP trunks tried %v, want [carrier] first", got)
		}
		if got := r.b.Exchange(1).Dialed(); got != "911" {
			t.Errorf("the exchange got %q, want 911", got)
		}
		leg.Hangup(call.Normal)
		time.Sleep(time.Second)

		// The other way: the analog line is dead, the SIP trunk is tried next.
		r.site.Outbound[0].Trunks = []string{"pstn", "carrier"}
		plan, _ = dialplan.NewPlan(r.site.Outbound)
		router.Plan = plan
		r.b.Exchange(1).SetBattery(false)
		time.Sleep(200 * time.Millisecond)
		if _, err := router.Dial(ctx, call.Target{Kind: call.TargetExternal, Number: "911", Class: "internal"}); call.CauseOf(err) != call.Congestion {
			t.Fatalf("every trunk down: %v, want congestion", err)
		}
		if got := sip.got(); len(got) != 2 || got[1] != "carrier" {
			t.Errorf("SIP trunks tried %v, want carrier after the dead FXO line", got)
		}
	})
}
