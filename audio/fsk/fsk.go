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
// [Demod] band-limits the line (Butterworth high-pass at 600 Hz, low-pass
// at 3000 Hz), mixes it with the mark and the space frequency (I and Q,
// from exact tables), sums each product over 8 samples (1.2 bits: a
// matched, non-coherent correlator) and takes the difference of the two
// tones' magnitudes as the decision. A UART finds each start bit's edge
// at the decision's zero crossing, interpolated between samples, and
// reads the decision at the middle of each following bit. When characters
// follow each other, as in the 0x55 seizure and in a message, the next
// start bit is expected 10 bits after the last and measured near there;
// the edges of a run of characters give the sender's bit rate, so a
// sender whose clock is off by a few percent is followed. Every position
// where an MDMF or SDMF frame could start is tried against the checksum.
// Nothing is allocated per frame, and a 20 ms frame costs about 3 µs.
//
// Measured on OnHook bursts at -30 to -5 dBm0 with clocks off by up to
// ±1.5% and white noise over the whole band: every message is received
// at 10 dB SNR and above, about 3 in 4 at 6 dB (a non-coherent receiver's
// bit error rate there, about 1e-3, loses some of a message's 300-500
// bits).
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
