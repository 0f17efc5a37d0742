// Package presence tracks who is on a call right now: extensions, agents
// and the mobiles the box rang. Ring groups, hunt groups and the ACD ask it
// so that nobody already on a call (queue or not, desk or mobile) is rung
// again.
//
// Keys are strings: "ext:101", "agent:bob", "mobile:+15550001001"; the
// busy lamps also read "ringing:ext:101" and "calling:ext:101".
//
// [Lamps] (lamps.go) turns these marks and the ACD's events into what
// phones' BLF keys show.
package presence

import (
	"sync"

	"ringbox/firmware/events"
)

// Tracker counts calls per key. The zero value is not usable; use New.
type Tracker struct {
	bus *events.Bus // may be nil

	mu      sync.Mutex // protects following
	calls   map[string]int
	callers map[string][]*Caller // key -> callers noted by BeginCaller, oldest first
}

// Caller is who calls, as the rung phone shows them.
type Caller struct{ Number, Name string }

// New returns a tracker publishing "presence.changed" events on bus (nil:
// none).
func New(bus *events.Bus) *Tracker {
	return &Tracker{bus: bus, calls: map[string]int{}, callers: map[string][]*Caller{}}
}

// BeginCaller is Begin of one key, noting who calls while it lasts: a
// ringing phone's busy lamp shows the caller.
func (t *Tracker) BeginCaller(key string, c Caller) (end func()) {
	n := &c
	t.mu.Lock()
	t.callers[key] = append(t.callers[key], n)
	t.mu.Unlock()
	endKey := t.Begin(key)
	return sync.OnceFunc(func() {
		t.mu.Lock()
		cs := t.callers[key]
		for i := range cs {
			if cs[i] == n {
				cs = append(cs[:i:i], cs[i+1:]...)
				break
			}
		}
		if len(cs) == 0 {
			delete(t.callers, key)
		} else {
			t.callers[key] = cs
		}
		t.mu.Unlock()
		endKey()
	})
}

// Caller is the caller noted longest ago for key by BeginCaller and not
// ended yet.
func (t *Tracker) Caller(key string) (Caller, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cs := t.callers[key]; len(cs) > 0 {
		return *cs[0], true
	}
	return Caller{}, false
}

// Begin marks keys as on a call and returns the function that ends it; the
// function is safe to call more than once.
func (t *Tracker) Begin(keys ...string) (end func()) {
	t.mu.Lock()
	for _, k := range keys {
		t.calls[k]++
		if t.calls[k] == 1 {
			t.publishLocked(k, true)
		}
	}
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			for _, k := range keys {
				t.calls[k]--
				if t.calls[k] <= 0 {
					delete(t.calls, k)
					t.publishLocked(k, false)
				}
			}
		})
	}
}

func (t *Tracker) publishLocked(key string, busy bool) {
	if t.bus != nil {
		t.bus.Publish(events.PresenceChanged{Key: key, OnCall: busy})
	}
}

// Busy reports whether any of keys is on a call.
func (t *Tracker) Busy(keys ...string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if t.calls[k] > 0 {
			return true
		}
	}
	return false
}

// Snapshot lists the keys on a call with their call counts.
func (t *Tracker) Snapshot() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.calls))
	for k, v := range t.calls {
		out[k] = v
	}
	return out
}
