package presence

import (
	"testing"

	"ringbox/firmware/events"
)

func TestBeginEnd(t *testing.T) {
	bus := events.New()
	sub := bus.Subscribe(10, nil)
	p := New(bus)
	end1 := p.Begin("ext:101", "agent:bob")
	end2 := p.Begin("ext:101")
	if !p.Busy("agent:bob") || !p.Busy("x", "ext:101") || p.Busy("ext:102") {
		t.Fatalf("busy state wrong: %v", p.Snapshot())
	}
	end1()
	end1() // twice is harmless
	if !p.Busy("ext:101") || p.Busy("agent:bob") {
		t.Errorf("after one call ended: %v", p.Snapshot())
	}
	end2()
	if len(p.Snapshot()) != 0 {
		t.Errorf("after all calls ended: %v", p.Snapshot())
	}
	// busy ext, busy agent, free agent, free ext
	if n := len(sub.C()); n != 4 {
		t.Errorf("%d presence events, want 4", n)
	}
}
