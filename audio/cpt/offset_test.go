package cpt

import (
	"math"
	"testing"
	"time"

	"ringbox/audio/tone"
)

// TestFrequencyError: exchanges' tones are not exact; busy tone 2% off
// its nominal frequencies is still busy, within 2 s, in every zone.
func TestFrequencyError(t *testing.T) {
	for _, z := range tone.Zones() {
		s, _ := tone.Zone(z)
		parts, _ := s.Cadence(tone.Busy)
		for _, off := range []float64{-0.02, 0.02} {
			var pcm []int16
			a := tone.Amplitude(-13)
			for len(pcm) < 4*rate {
				for _, p := range parts {
					n := int(p.Dur * rate / time.Second)
					for i := range n {
						v := 0.0
						for _, f := range p.Freqs {
							v += a * math.Sin(2*math.Pi*f*(1+off)*float64(i)/rate)
						}
						pcm = append(pcm, int16(v))
					}
				}
			}
			d, _ := New(z)
			got := run(d, pcm)
			if at := first(got, Busy); at < 0 || at > 2*time.Second {
				t.Errorf("%s busy %+.0f%% off: first at %v, want within 2s; %v", z, off*100, at, compact(got))
			}
		}
	}
}
