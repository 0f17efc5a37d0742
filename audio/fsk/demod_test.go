package fsk

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// randMessage is a caller-ID message as exchanges send them: a date, a
// number of 3 to 15 digits (sometimes international) or a reason it is
// absent, a name of up to 15 characters or a reason.
func randMessage(rng *rand.Rand) Message {
	m := Message{Time: time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, time.Local)}
	switch rng.IntN(10) {
	case 0:
		m.NumberAbsent = "OP"[rng.IntN(2)]
	default:
		n := make([]byte, 3+rng.IntN(13))
		for i := range n {
			n[i] = byte('0' + rng.IntN(10))
		}
		if rng.IntN(4) == 0 {
			n[0] = '+'
		}
		m.Number = string(n)
	}
	switch rng.IntN(5) {
	case 0:
		m.NameAbsent = "OP"[rng.IntN(2)]
	default:
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,'-&"
		n := make([]byte, 1+rng.IntN(15))
		for i := range n {
			n[i] = letters[rng.IntN(len(letters))]
		}
		if len(n) > 4 {
			n[len(n)/2] = ' '
		}
		m.Name = string(n)
	}
	return m
}

// impair plays pcm through a line: the sender's clock off by offset (a
// relative error: every frequency and the baud rate scale by 1+offset),
// lead samples of silence first and 200 ms after, white Gaussian noise
// over the whole band (0-4 kHz) at snr dB below the burst's mean power
// (snr 0: no noise).
func impair(rng *rand.Rand, pcm []int16, offset, snr float64, lead int) []int16 {
	var p float64
	for _, s := range pcm {
		p += float64(s) * float64(s)
	}
	p /= float64(len(pcm))
	sigma := 0.0
	if snr != 0 {
		sigma = math.Sqrt(p / math.Pow(10, snr/10))
	}
	n := int(float64(len(pcm)) / (1 + offset))
	out := make([]int16, lead+n+1600)
	for i := range out {
		v := sigma * rng.NormFloat64()
		if j := i - lead; j >= 0 && j < n {
			v += interp(pcm, float64(j)*(1+offset))
		}
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

// interp is pcm at fractional sample t (Hann-windowed sinc, 16 taps a
// side), for resampling a signal to shift its frequencies.
func interp(pcm []int16, t float64) float64 {
	const half = 16
	i0 := int(math.Floor(t))
	var v float64
	for i := i0 - half + 1; i <= i0+half; i++ {
		if i < 0 || i >= len(pcm) {
			continue
		}
		x := t - float64(i)
		w := 0.5 * (1 + math.Cos(math.Pi*x/half))
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		v += float64(pcm[i]) * s * w
	}
	return v
}

// receive feeds pcm to d in 20 ms frames and returns the messages it gave.
func receive(d *Demod, pcm []int16) []Message {
	var got []Message
	for i := 0; i+160 <= len(pcm); i += 160 {
		if m, ok := d.Feed(pcm[i : i+160]); ok {
			got = append(got, m)
		}
	}
	return got
}

// TestDemodNoise is the receiver's acceptance test: 50 random messages per
// SNR, each at a random level from -30 to -5 dBm0, a random clock error
// of up to ±1.5% and a random start, must be received. The SNR is the
// burst's mean power over white noise across the whole band (0-4 kHz).
// At 6 dB a non-coherent receiver cannot get every message through (its
// bit error rate there is about 1e-3 and a message has 300-500 bits); the
// test holds the measured ~76% as a floor. The reference decoder must
// read every message at 20 dB.
func TestDemodNoise(t *testing.T) {
	for _, std := range []Standard{Bell202, V23} {
		for _, tt := range []struct {
			snr  float64
			need int // of 50
		}{{20, 50}, {10, 50}, {6, 35}} {
			rng := rand.New(rand.NewPCG(uint64(std), uint64(tt.snr)))
			ok, refOK := 0, 0
			for range 50 {
				m := randMessage(rng)
				level := -30 + 25*rng.Float64()
				off := (rng.Float64()*2 - 1) * 0.015
				pcm := impair(rng, OnHook(std, m, level), off, tt.snr, rng.IntN(4000))
				got := receive(NewDemod(std), pcm)
				if len(got) == 1 && sameMessage(got[0], m) {
					ok++
				} else if tt.need == 50 {
					t.Errorf("%v %g dB SNR, %.1f dBm0, offset %+.2f%%: received %v, want %s", std, tt.snr, level, off*100, got, fmtMsg(m))
				}
				if r, err := refDecode(std, pcm); err == nil && sameMessage(r, m) {
					refOK++
				}
			}
			t.Logf("%v at %g dB SNR: demod %d/50, reference decoder %d/50", std, tt.snr, ok, refOK)
			if tt.snr == 20 && refOK != 50 {
				t.Errorf("%v at 20 dB SNR: the reference decoder read %d of 50 OnHook bursts, want 50", std, refOK)
			}
			if ok < tt.need {
				t.Errorf("%v at %g dB SNR: %d of 50 received, want at least %d", std, tt.snr, ok, tt.need)
			}
		}
	}
}
