package presence

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/events"
)

// lampLog records what Notify was told, with the lamp then and when.
type lampLog struct {
	mu    sync.Mutex
	l     *Lamps
	start time.Time
	got   []lampChange
}

type lampChange struct {
	res  string
	lamp Lamp
	at   time.Duration
}

func (g *lampLog) notify(res string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got = append(g.got, lampChange{res, g.l.Lamp(context.Background(), res), time.Since(g.start)})
}

func (g *lampLog) take() []lampChange {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.got
	g.got = nil
	return out
}

// startLamps runs Lamps on a fresh bus and tracker inside a synctest
// bubble.
func startLamps(t *testing.T, l *Lamps) *lampLog {
	t.Helper()
	l.Bus = events.New()
	l.Tracker = New(l.Bus)
	g := &lampLog{l: l, start: time.Now()}
	l.Notify = g.notify
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	synctest.Wait()
	return g
}

func TestLampsExtension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &Lamps{}
		g := startLamps(t, l)
		tr := l.Tracker

		// Ringing shows at once.
		endRing := tr.Begin(RingingExtPrefix + "102")
		synctest.Wait()
		if got := g.take(); !slices.Equal(got, []lampChange{{"ext:102", LampRinging, 0}}) {
			t.Fatalf("ring: %v, want ext:102 ringing at once", got)
		}
		// Answered: the ringing mark ends a moment before the call's;
		// the lamp goes straight to busy, never off.
		time.Sleep(5 * time.Second)
		endRing()
		synctest.Wait()
		time.Sleep(time.Millisecond)
		endCall := tr.Begin("ext:102", "agent:bob")
		synctest.Wait()
		time.Sleep(time.Second)
		if got := g.take(); !slices.Equal(got, []lampChange{{"ext:102", LampBusy, 5*time.Second + time.Millisecond}}) {
			t.Fatalf("answer: %v, want ext:102 busy at 5.001s and nothing else", got)
		}
		// Hung up: off once settled, exactly DefaultSettle later.
		endCall()
		synctest.Wait()
		time.Sleep(time.Second)
		want := []lampChange{{"ext:102", LampOff, 6*time.Second + time.Millisecond + DefaultSettle}}
		if got := g.take(); !slices.Equal(got, want) {
			t.Fatalf("hang-up: %v, want %v", got, want)
		}
		// Placing a call shows busy; the other keys do not light lamps.
		tr.Begin(CallingExtPrefix+"101", "mobile:+15550001", "ringing:agent:bob")
		synctest.Wait()
		if got := g.take(); len(got) != 1 || got[0].res != "ext:101" || got[0].lamp != LampBusy {
			t.Fatalf("calling: %v, want ext:101 busy alone", got)
		}
	})
}

func TestLampsAgentAndQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		agents := map[string]Lamp{}
		waiting := map[string]Lamp{}
		l := &Lamps{
			Agent: func(_ context.Context, id string) (Lamp, error) {
				mu.Lock()
				defer mu.Unlock()
				return agents[id], nil
			},
			Queue: func(_ context.Context, id string) (Lamp, error) {
				mu.Lock()
				defer mu.Unlock()
				return waiting[id], nil
			},
		}
		g := startLamps(t, l)
		set := func(m map[string]Lamp, id string, s Lamp) {
			mu.Lock()
			m[id] = s
			mu.Unlock()
		}

		set(agents, "bob", LampBusy)
		l.Bus.Publish(events.AgentStatus{Agent: "bob", Status: "available", From: "logged_out"})
		synctest.Wait()
		set(agents, "bob", LampRinging)
		l.Bus.Publish(events.AgentState{Agent: "bob", State: "offered", From: "idle"})
		synctest.Wait()
		l.Bus.Publish(events.AgentState{Agent: "bob", State: "offered", From: "offered"}) // no change
		synctest.Wait()
		want := []lampChange{{"agent:bob", LampBusy, 0}, {"agent:bob", LampRinging, 0}}
		if got := g.take(); !slices.Equal(got, want) {
			t.Fatalf("agent: %v, want %v", got, want)
		}

		// A caller waits; past the service level (no event) the lamp
		// blinks, found by the tick within a second.
		set(waiting, "sales", LampBusy)
		l.Bus.Publish(events.QueueCaller{Queue: "sales", Event: "joined"})
		synctest.Wait()
		time.Sleep(20*time.Second + 500*time.Millisecond)
		set(waiting, "sales", LampRinging)
		time.Sleep(time.Second)
		set(waiting, "sales", LampOff)
		l.Bus.Publish(events.QueueCaller{Queue: "sales", Event: "connected"})
		synctest.Wait()
		want = []lampChange{{"queue:sales", LampBusy, 0}, {"queue:sales", LampRinging, 21 * time.Second}, {"queue:sales", LampOff, 21*time.Second + 500*time.Millisecond}}
		if got := g.take(); !slices.Equal(got, want) {
			t.Fatalf("queue: %v, want %v", got, want)
		}
		// Nobody waits: no more ticks asking.
		time.Sleep(time.Minute)
		if got := g.take(); len(got) != 0 {
			t.Errorf("idle queue: %v, want nothing", got)
		}
	})
}

// A ringing lamp shows the caller that has rung longest, the one a
// pickup takes.
func TestRingingCaller(t *testing.T) {
	l := &Lamps{Tracker: New(nil)}
	if _, ok := l.RingingCaller("102"); ok {
		t.Fatal("a caller before anything rings")
	}
	endAnn := l.Tracker.BeginCaller(RingingExtPrefix+"102", Caller{Number: "+15551230000", Name: "Ann"})
	endBob := l.Tracker.BeginCaller(RingingExtPrefix+"102", Caller{Number: "101", Name: "Bob"})
	if c, _ := l.RingingCaller("102"); c.Name != "Ann" {
		t.Errorf("two ring 102: caller %+v, want Ann (the first)", c)
	}
	if got := l.Lamp(t.Context(), "ext:102"); got != LampRinging {
		t.Errorf("lamp %v, want ringing", got)
	}
	endAnn()
	endAnn() // twice is once
	if c, _ := l.RingingCaller("102"); c.Name != "Bob" {
		t.Errorf("Ann stopped: caller %+v, want Bob", c)
	}
	endBob()
	if c, ok := l.RingingCaller("102"); ok || l.Tracker.Busy(RingingExtPrefix+"102") {
		t.Errorf("nobody rings: caller %+v and the mark is still there", c)
	}
}
