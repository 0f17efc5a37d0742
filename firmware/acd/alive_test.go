package acd

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/config"
	"ringbox/firmware/events"
)

// TestAliveStopsWhenActorStuck checks the watchdog probe: the idle actor
// beats every AliveEvery, and a command that never returns stops the beats.
func TestAliveStopsWhenActorStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, err := config.New(testSite(nil), 1)
		if err != nil {
			t.Fatal(err)
		}
		var beats atomic.Int64
		e := New(Config{Config: cfg, Bus: events.New(), Store: newMemStore(), Logger: slog.New(slog.DiscardHandler),
			Alive: func() { beats.Add(1) }, AliveEvery: time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()

		time.Sleep(10*time.Second + time.Millisecond)
		if n := beats.Load(); n != 10 {
			t.Errorf("%d beats in 10s idle, want 10", n)
		}
		release := make(chan struct{})
		go e.do(context.Background(), func() { <-release }) // a stuck command
		synctest.Wait()
		before := beats.Load()
		time.Sleep(time.Minute)
		if n := beats.Load() - before; n != 0 {
			t.Errorf("%d beats while the actor was stuck, want none", n)
		}
		close(release)
		time.Sleep(2 * time.Second)
		if beats.Load() == before {
			t.Error("no beat after the actor was free again")
		}
		cancel()
		<-done
	})
}
