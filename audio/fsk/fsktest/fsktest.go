// Package fsktest is a reference caller-ID decoder for tests, written apart
// from package fsk's receiver and by a different method: no I/Q mixers and
// no clock loop. A band-pass around the two tones, then the Goertzel
// algorithm measures the mark and space energies of a 6-sample block at
// every sample; each character is timed from its own start bit's edge
// (refined to the nearby edge whose bits are the most decided) and each
// bit decided on the blocks around its middle. DTMF caller ID is decoded
// with Goertzel energies over the eight DTMF frequencies.
//
// It uses only the standard library and package fsk's message decoding
// (fsk.Decode), so tests of the FXS engine check the caller ID the box
// sends with a receiver that shares nothing with the one it uses on FXO
// lines.
package fsktest

import (
	"errors"
	"math"
	"ringbox/audio/fsk"
)

// RefDecode decodes the first caller-ID message in 8 kHz pcm.
func RefDecode(std fsk.Standard, pcm []int16) (fsk.Message, error) {
	if std == fsk.DTMFCLIP {
		return refDecodeDTMF(pcm)
	}
	mark, space := 1300.0, 2100.0
	if std == fsk.Bell202 {
		mark, space = 1200, 2200
	}
	const rate, baud, w = 8000.0, 1200.0, 6
	bit := rate / baud
	// A band-pass around the two tones first: the line's noise outside
	// them would otherwise decide bits at low SNR.
	pcm = bandPass(pcm, mark-500, space+500, rate)
	// soft[n] > 0 when the w samples from n hold more mark than space.
	soft := make([]float64, max(0, len(pcm)-w))
	for n := range soft {
		soft[n] = goertzelPower(pcm[n:n+w], mark, rate) - goertzelPower(pcm[n:n+w], space, rate)
	}
	// at is soft for the block centred on sample position t.
	at1 := func(t float64) float64 {
		i := int(math.Round(t - w/2))
		if i < 0 || i >= len(soft) {
			return 0
		}
		return soft[i]
	}
	// Each decision sums the blocks around the bit's centre: more of the
	// bit's energy against the noise.
	at := func(t float64) float64 { return at1(t-1) + at1(t) + at1(t+1) }
	// UART: each character is timed from its own start bit's edge, where
	// soft turns from mark to space half a block after it.
	var chars []byte
	for n := 1; n < len(soft); n++ {
		if soft[n-1] <= 0 || soft[n] > 0 {
			continue
		}
		// The crossing gives the edge give or take noise: take the
		// nearby edge whose bit centres are the most decided.
		edge, bestScore := float64(n)+w/2, math.Inf(-1)
		for d := -3.0; d <= 3; d += 0.5 {
			e := float64(n) + w/2 + d
			score := -at(e+bit/2) + at(e+9.5*bit)
			for k := range 8 {
				score += math.Abs(at(e + (float64(k)+1.5)*bit))
			}
			if score > bestScore {
				edge, bestScore = e, score
			}
		}
		if at(edge+bit/2) > 0 || at(edge+9.5*bit) <= 0 {
			continue // not a start bit, or no stop bit where due
		}
		var c byte
		for k := range 8 {
			if at(edge+(float64(k)+1.5)*bit) > 0 {
				c |= 1 << k
			}
		}
		chars = append(chars, c)
		if m, ok := refFrame(chars); ok {
			return m, nil
		}
		n = int(edge + 9*bit - w) // before the next start bit's crossing
	}
	return fsk.Message{}, errors.New("refdecode: no caller-ID frame found")
}

// refFrame looks for a frame with a good checksum ending at the last of
// chars.
func refFrame(chars []byte) (fsk.Message, bool) {
	for s := range chars {
		if chars[s] != 0x80 && chars[s] != 0x04 || s+1 >= len(chars) {
			continue
		}
		if s+3+int(chars[s+1]) == len(chars) {
			if m, err := fsk.Decode(chars[s:]); err == nil {
				return m, true
			}
		}
	}
	return fsk.Message{}, false
}

// goertzelPower is the power of frequency hz in b.
func goertzelPower(b []int16, hz, rate float64) float64 {
	k := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, v := range b {
		s0 := float64(v) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// refDecodeDTMF finds "A digits C" (or "B1C" private, "B0C" unavailable)
// as DTMF keys in 20 ms windows stepped by 5 ms; a key counts once it is
// seen in 4 windows running and ends at a window without it.
func refDecodeDTMF(pcm []int16) (fsk.Message, error) {
	rows := [4]float64{697, 770, 852, 941}
	cols := [4]float64{1209, 1336, 1477, 1633}
	keys := [4]string{"123A", "456B", "789C", "*0#D"}
	var s []byte
	var cur byte
	run := 0
	for i := 0; i+160 <= len(pcm); i += 40 {
		b := pcm[i : i+160]
		var total float64
		for _, v := range b {
			total += float64(v) * float64(v)
		}
		var key byte
		r, rp := best(b, rows[:])
		c, cp := best(b, cols[:])
		// A key's two tones carry most of the window's energy (power here
		// is |X|², a sine's energy is 2|X|²/N).
		if total > 0 && 2*(rp+cp)/160 > 0.7*total {
			key = keys[r][c]
		}
		if key != 0 && key == cur {
			if run++; run == 4 {
				s = append(s, key)
			}
			continue
		}
		cur, run = key, 1
	}
	for i := range s {
		if s[i] != 'A' && s[i] != 'B' {
			continue
		}
		for j := i + 1; j < len(s); j++ {
			if s[j] != 'C' {
				continue
			}
			body := string(s[i+1 : j])
			switch {
			case s[i] == 'B' && body == "1":
				return fsk.Message{NumberAbsent: 'P'}, nil
			case s[i] == 'B' && body == "0":
				return fsk.Message{NumberAbsent: 'O'}, nil
			case s[i] == 'A' && body != "":
				return fsk.Message{Number: body}, nil
			}
			break
		}
	}
	return fsk.Message{}, errors.New("refdecode: no DTMF caller ID found")
}

// best returns the index and power of the strongest of freqs in b.
func best(b []int16, freqs []float64) (int, float64) {
	bi, bp := 0, 0.0
	for i, f := range freqs {
		if p := goertzelPower(b, f, 8000); p > bp {
			bi, bp = i, p
		}
	}
	return bi, bp
}

// bandPass filters pcm to lo..hi Hz with a 63-tap Hamming-windowed sinc,
// delay compensated.
func bandPass(pcm []int16, lo, hi, rate float64) []int16 {
	const taps = 63
	h := make([]float64, taps)
	for i := range h {
		n := float64(i - taps/2)
		lp := func(fc float64) float64 {
			if n == 0 {
				return 2 * fc / rate
			}
			return math.Sin(2*math.Pi*fc/rate*n) / (math.Pi * n)
		}
		h[i] = (lp(hi) - lp(lo)) * (0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/(taps-1)))
	}
	out := make([]int16, len(pcm))
	for i := range pcm {
		var acc float64
		for k, c := range h {
			j := i + taps/2 - k
			if j >= 0 && j < len(pcm) {
				acc += c * float64(pcm[j])
			}
		}
		out[i] = int16(max(-32768, min(32767, math.Round(acc))))
	}
	return out
}
