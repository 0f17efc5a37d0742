// Package resample converts 16-bit mono PCM between sample rates with a
// rational polyphase windowed-sinc filter.
//
// The ratio out/in is reduced to L/M. Conceptually the input is upsampled by
// L (zeros inserted), low-pass filtered, and every M-th sample kept; the
// filter is split into L phases so only the taps that meet a real input
// sample are computed. The prototype is a sinc with a Kaiser window (β = 8,
// about 80 dB stop band) cut off at 0.9 of the lower Nyquist frequency, with
// 12 zero crossings on each side: 44.1 kHz to 8 kHz costs 147 multiply-adds
// per output sample.
//
// Uploads (WAV, MP3) are converted once at import time, so speed matters
// less than quality; nothing in a call path resamples.
//
// # Usage
//
//	r := resample.New(44100, 8000)
//	out = r.Process(out[:0], chunk) // as often as needed
//	out = r.Flush(out)              // the tail held back by the filter
//
// The output is aligned with the input (the filter's delay is removed), and
// after Flush a stream of n input samples gives ceil(n·out/in) samples.
// A Resampler is not safe for concurrent use.
package resample

import "math"

const (
	beta      = 8.0  // Kaiser window shape: ~80 dB stop band
	crossings = 12   // sinc zero crossings per side of the lower rate
	cutoff    = 0.90 // pass band edge as a fraction of the lower Nyquist
)

// Resampler converts one stream from one rate to another, keeping the
// history it needs between calls to Process.
type Resampler struct {
	in, out int
	l, m    int       // out/in reduced: upsample by l, keep every m-th
	taps    int       // filter taps per phase
	h       []float32 // l phases of taps coefficients, each reversed for a forward dot product
	buf     []float32 // input history; the window starts at pos
	pos     int       // start of the current window in buf
	phase   int       // current phase, 0..l-1
	nIn     int64     // input samples seen
	nOut    int64     // output samples produced
}

// New returns a resampler from inRate to outRate (both in Hz, positive).
func New(inRate, outRate int) *Resampler {
	if inRate <= 0 || outRate <= 0 {
		panic("resample: rates must be positive")
	}
	g := gcd(inRate, outRate)
	r := &Resampler{in: inRate, out: outRate, l: outRate / g, m: inRate / g}
	if r.l == 1 && r.m == 1 {
		return r
	}
	lower := min(inRate, outRate)
	fc := cutoff * float64(lower) / 2 // Hz
	// Zero-crossing spacing of the sinc, in input samples, is in/(2fc); the
	// window covers crossings of them on each side.
	r.taps = int(math.Ceil(2 * crossings * float64(inRate) / (2 * fc)))
	if r.taps%2 == 1 {
		r.taps++
	}
	n := r.taps * r.l // prototype length at the upsampled rate
	up := float64(inRate) * float64(r.l)
	f := fc / up // normalised cutoff, cycles per upsampled sample
	proto := make([]float64, n)
	// Centre on a whole upsampled sample so that Reset can remove the
	// delay exactly; the window is symmetric about the same point.
	ci := (n - 1) / 2
	c := float64(ci)
	half := float64(ci + 1)
	i0b := besselI0(beta)
	var sum float64
	for i := range proto {
		x := float64(i) - c
		s := 2 * f
		if x != 0 {
			s = math.Sin(2*math.Pi*f*x) / (math.Pi * x)
		}
		t := x / half
		w := besselI0(beta*math.Sqrt(max(0, 1-t*t))) / i0b
		proto[i] = s * w
		sum += proto[i]
	}
	// Unity gain per phase on average: the upsampled signal has 1/l of the
	// energy, so the filter's DC gain must be l.
	scale := float64(r.l) / sum
	r.h = make([]float32, n)
	for ph := 0; ph < r.l; ph++ {
		for k := 0; k < r.taps; k++ {
			r.h[ph*r.taps+k] = float32(proto[ph+(r.taps-1-k)*r.l] * scale)
		}
	}
	r.Reset()
	return r
}

// Reset forgets the history so the resampler can start a new stream.
func (r *Resampler) Reset() {
	r.nIn, r.nOut = 0, 0
	if r.h == nil {
		return
	}
	if r.buf == nil {
		r.buf = make([]float32, r.taps-1, r.taps+4096)
	}
	r.buf = r.buf[:r.taps-1]
	clear(r.buf)
	// Start at the filter's centre so output sample 0 lines up with input
	// sample 0 instead of arriving (taps/2 input samples) late.
	c := (r.taps*r.l - 1) / 2
	r.pos, r.phase = c/r.l, c%r.l
}

// Rates returns the input and output rates.
func (r *Resampler) Rates() (in, out int) { return r.in, r.out }

// Process resamples src and appends the result to dst, returning the
// extended slice. It keeps the samples still needed for the next call; it
// does not allocate once dst and its internal buffer have grown to the
// chunk size in use.
func (r *Resampler) Process(dst, src []int16) []int16 {
	r.nIn += int64(len(src))
	if r.h == nil {
		r.nOut += int64(len(src))
		return append(dst, src...)
	}
	for _, s := range src {
		r.buf = append(r.buf, float32(s))
	}
	return r.run(dst, -1)
}

// Flush pushes the samples still held in the filter through it, appends
// them to dst, and resets r for a new stream.
func (r *Resampler) Flush(dst []int16) []int16 {
	if r.h != nil {
		want := (r.nIn*int64(r.l) + int64(r.m) - 1) / int64(r.m)
		for range r.taps {
			r.buf = append(r.buf, 0)
		}
		dst = r.run(dst, want-r.nOut)
	}
	r.Reset()
	return dst
}

// run produces output samples while a whole window is buffered, at most
// limit of them when limit ≥ 0.
func (r *Resampler) run(dst []int16, limit int64) []int16 {
	buf, taps := r.buf, r.taps
	pos, phase := r.pos, r.phase
	for pos+taps <= len(buf) && limit != 0 {
		h := r.h[phase*taps : phase*taps+taps]
		w := buf[pos : pos+taps]
		var acc0, acc1 float32
		k := 0
		for ; k+1 < len(h); k += 2 {
			acc0 += h[k] * w[k]
			acc1 += h[k+1] * w[k+1]
		}
		if k < len(h) {
			acc0 += h[k] * w[k]
		}
		dst = append(dst, clamp(acc0+acc1))
		r.nOut++
		limit--
		phase += r.m
		pos += phase / r.l
		phase %= r.l
	}
	// Keep only the history still needed.
	if pos > 0 {
		if pos > len(buf) {
			// Decimating past buffered input: remember how far ahead we are.
			pos -= len(buf)
			buf = buf[:0]
		} else {
			n := copy(buf, buf[pos:])
			buf = buf[:n]
			pos = 0
		}
	}
	r.buf, r.pos, r.phase = buf, pos, phase
	return dst
}

func clamp(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges fast for the arguments a Kaiser window uses).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-16 {
			break
		}
	}
	return sum
}
