// Package events is the typed in-process event bus.
//
// Every kind of event is one Go type implementing [Payload] (types.go);
// subscribers filter on the type name and switch on the Go type.
//
// Publishers never block: every subscriber has its own bounded buffer, and a
// subscriber that falls behind loses events (counted in [Sub.Dropped] and in
// [Bus.Dropped]) rather than slowing calls down. Writers that must see every
// event (the CDR, queue log) are not subscribers; they are called directly by
// their owners. The bus feeds the web's live stream, the LEDs and metrics.
//
// # Usage
//
//	bus.Publish(events.AgentState{Agent: "bob", State: "on_call", From: "offered"})
//
//	sub := bus.Subscribe(64, events.Filter("agent."))
//	defer sub.Close()
//	for ev := range sub.C() {
//		switch p := ev.Data.(type) {
//		case events.AgentState: ...
//		}
//	}
package events

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one thing that happened. Type is Data's dotted name
// ("call.started", "agent.state", "config.changed").
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	Data Payload   `json:"data"`
}

// Bus fans events out to subscribers.
type Bus struct {
	seq     atomic.Uint64
	dropped atomic.Uint64

	mu   sync.Mutex // protects following
	subs map[*Sub]struct{}
}

// New returns an empty bus.
func New() *Bus { return &Bus{subs: make(map[*Sub]struct{})} }

// Sub is one subscription.
type Sub struct {
	bus     *Bus
	c       chan Event
	match   func(string) bool
	dropped atomic.Uint64
	once    sync.Once
}

// Filter matches event types that start with any of the prefixes; no
// prefix matches everything.
func Filter(prefixes ...string) func(string) bool {
	if len(prefixes) == 0 {
		return nil
	}
	return func(t string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(t, p) {
				return true
			}
		}
		return false
	}
}

// Subscribe returns a subscription buffering up to buf events; match (nil
// for all) selects event types.
func (b *Bus) Subscribe(buf int, match func(string) bool) *Sub {
	if buf < 1 {
		buf = 1
	}
	s := &Sub{bus: b, c: make(chan Event, buf), match: match}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// C delivers the events. It is closed by Close.
func (s *Sub) C() <-chan Event { return s.c }

// Dropped is how many events this subscriber lost by falling behind.
func (s *Sub) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Sub) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		close(s.c)
		s.bus.mu.Unlock()
	})
}

// Publish sends p to every matching subscriber without blocking, and
// returns the event as sent.
func (b *Bus) Publish(p Payload) Event {
	typ := p.Type()
	ev := Event{Seq: b.seq.Add(1), Time: time.Now(), Type: typ, Data: p}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.match != nil && !s.match(typ) {
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.dropped.Add(1)
			b.dropped.Add(1)
		}
	}
	return ev
}

// Dropped is how many deliveries were lost over all subscribers.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

// Published is how many events have been published.
func (b *Bus) Published() uint64 { return b.seq.Load() }
