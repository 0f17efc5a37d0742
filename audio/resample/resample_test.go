package resample

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func sine(rate int, hz, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
	}
	return s
}

// rms of the middle of s, skipping edge effects.
func rms(s []int16) float64 {
	s = s[len(s)/10 : len(s)-len(s)/10]
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

func TestToneLevel(t *testing.T) {
	tests := []struct{ in, out int }{
		{44100, 8000}, {48000, 8000}, {22050, 8000}, {16000, 8000},
		{8000, 16000}, {44100, 16000}, {48000, 16000}, {11025, 8000}, {8000, 8000},
	}
	for _, tt := range tests {
		src := sine(tt.in, 1000, 16000, tt.in) // one second
		r := New(tt.in, tt.out)
		got := r.Flush(r.Process(nil, src))
		if want := (len(src)*tt.out + tt.in - 1) / tt.in; len(got) != want {
			t.Errorf("%d->%d: %d samples out, want %d", tt.in, tt.out, len(got), want)
		}
		diff := db(rms(got) / rms(src))
		if math.Abs(diff) > 0.5 {
			t.Errorf("%d->%d: 1 kHz level changed by %.2f dB, want within ±0.5", tt.in, tt.out, diff)
		}
		// The filter delay is removed: the output is the same sine, in phase.
		ref := sine(tt.out, 1000, 16000, len(got))
		var e float64
		for i := len(got) / 10; i < len(got)*9/10; i++ {
			d := float64(got[i]) - float64(ref[i])
			e += d * d
		}
		errDB := db(math.Sqrt(e/float64(len(got)*8/10)) / rms(ref))
		if errDB > -40 {
			t.Errorf("%d->%d: output differs from the ideal sine by %.1f dB, want ≤ −40 (misaligned?)", tt.in, tt.out, errDB)
		}
		t.Logf("%d->%d: level %+.3f dB, error %.1f dB", tt.in, tt.out, diff, errDB)
	}
}

func TestAliasRejected(t *testing.T) {
	tests := []struct {
		in, out int
		hz      float64
	}{
		{48000, 8000, 6000}, {44100, 8000, 6000}, {44100, 8000, 5000},
		{22050, 8000, 7000}, {48000, 16000, 12000},
	}
	for _, tt := range tests {
		src := sine(tt.in, tt.hz, 16000, tt.in)
		r := New(tt.in, tt.out)
		got := r.Flush(r.Process(nil, src))
		level := db(max(rms(got), 1e-3) / rms(src))
		if level > -60 {
			t.Errorf("%d->%d: %.0f Hz tone at %.1f dB after resampling, want ≤ −60", tt.in, tt.out, tt.hz, level)
		}
		t.Logf("%d->%d: %.0f Hz at %.1f dB", tt.in, tt.out, tt.hz, level)
	}
}

func TestStreamingMatchesOneShot(t *testing.T) {
	for _, rates := range [][2]int{{44100, 8000}, {8000, 16000}, {48000, 8000}, {16000, 16000}} {
		src := sine(rates[0], 440, 12000, 20000)
		r := New(rates[0], rates[1])
		whole := r.Flush(r.Process(nil, src))
		var chunked []int16
		for i, n := 0, 1; i < len(src); n = n*3%997 + 1 {
			j := min(i+n, len(src))
			chunked = r.Process(chunked, src[i:j])
			i = j
		}
		chunked = r.Flush(chunked)
		if !slices.Equal(whole, chunked) {
			t.Errorf("%v: chunked output (%d samples) differs from one-shot (%d)", rates, len(chunked), len(whole))
		}
	}
}

func TestNoAllocs(t *testing.T) {
	r := New(44100, 8000)
	src := sine(44100, 1000, 10000, 882) // 20 ms
	dst := make([]int16, 0, 400)
	dst = r.Process(dst[:0], src)
	if n := testing.AllocsPerRun(100, func() { dst = r.Process(dst[:0], src) }); n != 0 {
		t.Errorf("Process allocates %.1f times per call, want 0", n)
	}
}

// BenchmarkResample measures converting 20 ms of 44.1 kHz audio to 8 kHz
// and of 8 kHz to 16 kHz.
func BenchmarkResample(b *testing.B) {
	for _, rates := range [][2]int{{44100, 8000}, {44100, 16000}, {48000, 8000}, {8000, 16000}} {
		b.Run(fmt.Sprintf("%dto%d", rates[0], rates[1]), func(b *testing.B) {
			r := New(rates[0], rates[1])
			src := sine(rates[0], 1000, 10000, rates[0]/50)
			dst := make([]int16, 0, rates[1]/25)
			b.ReportAllocs()
			b.SetBytes(int64(2 * len(src)))
			for b.Loop() {
				dst = r.Process(dst[:0], src)
			}
		})
	}
}
