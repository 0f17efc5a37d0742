package tone

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// goertzelAmp is the amplitude of frequency hz in s.
func goertzelAmp(s []int16, rate int, hz float64) float64 {
	k := 2 * math.Cos(2*math.Pi*hz/float64(rate))
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return 2 * math.Sqrt(max(0, s1*s1+s2*s2-k*s1*s2)) / float64(len(s))
}

// record reads d of a source in 20 ms frames.
func record(src interface{ ReadFrame([]int16) bool }, rate int, d time.Duration) ([]int16, bool) {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	out := make([]int16, 0, n)
	f := make([]int16, rate/50)
	for len(out) < n {
		if !src.ReadFrame(f) {
			return out, false
		}
		out = append(out, f...)
	}
	return out[:n], true
}

// bursts finds the on/off runs in s by the energy of 5 ms blocks and
// returns their lengths in ms, starting with an on run.
func bursts(s []int16, rate int) []int {
	blk := rate / 200
	thresh := Amplitude(Level) / 4
	var runs []int
	on, n := false, 0
	for i := 0; i+blk <= len(s); i += blk {
		var e float64
		for _, v := range s[i : i+blk] {
			e += float64(v) * float64(v)
		}
		b := math.Sqrt(2*e/float64(blk)) > thresh
		if len(runs) == 0 && n == 0 && !b {
			continue // leading silence
		}
		if b != on && n > 0 {
			runs = append(runs, n*5)
			n = 0
		}
		on = b
		n++
	}
	return append(runs, n*5)
}

func TestFrequenciesAndLevel(t *testing.T) {
	tests := []struct {
		zone  string
		kind  Kind
		freqs []float64
	}{
		{"us", Dial, []float64{350, 440}},
		{"us", Ringback, []float64{440, 480}},
		{"us", Busy, []float64{480, 620}},
		{"uk", Ringback, []float64{400, 450}},
		{"uk", Busy, []float64{400}},
		{"de", Dial, []float64{425}},
		{"fr", Dial, []float64{440}},
		{"au", Dial, []float64{413, 438}},
	}
	for _, tt := range tests {
		for _, rate := range []int{8000, 16000} {
			s, err := Zone(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			pcm, _ := record(s.Source(tt.kind, rate), rate, 400*time.Millisecond)
			// 340 ms inside the first burst (all bursts here are ≥ 375 ms):
			// fine enough to part 413 from 438 Hz.
			w := pcm[rate/50 : rate/50+rate*34/100]
			want := Amplitude(Level)
			for _, f := range tt.freqs {
				if a := goertzelAmp(w, rate, f); math.Abs(20*math.Log10(a/want)) > 0.5 {
					t.Errorf("%s %v at %d Hz: %.0f Hz at %.1f dBm0, want %.0f", tt.zone, tt.kind, rate, f, 20*math.Log10(a/want)+Level, Level)
				}
			}
			// Nothing else: neighbours 60 Hz away are ≥ 30 dB down.
			for _, f := range []float64{tt.freqs[0] - 60, tt.freqs[len(tt.freqs)-1] + 60, 1000, 2000} {
				if a := goertzelAmp(w, rate, f); 20*math.Log10(a/want) > -30 {
					t.Errorf("%s %v at %d Hz: stray %.0f Hz at %.1f dB", tt.zone, tt.kind, rate, f, 20*math.Log10(a/want))
				}
			}
		}
	}
}

func TestCadence(t *testing.T) {
	tests := []struct {
		zone string
		kind Kind
		want []int // ms: on, off, on, off…
	}{
		{"us", Busy, []int{500, 500, 500, 500, 500}},
		{"us", Ringback, []int{2000, 4000, 2000}},
		{"us", Congestion, []int{250, 250, 250, 250}},
		{"uk", Ringback, []int{400, 200, 400, 2000, 400, 200, 400}},
		{"uk", Busy, []int{375, 375, 375, 375}},
		{"de", Busy, []int{480, 480, 480, 480}},
		{"de", Ringback, []int{1000, 4000, 1000}},
		{"fr", Busy, []int{500, 500, 500}},
		{"jp", Ringback, nil}, // modulated: just on for 1 s with 16 Hz dips, off 2 s
		{"it", Dial, []int{200, 200, 600, 1000, 200, 200, 600}},
		{"us", Confirm, []int{100, 100, 100, 100, 100}},
	}
	for _, tt := range tests {
		s, _ := Zone(tt.zone)
		pcm, _ := record(s.Source(tt.kind, 8000), 8000, 13*time.Second)
		if tt.want == nil {
			continue
		}
		got := bursts(pcm, 8000)
		if len(got) < len(tt.want) {
			t.Errorf("%s %v: runs %v, want at least %v", tt.zone, tt.kind, got, tt.want)
			continue
		}
		for i, w := range tt.want {
			// 5 ms blocks, 2 ms ramps: each edge is within one block.
			if d := got[i] - w; d < -10 || d > 10 {
				t.Errorf("%s %v: runs %v, want %v (±10 ms)", tt.zone, tt.kind, got[:len(tt.want)], tt.want)
				break
			}
		}
	}
}

func TestSteadyToneLoopsSeamlessly(t *testing.T) {
	for _, z := range []string{"us", "au", "de"} {
		s, _ := Zone(z)
		pcm, ok := record(s.Source(Dial, 8000), 8000, 3*time.Second)
		if !ok {
			t.Fatalf("%s dial tone ended", z)
		}
		// A continuous sine sum has no sample-to-sample step bigger than
		// the steepest slope of its parts.
		var maxStep float64
		for _, f := range []float64{350, 440, 413, 438, 425} {
			maxStep = max(maxStep, 2*math.Pi*f/8000)
		}
		limit := 2*Amplitude(Level)*maxStep + 2
		for i := 1; i < len(pcm); i++ {
			if d := math.Abs(float64(pcm[i]) - float64(pcm[i-1])); d > limit {
				t.Fatalf("%s dial tone jumps by %.0f at sample %d (limit %.0f): a click at the loop seam", z, d, i, limit)
			}
		}
	}
}

func TestConfirmEnds(t *testing.T) {
	s, _ := Zone("de")
	src := s.Source(Confirm, 8000)
	_, ok := record(src, 8000, 2*time.Second)
	if ok {
		t.Error("confirmation tone still playing after 2 s, want it to end after 500 ms")
	}
}

func TestZones(t *testing.T) {
	for _, z := range Zones() {
		s, err := Zone(z)
		if err != nil {
			t.Fatalf("Zone(%q): %v", z, err)
		}
		for k := range numKinds {
			if _, ok := record(s.Source(k, 8000), 8000, 100*time.Millisecond); !ok {
				t.Errorf("%s %v: no audio", z, k)
			}
		}
		var total time.Duration
		for _, d := range s.RingCadence() {
			total += d
		}
		if len(s.RingCadence())%2 != 0 || total < 3*time.Second || total > 6*time.Second {
			t.Errorf("%s ring cadence %v", z, s.RingCadence())
		}
	}
	if _, err := Zone("xx"); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("Zone(xx) = %v, want ErrUnknownZone", err)
	}
	if a := Amplitude(0); math.Abs(a-22748) > 2 {
		t.Errorf("Amplitude(0 dBm0) = %.0f, want ≈ 22748", a)
	}
}

// TestCanada: ca is the North American plan, tone for tone and ring for
// ring.
func TestCanada(t *testing.T) {
	ca, err := Zone("ca")
	if err != nil {
		t.Fatal(err)
	}
	us, _ := Zone("us")
	if !slices.Equal(ca.RingCadence(), us.RingCadence()) {
		t.Errorf("ca ring cadence %v, us %v", ca.RingCadence(), us.RingCadence())
	}
	for k := range numKinds {
		a, _ := record(ca.Source(k, 8000), 8000, 7*time.Second)
		b, _ := record(us.Source(k, 8000), 8000, 7*time.Second)
		if !slices.Equal(a, b) {
			t.Errorf("ca %v differs from us", k)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	s, _ := Zone("uk")
	src := s.Source(Ringback, 8000)
	f := make([]int16, 160)
	if n := testing.AllocsPerRun(1000, func() { src.ReadFrame(f) }); n != 0 {
		t.Errorf("ReadFrame allocates %.0f times", n)
	}
}

// BenchmarkReadFrame measures one 20 ms frame of UK ringback at 8 kHz.
func BenchmarkReadFrame(b *testing.B) {
	s, _ := Zone("uk")
	src := s.Source(Ringback, 8000)
	f := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		src.ReadFrame(f)
	}
}
