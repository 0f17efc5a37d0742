// Package dtmf detects and generates in-band DTMF (ITU-T Q.23/Q.24) in
// 8 kHz 16-bit PCM: analog lines, and SIP peers that send no RFC 4733
// telephone-events.
//
// # Detection
//
// [Detector] runs the Goertzel algorithm on blocks of 102 samples (12.75
// ms) over the four row (697, 770, 852, 941 Hz) and four column (1209, 1336,
// 1477, 1633 Hz) frequencies, as Asterisk's dsp.c does. A block is a hit for
// a key when all of these hold:
//
//   - each of the two tones is at least −36 dBm0 (see tone.Amplitude);
//   - twist: the column tone is at most 8 dB above the row tone (normal
//     twist) and at most 4 dB below it (reverse twist);
//   - relative peak: each tone is 8 dB above every other tone of its group;
//   - the two tones hold at least 60% of the block's energy (speech and
//     noise spread theirs);
//   - the column tone's 2nd harmonic is 10 dB below it (voiced speech has
//     harmonics, DTMF has none; row harmonics fall within a Goertzel bin of
//     the column tones at this block size, so they cannot be measured);
//   - frequency: each tone is nearer its nominal frequency than ±5% off it
//     (Goertzel probes at f·0.95 and f·1.05), so tones within ±1.5% pass
//     and those ±3.5% off fail;
//   - steadiness: the two halves of the block differ by less than 1.9 dB in
//     energy, so a block holding a tone's start or end is not a hit.
//
// A key begins after 2 consecutive hits (so it needs 25.5 ms of clean tone;
// with the steadiness check, 40 ms tones always begin and 20 ms tones
// never do) and ends after 3 blocks without it (38 ms). The digit is
// reported when it begins.
//
// # Generation
//
// [Tones] plays one key for a duration, then silence; [Sequence] a string
// of keys.
package dtmf

import (
	"math"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
)

// Rate is the sample rate the detector and generator work at.
const Rate = 8000

// BlockSize is the Goertzel block length in samples.
const BlockSize = 102

var (
	rowFreqs = [4]float64{697, 770, 852, 941}
	colFreqs = [4]float64{1209, 1336, 1477, 1633}
	keys     = [4][4]byte{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
)

// Detection parameters; see the package comment.
const (
	minLevel      = -36.0 // dBm0 per tone
	normalTwist   = 8.0   // dB, column above row
	reverseTwist  = 4.0   // dB, row above column
	relativePeak  = 8.0   // dB over the rest of the group
	toneToTotal   = 0.60  // share of the block's energy in the two tones
	harmonicLimit = -10.0 // dB, column 2nd harmonic relative to the column
	probeOffset   = 0.05  // frequency probes at ±5%
	steadyRatio   = 0.65  // weaker half of a block over the stronger (−1.9 dB)
	hitsToBegin   = 2
	missesToEnd   = 3
)

type goertzel struct{ coef float32 }

func newGoertzel(hz float64) goertzel {
	return goertzel{float32(2 * math.Cos(2*math.Pi*hz/Rate))}
}

// power returns |X(f)|² scaled to the energy (Σx²) a pure tone at f
// contributes to the block: 2|X|²/N.
func (g goertzel) power(b []float32) float32 {
	var s1, s2 float32
	for _, x := range b {
		s0 := x + g.coef*s1 - s2
		s2, s1 = s1, s0
	}
	return 2 * (s1*s1 + s2*s2 - g.coef*s1*s2) / float32(len(b))
}

// Detector finds DTMF digits in a stream of 8 kHz frames. It is not safe
// for concurrent use; use one per stream.
type Detector struct {
	rows, cols      [4]goertzel
	probes          [8][2]goertzel // per frequency: f·0.95, f·1.05
	harmonics       [4]goertzel    // columns' 2nd harmonics
	block           [BlockSize]float32
	n               int  // samples in block
	lastHit         byte // key of the previous block, 0 for none
	hits, misses    int
	current         byte // key being held, 0 for none
	out             []byte
	blockHits       int // blocks that looked like a key (for tests)
	minTonePower    float32
	twistN, twistR  float32
	relPeak, harmLo float32
}

// NewDetector returns a detector in its idle state.
func NewDetector() *Detector {
	d := &Detector{out: make([]byte, 0, 8)}
	for i := range 4 {
		d.rows[i] = newGoertzel(rowFreqs[i])
		d.cols[i] = newGoertzel(colFreqs[i])
		d.harmonics[i] = newGoertzel(2 * colFreqs[i])
	}
	for i, f := range append(rowFreqs[:], colFreqs[:]...) {
		d.probes[i] = [2]goertzel{newGoertzel(f * (1 - probeOffset)), newGoertzel(f * (1 + probeOffset))}
	}
	a := tone.Amplitude(minLevel)
	d.minTonePower = float32(a * a / 2 * BlockSize) // energy of that sine over a block
	d.twistN = float32(dbRatio(normalTwist))
	d.twistR = float32(dbRatio(reverseTwist))
	d.relPeak = float32(dbRatio(relativePeak))
	d.harmLo = float32(dbRatio(harmonicLimit))
	return d
}

func dbRatio(db float64) float64 { return math.Pow(10, db/10) }

// Reset forgets any partial block and digit in progress.
func (d *Detector) Reset() {
	d.n, d.lastHit, d.hits, d.misses, d.current = 0, 0, 0, 0, 0
}

// Feed processes one frame of any length (normally 20 ms, 160 samples) and
// returns the digits that began in it, usually none. The returned slice is
// reused by the next call. Feed does not allocate.
func (d *Detector) Feed(frame []int16) []byte {
	d.out = d.out[:0]
	for len(frame) > 0 {
		c := min(len(frame), BlockSize-d.n)
		for i, s := range frame[:c] {
			d.block[d.n+i] = float32(s)
		}
		d.n += c
		frame = frame[c:]
		if d.n == BlockSize {
			d.n = 0
			d.step(d.analyse())
		}
	}
	return d.out
}

// step runs the begin/end state machine on one block's result.
func (d *Detector) step(hit byte) {
	if hit != 0 {
		d.blockHits++
	}
	if hit != 0 && hit == d.lastHit {
		d.hits++
	} else if hit != 0 {
		d.hits = 1
	} else {
		d.hits = 0
	}
	d.lastHit = hit
	if d.current != 0 {
		if hit == d.current {
			d.misses = 0
			return
		}
		if d.misses++; d.misses < missesToEnd {
			return
		}
		d.current = 0
	}
	if hit != 0 && d.hits >= hitsToBegin {
		d.current, d.misses = hit, 0
		d.out = append(d.out, hit)
	}
}

// analyse returns the key the current block holds, or 0.
func (d *Detector) analyse() byte {
	b := d.block[:]
	var e1, e2 float32
	for i, x := range b {
		if i < BlockSize/2 {
			e1 += x * x
		} else {
			e2 += x * x
		}
	}
	total := e1 + e2
	if total < 2*d.minTonePower {
		return 0
	}
	if min(e1, e2) < steadyRatio*max(e1, e2) {
		return 0
	}
	var rp, cp [4]float32
	r, c := 0, 0
	for i := range 4 {
		rp[i] = d.rows[i].power(b)
		cp[i] = d.cols[i].power(b)
		if rp[i] > rp[r] {
			r = i
		}
		if cp[i] > cp[c] {
			c = i
		}
	}
	row, col := rp[r], cp[c]
	switch {
	case row < d.minTonePower || col < d.minTonePower:
		return 0
	case col > row*d.twistN || row > col*d.twistR:
		return 0
	case row+col < toneToTotal*total:
		return 0
	}
	for i := range 4 {
		if i != r && rp[i]*d.relPeak > row {
			return 0
		}
		if i != c && cp[i]*d.relPeak > col {
			return 0
		}
	}
	if d.harmonics[c].power(b) > col*d.harmLo {
		return 0
	}
	for _, p := range [2]struct {
		probes [2]goertzel
		e      float32
	}{{d.probes[r], row}, {d.probes[4+c], col}} {
		if p.probes[0].power(b) >= p.e || p.probes[1].power(b) >= p.e {
			return 0
		}
	}
	return keys[r][c]
}

// Freqs returns the row and column frequencies of a key, and false for a
// byte that is not a DTMF key.
func Freqs(key byte) (row, col float64, ok bool) {
	for r := range 4 {
		for c := range 4 {
			if keys[r][c] == key {
				return rowFreqs[r], colFreqs[c], true
			}
		}
	}
	return 0, 0, false
}

// Tones returns an 8 kHz source that plays key for on, each of its two
// tones at level dBm0, then silence for off, then ends. An unknown key
// plays only the silence.
func Tones(key byte, on, off time.Duration, level float64) call.Source {
	g := &generator{}
	g.add(key, on, level)
	g.add(0, off, 0)
	return g
}

// Sequence returns an 8 kHz source that plays the keys of s, each for on
// and followed by off of silence, with both tones at level dBm0 — the
// usual on/off is 100/100 ms at −10 dBm0.
func Sequence(s string, on, off time.Duration, level float64) call.Source {
	g := &generator{}
	for i := range len(s) {
		g.add(s[i], on, level)
		g.add(0, off, 0)
	}
	return g
}

type burst struct {
	w1, w2 float64 // radians per sample; 0: silence
	amp    float64
	n      int // samples
}

type generator struct {
	bursts []burst
	i, pos int
}

func (g *generator) add(key byte, d time.Duration, level float64) {
	n := int(int64(d) * Rate / int64(time.Second))
	if n <= 0 {
		return
	}
	b := burst{n: n}
	if r, c, ok := Freqs(key); ok {
		b.w1, b.w2 = 2*math.Pi*r/Rate, 2*math.Pi*c/Rate
		b.amp = tone.Amplitude(level)
	}
	g.bursts = append(g.bursts, b)
}

// ReadFrame fills f with the next samples; the last frame is padded with
// silence.
func (g *generator) ReadFrame(f []int16) bool {
	if g.i >= len(g.bursts) {
		return false
	}
	for k := range f {
		if g.i >= len(g.bursts) {
			f[k] = 0
			continue
		}
		b := &g.bursts[g.i]
		var v float64
		if b.amp != 0 {
			t := float64(g.pos)
			v = b.amp * (math.Sin(b.w1*t) + math.Sin(b.w2*t))
		}
		f[k] = int16(math.Round(v))
		if g.pos++; g.pos >= b.n {
			g.i, g.pos = g.i+1, 0
		}
	}
	return true
}
