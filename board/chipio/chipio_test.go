package chipio

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/board/line"
)

func TestDebounce(t *testing.T) {
	var d Debounce
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	if ch, _ := d.Update(true, ms(0), 20*time.Millisecond); ch {
		t.Fatal("believed at once")
	}
	if ch, _ := d.Update(false, ms(5), 20*time.Millisecond); ch || d.State {
		t.Fatal("a 5 ms glitch changed the level")
	}
	d.Update(true, ms(10), 20*time.Millisecond)
	ch, at := d.Update(true, ms(30), 20*time.Millisecond)
	if !ch || !d.State || !at.Equal(ms(10)) {
		t.Fatalf("held 20 ms: changed %v at %v, state %v; want true at 10 ms", ch, at, d.State)
	}
	d.Force(false)
	if d.State {
		t.Fatal("Force did not set the level")
	}
}

func TestEventsNeverBlockAndCountDrops(t *testing.T) {
	e := NewEvents(2)
	for range 5 {
		e.Send(line.Event{Type: line.OffHook})
	}
	<-e.C()
	<-e.C()
	e.Send(line.Event{Type: line.OnHook})
	if ev := <-e.C(); ev.Type != line.Fault || !strings.Contains(ev.Detail, "3 events dropped") {
		t.Fatalf("after drops: %+v, want a fault naming 3 dropped", ev)
	}
	if ev := <-e.C(); ev.Type != line.OnHook {
		t.Fatalf("then %+v, want the on-hook", ev)
	}
	e.Close()
	e.Close()
	e.Send(line.Event{Type: line.OffHook}) // no panic after close
	if _, ok := <-e.C(); ok || !e.Closed() {
		t.Fatal("channel not closed")
	}
}

func TestPollerStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		p := Poll(5*time.Millisecond, func(time.Time) { n++ })
		time.Sleep(52 * time.Millisecond)
		if !p.Stop() || p.Stop() {
			t.Error("Stop reports stopping on the first call only")
		}
		if n != 10 {
			t.Errorf("%d polls in 52 ms at 5 ms, want 10", n)
		}
	})
}
