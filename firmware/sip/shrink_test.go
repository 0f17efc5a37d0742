package sip

import (
	"fmt"
	"testing"
)

// After a burst the dialog and leg maps are rebuilt at the size the quiet
// box needs: Go maps never give back the buckets of their largest size.
func TestMapsShrinkAfterBurst(t *testing.T) {
	s, err := New(Config{ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	const burst = 5000
	legs := make([]*Leg, burst)
	s.mu.Lock()
	for i := range legs {
		legs[i] = &Leg{}
		s.legs[legs[i]] = struct{}{}
		s.dialogs[fmt.Sprint("dialog-", i)] = legs[i]
		s.peak = max(s.peak, len(s.legs), len(s.dialogs))
	}
	// Calls end one by one; three stay up.
	for i := range burst - 3 {
		delete(s.legs, legs[i])
		delete(s.dialogs, fmt.Sprint("dialog-", i))
		s.shrinkLocked()
	}
	defer s.mu.Unlock()
	if s.peak > burst/8 {
		t.Errorf("after the burst the maps are still sized for %d entries, want at most %d", s.peak, burst/8)
	}
	if len(s.legs) != 3 || len(s.dialogs) != 3 {
		t.Fatalf("rebuilding lost calls in progress: %d legs, %d dialogs, want 3 and 3", len(s.legs), len(s.dialogs))
	}
	for i := burst - 3; i < burst; i++ {
		if s.dialogs[fmt.Sprint("dialog-", i)] != legs[i] {
			t.Errorf("dialog-%d no longer finds its leg", i)
		}
	}
}
