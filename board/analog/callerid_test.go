package analog

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/fsk"
	"ringbox/audio/fsk/fsktest"
	"ringbox/firmware/call"
)

// withNoise adds white Gaussian noise to pcm at snr dB below the power of
// its loud part (the caller-ID burst, not the silence around it).
func withNoise(pcm []int16, snr float64, rng *rand.Rand) []int16 {
	var sum float64
	var n int
	for _, v := range pcm {
		if v != 0 {
			sum += float64(v) * float64(v)
			n++
		}
	}
	if n == 0 {
		return pcm
	}
	sigma := math.Sqrt(sum / float64(n) / math.Pow(10, snr/10))
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		x := float64(v) + rng.NormFloat64()*sigma
		out[i] = int16(max(-32768, min(32767, math.Round(x))))
	}
	return out
}

// The caller ID an FXS port sends on hook between the first and second
// ring, per zone's standard, as an independent decoder reads it with
// noise added on the line at 20, 10 and 6 dB SNR.
func TestFXSCallerIDBetweenRings(t *testing.T) {
	for _, zone := range []string{"us", "de", "nl"} {
		t.Run(zone, func(t *testing.T) {
			var pcm []int16
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, zone)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if _, err := r.e.Dialer(nil).Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "201",
					From: call.Party{Number: "+15551234567", Name: "Alice Smith"}}); err != nil {
					t.Fatal(err)
				}
				ph := r.b.Phone(1)
				cad := r.e.tones().RingCadence()
				var firstCycle time.Duration
				for _, c := range cad {
					firstCycle += c
				}
				time.Sleep(firstCycle - 10*time.Millisecond) // before the second ring
				log := ph.RingLog()
				if len(log) != len(cad) {
					t.Fatalf("%d ring edges before the second ring, want %d", len(log), len(cad))
				}
				pcm = ph.OnHookAudio()
				if len(pcm) == 0 {
					t.Fatal("no caller ID sent on hook during the first pause")
				}
			})
			std := fsk.StandardFor(zone)
			rng := rand.New(rand.NewPCG(1, 2))
			for _, snr := range []float64{99, 20, 10, 6} {
				// Several noise draws per SNR. At 6 dB even an ideal
				// non-coherent receiver loses a bit of the ~400 in about
				// one burst of four (docs/audio.md); this reference decoder
				// reads 16-17 of 20.
				ok, tries := 0, 20
				for range tries {
					m, err := fsktest.RefDecode(std, withNoise(pcm, snr, rng))
					// DTMF sends digits only: no '+', no name.
					if err == nil && strings.TrimPrefix(m.Number, "+") == "15551234567" && (std == fsk.DTMFCLIP || m.Name == "Alice Smith") {
						ok++
					}
				}
				need := tries
				if snr < 10 {
					need = tries * 3 / 5
				}
				t.Logf("%s at %g dB SNR: %d/%d decoded", std, snr, ok, tries)
				if ok < need {
					t.Errorf("%s caller ID at %g dB SNR: %d of %d decoded, want at least %d", std, snr, ok, tries, need)
				}
			}
		})
	}
}
