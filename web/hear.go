package web

import (
	"math"
	"slices"
	"time"

	"ringbox/audio/tone"
)

// What a simulated phone or exchange hears, for the board page and the
// API's GET /api/v1/board/lines/{port}/hear: the level, the common tones
// present (by Goertzel at each frequency), and a name for it.

// hearFreqs are the frequencies looked for: the call-progress tones of the
// zones, a 1 kHz test tone, and the DTMF rows and columns.
var hearFreqs = []float64{350, 400, 425, 440, 450, 480, 620, 1000, 697, 770, 852, 941, 1209, 1336, 1477, 1633}

const (
	hearRate    = 8000
	silentDBm0  = -99.0 // the level reported for digital silence
	toneFloor   = -45.0 // dBm0: quieter is not a tone
	toneSpread  = 20.0  // dB: a tone this far below the strongest is leakage or noise
	toneShare   = 12.0  // dB: a tone this far below the whole is not one
	voiceFloor  = -50.0 // dBm0: quieter is silence
	cadenceSpan = 6 * time.Second
)

// heardTone is one frequency present.
type heardTone struct {
	Hz   float64 `json:"hz"`
	DBm0 float64 `json:"dbm0"`
}

// hearing is what a device hears.
type hearing struct {
	LevelDBm0 float64     `json:"level_dbm0"`
	Tones     []heardTone `json:"tones"`
	// Heard names it: silence, dial_tone, busy_tone, congestion_tone,
	// ringback, dtmf, tone (another steady tone, say 1 kHz from the far
	// end) or voice.
	Heard    string    `json:"heard"`
	CallerID *callerID `json:"caller_id,omitempty"`
}

type callerID struct {
	Number string `json:"number"`
	Name   string `json:"name"`
}

// sineRMS0 is the RMS of a 0 dBm0 sine.
var sineRMS0 = tone.Amplitude(0) / math.Sqrt2

func dBm0(rms float64) float64 {
	if rms <= 0 {
		return silentDBm0
	}
	return max(20*math.Log10(rms/sineRMS0), silentDBm0)
}

// listen analyses pcm (the window asked for) and names it, using recent
// (a longer stretch ending with pcm) for the cadence.
func listen(zone *tone.Set, pcm, recent []int16) hearing {
	h := hearing{LevelDBm0: dBm0(rms(pcm)), Tones: tonesIn(pcm)}
	if len(h.Tones) == 0 && h.LevelDBm0 < voiceFloor {
		// A cadenced tone in one of its pauses is still that tone: show
		// the tones of its last burst.
		if last := lastBurst(recent); len(last) > 0 {
			if t := tonesIn(last); len(t) > 0 {
				h.Tones = t
				h.Heard = name(zone, hearing{LevelDBm0: dBm0(rms(last)), Tones: t}, recent)
				return h
			}
		}
	}
	h.Heard = name(zone, h, recent)
	return h
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

// lastBurst is the last 500 ms (at most) of sound in recent before the
// silence it ends with, nil if there is none.
func lastBurst(recent []int16) []int16 {
	const frame = hearRate / 50
	end := len(recent) - len(recent)%frame
	for end > 0 && dBm0(rms(recent[end-frame:end])) < toneFloor {
		end -= frame
	}
	start := end
	for start > 0 && end-start < hearRate/2 && dBm0(rms(recent[start-frame:start])) >= toneFloor {
		start -= frame
	}
	return recent[start:end]
}

// tonesIn returns the frequencies of hearFreqs present in pcm, strongest
// first. A Hann window keeps a tone from leaking into its neighbours, and
// of two candidates closer than the window can tell apart only the
// stronger is kept.
func tonesIn(pcm []int16) []heardTone {
	n := len(pcm)
	if n < 80 {
		return []heardTone{}
	}
	w := make([]float64, n)
	var wsum float64
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		wsum += w[i]
	}
	levels := make([]float64, len(hearFreqs))
	for k, f := range hearFreqs {
		c := 2 * math.Cos(2*math.Pi*f/hearRate)
		var s1, s2 float64
		for i, v := range pcm {
			s0 := float64(v)*w[i] + c*s1 - s2
			s2, s1 = s1, s0
		}
		mag := math.Sqrt(max(s1*s1+s2*s2-c*s1*s2, 0))
		amp := 2 * mag / wsum // peak amplitude of a sine at f
		levels[k] = dBm0(amp / math.Sqrt2)
	}
	strongest := slices.Max(levels)
	total := dBm0(rms(pcm))
	resolution := 2.5 * hearRate / float64(n) // Hz: the Hann main lobe and a bit
	out := []heardTone{}
	for k, f := range hearFreqs {
		l := levels[k]
		// A tone holds a fair share of the energy; noise and speech
		// spread theirs over every bin.
		if l < toneFloor || l < strongest-toneSpread || l < total-toneShare {
			continue
		}
		masked := false
		for j, g := range hearFreqs {
			if j != k && math.Abs(f-g) <= resolution && levels[j] > l {
				masked = true
			}
		}
		if !masked {
			out = append(out, heardTone{Hz: f, DBm0: math.Round(l*10) / 10})
		}
	}
	slices.SortFunc(out, func(a, b heardTone) int {
		if a.DBm0 != b.DBm0 {
			if a.DBm0 > b.DBm0 {
				return -1
			}
			return 1
		}
		return int(a.Hz - b.Hz)
	})
	return out
}

var dtmfRows, dtmfCols = []float64{697, 770, 852, 941}, []float64{1209, 1336, 1477, 1633}

// name says what h is, in the words of the zone's tone plan.
func name(zone *tone.Set, h hearing, recent []int16) string {
	if len(h.Tones) == 0 {
		if h.LevelDBm0 < voiceFloor {
			return "silence"
		}
		return "voice"
	}
	var freqs []float64
	for _, t := range h.Tones {
		freqs = append(freqs, t.Hz)
	}
	slices.Sort(freqs)
	if len(freqs) == 2 && slices.Contains(dtmfRows, freqs[0]) && slices.Contains(dtmfCols, freqs[1]) {
		return "dtmf"
	}
	on, run, steady := cadence(recent)
	type candidate struct {
		name string
		part tone.Part // the first repeating part with sound
	}
	var cands []candidate
	var longest time.Duration // the longest burst of a cadenced candidate
	for _, k := range []struct {
		kind tone.Kind
		name string
	}{{tone.Dial, "dial_tone"}, {tone.Busy, "busy_tone"}, {tone.Congestion, "congestion_tone"}, {tone.Ringback, "ringback"}} {
		parts, _ := zone.Cadence(k.kind)
		for _, p := range parts {
			if len(p.Freqs) > 0 && !p.Once {
				if slices.Equal(sortedCopy(p.Freqs), freqs) {
					cands = append(cands, candidate{k.name, p})
					longest = max(longest, p.Dur)
				}
				break
			}
		}
	}
	best, bestErr := "", math.Inf(1)
	for _, c := range cands {
		if c.part.Dur == 0 {
			// A steady tone: steady for 2 s, or on for longer than any
			// cadenced tone of the same frequencies lasts (at once, when
			// none has them: us dial tone is 350+440 Hz alone).
			if steady || run > 0 && run > longest*6/5 {
				return c.name
			}
			continue
		}
		if on == 0 {
			// No whole burst heard yet: a cadenced tone it may be.
			if best == "" && !steady {
				best = c.name
			}
			continue
		}
		if e := math.Abs(on.Seconds()-c.part.Dur.Seconds()) / c.part.Dur.Seconds(); e < 0.35 && e < bestErr {
			best, bestErr = c.name, e
		}
	}
	if best != "" {
		return best
	}
	return "tone"
}

func sortedCopy(f []float64) []float64 {
	c := slices.Clone(f)
	slices.Sort(c)
	return c
}

// cadence measures recent in 20 ms frames: the length of the last whole
// burst (a run of tone with quiet on both sides; 0 if none), how long the
// tone at the end has lasted (0 if recent ends quiet), and whether the
// last 2 s were all tone.
func cadence(recent []int16) (on, run time.Duration, steady bool) {
	const frame = hearRate / 50
	var loud []bool
	for f := range slices.Chunk(recent, frame) {
		loud = append(loud, dBm0(rms(f)) >= toneFloor)
	}
	last2s := loud[max(len(loud)-100, 0):]
	steady = len(last2s) > 0 && !slices.Contains(last2s, false)
	n := 0
	for i := len(loud) - 1; i >= 0 && loud[i]; i-- {
		n++
	}
	run = time.Duration(n) * 20 * time.Millisecond
	end := -1
	for i := len(loud) - 1; i > 0; i-- {
		switch {
		case end < 0 && !loud[i] && loud[i-1]:
			end = i
		case end >= 0 && loud[i] && !loud[i-1]:
			return time.Duration(end-i) * 20 * time.Millisecond, run, steady
		}
	}
	return 0, run, steady
}
