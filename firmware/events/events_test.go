package events

import (
	"testing"
	"time"
)

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := New()
	slow := b.Subscribe(2, nil)
	defer slow.Close()
	fast := b.Subscribe(100, Filter("agent."))
	defer fast.Close()

	done := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ {
			b.Publish(AgentState{Agent: "a", State: "idle"})
			b.Publish(CallStarted{Call: "c"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publisher blocked on a slow subscriber")
	}
	if got := slow.Dropped(); got != 18 {
		t.Errorf("slow subscriber dropped %d, want 18", got)
	}
	if got := len(fast.C()); got != 10 {
		t.Errorf("filtered subscriber got %d events, want 10 agent events", got)
	}
	if b.Dropped() != 18 || b.Published() != 20 {
		t.Errorf("bus counters dropped=%d published=%d", b.Dropped(), b.Published())
	}
	ev := <-fast.C()
	if ev.Type != "agent.state" || ev.Seq != 1 {
		t.Errorf("first event %+v", ev)
	}
}

func TestCloseEndsChannel(t *testing.T) {
	b := New()
	s := b.Subscribe(1, nil)
	s.Close()
	s.Close() // idempotent
	if _, ok := <-s.C(); ok {
		t.Error("channel open after Close")
	}
	b.Publish(BoardButton{Button: 1}) // no panic after close
}
