package web

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/audio/tone"
	"ringbox/board/sim"
	"ringbox/firmware/call"
)

func record(src call.Source, d time.Duration) []int16 {
	out := make([]int16, int(d/time.Second*hearRate)+int(d%time.Second)*hearRate/int(time.Second))
	for f := range slices.Chunk(out, hearRate/50) {
		src.ReadFrame(f)
	}
	return out
}

// TestListenNamesWhatIsHeard: the board page tells dial, busy, congestion
// and ringback tones apart by the zone's frequencies and cadence, and
// names DTMF, a test tone, voice and silence.
func TestListenNamesWhatIsHeard(t *testing.T) {
	us, _ := tone.Zone("us")
	de, _ := tone.Zone("de")
	noise := make([]int16, 6*hearRate)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = int16(rng.NormFloat64() * 2000)
	}
	tests := []struct {
		name  string
		zone  *tone.Set
		pcm   []int16
		heard string
		hz    []float64
	}{
		{"us dial", us, record(us.Source(tone.Dial, hearRate), 6*time.Second), "dial_tone", []float64{350, 440}},
		{"us busy", us, record(us.Source(tone.Busy, hearRate), 6*time.Second), "busy_tone", []float64{480, 620}},
		{"us congestion", us, record(us.Source(tone.Congestion, hearRate), 6*time.Second), "congestion_tone", []float64{480, 620}},
		{"us ringback", us, record(us.Source(tone.Ringback, hearRate), 7500*time.Millisecond), "ringback", []float64{440, 480}},
		{"us ringback pause", us, record(us.Source(tone.Ringback, hearRate), 5*time.Second), "ringback", []float64{440, 480}},
		{"us dial, just lifted", us, append(make([]int16, 5*hearRate), record(us.Source(tone.Dial, hearRate), 300*time.Millisecond)...), "dial_tone", []float64{350, 440}},
		{"de dial, 1.5 s", de, append(make([]int16, 4*hearRate), record(de.Source(tone.Dial, hearRate), 1500*time.Millisecond)...), "dial_tone", []float64{425}},
		{"de busy, first burst", de, append(make([]int16, 4*hearRate), record(de.Source(tone.Busy, hearRate), 460*time.Millisecond)...), "busy_tone", []float64{425}},
		{"de dial", de, record(de.Source(tone.Dial, hearRate), 6*time.Second), "dial_tone", []float64{425}},
		{"de busy", de, record(de.Source(tone.Busy, hearRate), 6*time.Second), "busy_tone", []float64{425}},
		{"de congestion", de, record(de.Source(tone.Congestion, hearRate), 6*time.Second), "congestion_tone", []float64{425}},
		{"1 kHz", us, record(sim.Sine(1000, -15), 6*time.Second), "tone", []float64{1000}},
		{"dtmf 5", us, record(dtmf.Tones('5', time.Second, 0, -10), time.Second), "dtmf", []float64{770, 1336}},
		{"silence", us, make([]int16, hearRate), "silence", nil},
		{"voice", us, noise, "voice", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tt.pcm)
			win := tt.pcm[n-min(n, hearRate/2):]
			h := listen(tt.zone, win, tt.pcm)
			var hz []float64
			for _, x := range h.Tones {
				hz = append(hz, x.Hz)
			}
			slices.Sort(hz)
			if h.Heard != tt.heard || !slices.Equal(hz, tt.hz) {
				t.Errorf("heard %q %v (level %.1f dBm0), want %q %v", h.Heard, hz, h.LevelDBm0, tt.heard, tt.hz)
			}
		})
	}
	if h := listen(us, make([]int16, 4000), nil); h.LevelDBm0 != silentDBm0 {
		t.Errorf("silence at %v dBm0", h.LevelDBm0)
	}
	if h := listen(us, record(sim.Sine(1000, -15), time.Second), nil); h.LevelDBm0 < -15.2 || h.LevelDBm0 > -14.8 || h.Tones[0].DBm0 < -15.5 || h.Tones[0].DBm0 > -14.5 {
		t.Errorf("a -15 dBm0 tone measured %+v", h)
	}
}

// BenchmarkListen measures naming 500 ms of audio with its 6 s of
// cadence, what GET /api/v1/board does per simulated line.
func BenchmarkListen(b *testing.B) {
	us, _ := tone.Zone("us")
	pcm := record(us.Source(tone.Busy, hearRate), 6*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		listen(us, pcm[len(pcm)-hearRate/2:], pcm)
	}
}
