package library

import (
	"math"
	"slices"
	"testing"
)

// chimeDirect is the chime as first written, every sample from the formula:
// the reference Chime's shortcuts must match sample for sample.
func chimeDirect(rate int) []int16 {
	chords := [][]float64{{261.63, 329.63, 392.00}, {220.00, 261.63, 329.63}, {174.61, 220.00, 261.63}, {196.00, 246.94, 293.66}}
	noteLen := rate / 3
	var out []int16
	for rep := 0; rep < 4; rep++ {
		for _, ch := range chords {
			for n := 0; n < 4; n++ {
				f := ch[n%3]
				if n == 3 {
					f = ch[0] * 2
				}
				for i := 0; i < noteLen; i++ {
					t := float64(i) / float64(rate)
					env := math.Exp(-3*t) * math.Min(1, float64(i)/40)
					v := 0.18 * env * (math.Sin(2*math.Pi*f*t) + 0.3*math.Sin(4*math.Pi*f*t))
					out = append(out, int16(v*32767))
				}
			}
		}
	}
	return out
}

// TestChimeIsTheSameMusic: the hold music callers hear did not change when
// its making was made cheaper.
func TestChimeIsTheSameMusic(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		got, want := Chime(rate), chimeDirect(rate)
		if !slices.Equal(got, want) {
			t.Errorf("Chime(%d): %d samples, differs from the formula's %d", rate, len(got), len(want))
		}
	}
}

func BenchmarkChime(b *testing.B) {
	for b.Loop() {
		Chime(8000)
		Chime(16000)
	}
}
