package fsk_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"ringbox/audio/fsk"
	"ringbox/audio/fsk/fsktest"
)

// The bursts OnHook and OffHook render are read by the reference decoder,
// which shares nothing with Demod: the modulator is checked independently
// of the receiver, at 20 dB SNR and random levels.
func TestReferenceDecoderReadsTheBursts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	when := time.Date(0, 12, 4, 9, 30, 0, 0, time.Local)
	for _, std := range []fsk.Standard{fsk.Bell202, fsk.V23, fsk.DTMFCLIP} {
		for i := range 30 {
			m := fsk.Message{Time: when, Number: "5551234" + string(rune('0'+i%10)), Name: "Caller " + string(rune('A'+i%26))}
			render := fsk.OnHook
			if i%3 == 0 {
				render = fsk.OffHook
			}
			pcm := render(std, m, -25+15*rng.Float64())
			pcm = append(make([]int16, rng.IntN(2000)), pcm...)
			pcm = noisy(pcm, 20, rng)
			got, err := fsktest.RefDecode(std, pcm)
			if err != nil || got.Number != m.Number || (std != fsk.DTMFCLIP && (got.Name != m.Name || !got.Time.Equal(m.Time))) {
				t.Errorf("%v burst %d: reference decoder read %+v, %v; want %+v", std, i, got, err, m)
			}
		}
	}
}

// noisy adds white noise snr dB below the power of the non-silent samples.
func noisy(pcm []int16, snr float64, rng *rand.Rand) []int16 {
	var sum float64
	var n int
	for _, v := range pcm {
		if v != 0 {
			sum += float64(v) * float64(v)
			n++
		}
	}
	sigma := math.Sqrt(sum / float64(max(n, 1)) / math.Pow(10, snr/10))
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = int16(max(-32768, min(32767, math.Round(float64(v)+rng.NormFloat64()*sigma))))
	}
	return out
}
