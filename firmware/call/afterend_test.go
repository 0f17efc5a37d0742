package call_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

// ctxLeg is a leg whose end is a context's, like a SIP leg.
type ctxLeg struct {
	*calltest.Leg
	ctx context.Context
}

func (l ctxLeg) Context() context.Context { return l.ctx }

func newCtxLeg() ctxLeg {
	l := calltest.NewLeg("ctx")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-l.Done(); cancel() }()
	return ctxLeg{l, ctx}
}

func TestAfterEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		leg  func() call.Leg
	}{
		{"plain leg", func() call.Leg { return calltest.NewLeg("plain") }},
		{"leg with a context", func() call.Leg { return newCtxLeg() }},
	} {
		t.Run(tc.name+": runs once the leg ends", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := tc.leg()
				var ran atomic.Int32
				call.AfterEnd(l, func() { ran.Add(1) })
				synctest.Wait()
				if ran.Load() != 0 {
					t.Fatal("ran before the leg ended")
				}
				l.Hangup(call.Normal)
				synctest.Wait()
				if ran.Load() != 1 {
					t.Fatalf("ran %d times after the leg ended, want 1", ran.Load())
				}
			})
		})
		t.Run(tc.name+": stopped before the end, never runs", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := tc.leg()
				var ran atomic.Int32
				stop := call.AfterEnd(l, func() { ran.Add(1) })
				if !stop() {
					t.Fatal("stop before the end = false, want true")
				}
				if stop() {
					t.Fatal("second stop = true, want false")
				}
				l.Hangup(call.Normal)
				synctest.Wait()
				if ran.Load() != 0 {
					t.Fatal("ran after being stopped")
				}
			})
		})
	}
}
