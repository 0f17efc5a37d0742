package fsk

import (
	"math"

	"ringbox/audio/dtmf"
	"ringbox/audio/tone"
)

// Receiver parameters.
const (
	// bitLen is one bit in samples (6⅔).
	bitLen = float64(Rate) / baud
	// window is the correlator length in samples: a bit and a fifth. Longer
	// than a bit integrates more of it at a small cost in intersymbol
	// interference; 8 received best in the noise tests (6 and 7 less well).
	window = 8
	// tableLen holds a whole number of periods of 1200, 1300, 2100 and
	// 2200 Hz at 8 kHz, so the mixers are exact table look-ups.
	tableLen = 80
	// minLevel is the weakest carrier the receiver listens to, in dBm0;
	// below it the line is treated as silent and no start bit is looked
	// for (GR-30 asks receivers to work down to -32 dBm, EN 300 659 to -40).
	minLevel = -42.0
	// idleBits of mark (or silence) after a character end a message in
	// progress: characters of one message follow each other closely, and
	// the seizure ends 180 bits before the message starts.
	idleBits = 40
	// maxFrame is the longest frame: type, length, 255 bytes, checksum.
	maxFrame = 258
)

// Bit clock loop gains (see trackErr) and the largest edge error it takes.
const (
	phaseGain      = 0.6
	rateGain       = 0.3
	maxTimingError = 2.0
)

// UART states besides the bit numbers 0..9.
const (
	hunting   = -1 // for a start bit's edge
	expecting = -2 // the next character's start bit 10 bits after the last
)

// biquad is a second-order IIR section (direct form I).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}

// newBiquad designs a Butterworth (Q = 1/√2) high-pass or low-pass section
// at hz (R. Bristow-Johnson's audio EQ cookbook).
func newBiquad(hz float64, highPass bool) biquad {
	w := 2 * math.Pi * hz / Rate
	alpha := math.Sin(w) / math.Sqrt2
	cw := math.Cos(w)
	a0 := 1 + alpha
	f := biquad{a1: -2 * cw / a0, a2: (1 - alpha) / a0}
	if highPass {
		f.b0 = (1 + cw) / 2 / a0
		f.b1 = -(1 + cw) / a0
	} else {
		f.b0 = (1 - cw) / 2 / a0
		f.b1 = (1 - cw) / a0
	}
	f.b2 = f.b0
	return f
}

// Demod receives caller ID from a line: the FXO engine feeds it the audio
// heard between rings. It is not safe for concurrent use.
type Demod struct {
	std Standard

	// Front end: filters, mixers, correlators.
	hp, lp      biquad
	mark, space [tableLen][2]float64 // cos, sin
	ph          int                  // mixer table index
	hist        [window][4]float64   // last products: mark I, Q, space I, Q
	hi          int
	sum         [4]float64 // the correlators: sums of hist
	minPower    float64    // correlator power of a minLevel carrier
	prevDec     float64
	prevCarrier bool
	lastCarrier int64 // sample number

	// UART and bit clock.
	n            int64   // samples seen
	uartBit      int     // hunting, expecting, or 0..9: the bit to sample next
	edge         float64 // sample number of the current start bit's edge
	measured     float64 // expecting: a crossing near the predicted edge
	haveMeasured bool
	anchor       float64 // the start edge of the first of a run of characters
	chars10      int     // characters since anchor
	bl           float64 // bit length in samples, tracked
	char         byte
	idle         int64 // sample number of the last character's stop bit

	// Characters received, and the message found in this frame.
	buf   [maxFrame]byte
	nb    int
	found bool
	msg   Message

	// DTMFCLIP.
	dtmf   *dtmf.Detector
	digits [32]byte
	nd     int
	inCLIP bool
}

// NewDemod returns a receiver for std.
func NewDemod(std Standard) *Demod {
	d := &Demod{std: std}
	if std == DTMFCLIP {
		d.dtmf = dtmf.NewDetector()
		return d
	}
	m, s := std.freqs()
	for i := range tableLen {
		wm, ws := 2*math.Pi*m*float64(i)/Rate, 2*math.Pi*s*float64(i)/Rate
		d.mark[i] = [2]float64{math.Cos(wm), math.Sin(wm)}
		d.space[i] = [2]float64{math.Cos(ws), math.Sin(ws)}
	}
	// A sine of amplitude a gives a correlator magnitude of about a·window/2.
	a := tone.Amplitude(minLevel) * window / 2
	d.minPower = a * a
	d.Reset()
	return d
}

// Reset forgets everything heard so far.
func (d *Demod) Reset() {
	if d.dtmf != nil {
		d.dtmf.Reset()
		d.nd, d.inCLIP = 0, false
		return
	}
	*d = Demod{
		std: d.std, mark: d.mark, space: d.space, minPower: d.minPower,
		hp: newBiquad(600, true), lp: newBiquad(3000, false),
		uartBit: hunting, bl: bitLen,
	}
}

// Feed takes the next 20 ms frame (160 samples at 8 kHz). It returns a
// message once one is complete with a good checksum (DTMFCLIP: once the
// closing C digit is heard), and keeps listening after that.
func (d *Demod) Feed(frame []int16) (Message, bool) {
	if d.dtmf != nil {
		return d.feedDTMF(frame)
	}
	d.found = false
	for _, s := range frame {
		d.sample(float64(s))
	}
	if d.found {
		return d.msg, true
	}
	return Message{}, false
}

// sample runs the correlators and the UART on one sample.
func (d *Demod) sample(x float64) {
	x = d.lp.step(d.hp.step(x))
	cm, cs := &d.mark[d.ph], &d.space[d.ph]
	if d.ph++; d.ph == tableLen {
		d.ph = 0
	}
	p := [4]float64{x * cm[0], x * cm[1], x * cs[0], x * cs[1]}
	old := &d.hist[d.hi]
	for i := range p {
		d.sum[i] += p[i] - old[i]
	}
	*old = p
	if d.hi++; d.hi == window {
		d.hi = 0
	}
	pm := d.sum[0]*d.sum[0] + d.sum[1]*d.sum[1]
	ps := d.sum[2]*d.sum[2] + d.sum[3]*d.sum[3]
	dec := math.Sqrt(pm) - math.Sqrt(ps) // > 0: mark
	carrier := pm+ps >= d.minPower
	n := d.n
	d.n++

	// A mark-to-space zero crossing of the decision: where the correlator
	// window straddles a start bit's edge evenly. Interpolated between
	// samples.
	crossing := carrier && d.prevCarrier && d.prevDec > 0 && dec <= 0
	edge := 0.0
	if crossing {
		edge = float64(n-1) + d.prevDec/(d.prevDec-dec)
	}
	switch {
	case d.uartBit == hunting:
		if n-d.idle > idleBits*Rate/baud {
			d.nb = 0 // the message in progress ended without a good checksum
		}
		// The bit rate learnt from the channel seizure holds for the
		// message after the mark; a new burst (after 20 ms without a
		// carrier) starts from the nominal rate.
		if carrier {
			d.lastCarrier = n
		} else if n-d.lastCarrier > Rate/50 {
			d.bl = bitLen
		}
		if crossing {
			d.uartBit, d.edge = 0, edge
		}
	case d.uartBit == expecting:
		// The previous character ended; if the next follows at once its
		// start bit begins 10 bits after the previous one. Noise moves a
		// single crossing a lot, the sender's clock little, so the edge
		// is between the prediction and a crossing near it (trackErr).
		if crossing && math.Abs(edge-d.edge) <= 2.5 {
			d.measured, d.haveMeasured = edge, true
		}
		if float64(n) >= d.edge+d.bl/2-0.5 {
			if dec > 0 { // idle mark: hunt for the next start bit
				d.uartBit = hunting
				break
			}
			d.chars10++
			if d.haveMeasured {
				d.trackErr(d.measured-d.edge, 10)
				// Over several characters the edges give the sender's bit
				// rate far better than one character's error does.
				if d.chars10 >= 3 {
					bl := (d.measured - d.anchor) / float64(10*d.chars10)
					d.bl = min(max(bl, bitLen*0.96), bitLen*1.04)
				}
			}
			d.char, d.uartBit = 0, 1
		}
	case d.uartBit == 0:
		// A later crossing before the start bit's middle means the first
		// was noise in the mark before it.
		if crossing {
			d.edge = edge
		}
		if float64(n) >= d.edge+d.bl/2-0.5 {
			if dec > 0 { // noise, not a start bit
				d.uartBit = hunting
				break
			}
			d.anchor, d.chars10 = d.edge, 0
			d.char, d.uartBit = 0, 1
		}
	default:
		at := d.edge + (float64(d.uartBit)+0.5)*d.bl
		if float64(n) < at-0.5 {
			break
		}
		if d.uartBit <= 8 {
			if dec > 0 {
				d.char |= 1 << (d.uartBit - 1)
			}
			d.uartBit++
			break
		}
		// Stop bit.
		d.idle = n
		if dec <= 0 {
			d.nb = 0 // framing error: the characters so far are suspect
			d.uartBit = hunting
			break
		}
		d.gotChar(d.char)
		d.uartBit, d.edge, d.haveMeasured = expecting, d.edge+10*d.bl, false
	}
	d.prevDec, d.prevCarrier = dec, carrier
}

// trackErr corrects the bit clock for an edge err samples late, k bits
// after the last reference.
func (d *Demod) trackErr(err, k float64) {
	if math.Abs(err) > maxTimingError {
		return
	}
	d.edge += phaseGain * err
	d.bl = min(max(d.bl+rateGain*err/k, bitLen*0.96), bitLen*1.04)
}

// gotChar adds a received character and looks for a complete frame
// ending with it: any earlier MDMF or SDMF type byte whose length byte
// says the frame ends here, with a good checksum.
func (d *Demod) gotChar(c byte) {
	if d.nb == len(d.buf) {
		d.nb = 0
	}
	d.buf[d.nb] = c
	d.nb++
	for i := 0; i+3 <= d.nb; i++ {
		t := d.buf[i]
		if t != typeMDMF && t != typeSDMF || i+int(d.buf[i+1])+3 != d.nb {
			continue
		}
		f := d.buf[i:d.nb]
		if checksum(f[:len(f)-1]) != f[len(f)-1] {
			continue
		}
		if m, err := Decode(f); err == nil {
			d.msg, d.found, d.nb = m, true, 0
			return
		}
	}
}

// feedDTMF collects DTMF CLIP: A (or B) starts, digits, C ends.
func (d *Demod) feedDTMF(frame []int16) (Message, bool) {
	var m Message
	ok := false
	for _, k := range d.dtmf.Feed(frame) {
		switch {
		case k == 'A' || k == 'B':
			d.inCLIP, d.nd = true, 0
			d.digits[0] = k
			d.nd = 1
		case !d.inCLIP:
		case k == 'C':
			d.inCLIP = false
			m, ok = d.clipMessage()
		case d.nd < len(d.digits):
			d.digits[d.nd] = k
			d.nd++
		default: // longer than any number: not caller ID
			d.inCLIP = false
		}
	}
	return m, ok
}

// clipMessage reads the collected digits: "A" number, or "B" and a reason
// (1 private, 0 unavailable).
func (d *Demod) clipMessage() (Message, bool) {
	s := d.digits[:d.nd]
	if s[0] == 'B' {
		switch string(s[1:]) {
		case "1", "10":
			return Message{NumberAbsent: 'P'}, true
		case "0", "00":
			return Message{NumberAbsent: 'O'}, true
		}
		return Message{}, false
	}
	if len(s) < 2 {
		return Message{}, false
	}
	return Message{Number: cleanNumber(string(s[1:]))}, true
}
