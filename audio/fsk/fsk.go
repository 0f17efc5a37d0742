// Package fsk sends and receives analog caller ID: the on-hook (type I)
// burst an FXS port plays between the first and second ring, the off-hook
// (type II, call waiting) burst after a CPE alerting signal, and the
// receiver the FXO engine runs on the audio heard between rings.
//
// # Standards
//
// Three signallings are in use ([StandardFor] maps tone zones to them):
//
//   - [Bell202] (us, ca; Telcordia GR-30): 1200 baud FSK, mark 1200 Hz,
//     space 2200 Hz.
//   - [V23] (ETSI EN 300 659, ITU-T V.23 forward channel): 1200 baud FSK,
//     mark 1300 Hz, space 2100 Hz. Most of Europe, Australia and Japan.
//   - [DTMFCLIP] (nl): the number sent as DTMF digits, "A" number "C".
//
// The FSK standards carry the same message: an MDMF frame ([Encode],
// [Decode]) sent as asynchronous characters: start bit 0, eight data bits
// LSB first, stop bit 1.
//
// # Receiver
//
// [Demod] band-limits the line (300-3400 Hz would do; it uses 600-3000
// Hz), mixes it with the mark and the space frequency (I/Q), sums each
// product over one bit (a matched, non-coherent correlator) and compares
// the two tone energies. A UART then finds each start bit's edge (the
// zero crossing of the decision, interpolated between samples) and
// samples the decision at the middle of each following bit. Characters
// are collected and every place where an MDMF or SDMF message could start
// is tried until one has a good checksum. Nothing is allocated per frame.
package fsk

import "time"

// Rate is the sample rate of everything in this package.
const Rate = 8000

// Standard is how a zone sends caller ID on analog lines.
type Standard int

const (
	Bell202  Standard = iota + 1 // us, ca: 1200 baud, mark 1200 Hz, space 2200 Hz
	V23                          // ETSI EN 300 659 / V.23: mark 1300 Hz, space 2100 Hz (uk, de, fr, it, es, au, jp)
	DTMFCLIP                     // DTMF caller ID (ETSI EN 300 659 DTMF / "DTMF CLIP": nl)
)

func (s Standard) String() string {
	switch s {
	case Bell202:
		return "bell202"
	case V23:
		return "v23"
	case DTMFCLIP:
		return "dtmf"
	}
	return "unknown"
}

// StandardFor returns the caller-ID standard of a tone zone (an
// audio/tone zone name). Zones it does not know use V23, the most
// widespread.
func StandardFor(zone string) Standard {
	switch zone {
	case "us", "ca":
		return Bell202
	case "nl":
		return DTMFCLIP
	}
	return V23
}

// freqs returns the mark and space frequencies of an FSK standard.
func (s Standard) freqs() (mark, space float64) {
	if s == Bell202 {
		return 1200, 2200
	}
	return 1300, 2100
}

// Message is one caller-ID message (MDMF: date/time, number, name).
type Message struct {
	Time   time.Time // month, day, hour, minute are sent (local time of the box)
	Number string    // digits, may start with +; "" when absent
	Name   string    // "" when absent
	// NumberAbsent / NameAbsent: 'O' (out of area / unavailable) or 'P'
	// (private), 0 when present.
	NumberAbsent, NameAbsent byte
}
