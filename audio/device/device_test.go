package device

import (
	"slices"
	"testing"
)

func TestRing(t *testing.T) {
	q := NewRing(8)
	q.Write([]int16{1, 2, 3})
	got := make([]int16, 4)
	if n := q.Read(got, 4); n != 0 {
		t.Errorf("read with 3 of 4 buffered = %d, want 0 (wait for a whole frame)", n)
	}
	q.Write([]int16{4, 5, 6, 7, 8, 9, 10}) // overflows: 1 and 2 are dropped
	if n := q.Read(got, 4); n != 4 || !slices.Equal(got, []int16{3, 4, 5, 6}) {
		t.Errorf("read = %d %v, want the oldest kept samples 3 4 5 6", n, got)
	}
	if q.Len() != 4 {
		t.Errorf("%d left, want 4", q.Len())
	}
}

// BenchmarkRing measures one 20 ms frame through the ring, as the audio
// callback and the reader do.
func BenchmarkRing(b *testing.B) {
	q := NewRing(1600)
	f := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		q.Write(f)
		q.Read(f, 160)
	}
}
