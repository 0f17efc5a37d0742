package web

import (
	"slices"
	"testing"
	"time"
)

// A burst of failures logs the first few, then one line a second naming
// how many were left out.
func TestLogLimit(t *testing.T) {
	l := &logLimit{burst: 3, every: time.Second}
	t0 := time.Unix(1000, 0)
	var got []bool
	for i := range 5 {
		_, ok := l.allow(t0.Add(time.Duration(i) * time.Millisecond))
		got = append(got, ok)
	}
	if want := []bool{true, true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("burst = %v, want %v", got, want)
	}
	n, ok := l.allow(t0.Add(1100 * time.Millisecond))
	if !ok || n != 2 {
		t.Errorf("a second later = %d, %v; want logged, naming 2 left out", n, ok)
	}
	if _, ok := l.allow(t0.Add(1200 * time.Millisecond)); ok {
		t.Error("a second line within the same second was logged")
	}
}
