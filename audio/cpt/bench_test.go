package cpt

import (
	"math/rand/v2"
	"testing"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/audio/fsk"
	"ringbox/audio/tone"
)

// BenchmarkCPT measures the detector on one 20 ms frame of uk congestion
// with noise (uk has the most frequencies to measure: 350, 400, 440, 450).
func BenchmarkCPT(b *testing.B) {
	for _, z := range []string{"us", "uk", "de"} {
		b.Run(z, func(b *testing.B) {
			pcm := render(b, rand.New(rand.NewPCG(1, 1)), z, tone.Congestion, 3*time.Second, 0, 20)
			d, _ := New(z)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				d.Feed(pcm[i : i+frameLen])
				if i += frameLen; i == len(pcm) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkLineDSP measures everything an FXO line runs on each 20 ms
// frame it hears: DTMF detection, call-progress detection and the
// caller-ID receiver, on a frame of a caller-ID burst (the receiver's
// busiest case). Budget: 200 µs per frame (1% of a core per line).
func BenchmarkLineDSP(b *testing.B) {
	m := fsk.Message{Time: time.Date(2026, 3, 7, 9, 5, 0, 0, time.Local), Number: "+4930123456", Name: "Example"}
	pcm := fsk.OnHook(fsk.V23, m, -13)
	pcm = pcm[:len(pcm)/frameLen*frameLen]
	dt := dtmf.NewDetector()
	cp, _ := New("uk")
	rx := fsk.NewDemod(fsk.V23)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		f := pcm[i : i+frameLen]
		dt.Feed(f)
		cp.Feed(f)
		rx.Feed(f)
		if i += frameLen; i == len(pcm) {
			i = 0
		}
	}
}
