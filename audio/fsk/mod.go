package fsk

import (
	"math"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/audio/tone"
)

// Bit counts of the FSK bursts (GR-30, EN 300 659-1).
const (
	baud         = 1200
	seizureBytes = 30  // 0x55 framed: 300 bits alternating 0/1
	markBitsI    = 180 // type I: 150 ms of mark before the message
	markBitsII   = 96  // type II: 80 ms of mark
	trailBits    = 10  // mark after the last character, so a receiver sees its stop bit
)

// DTMF caller-ID timing: 70 ms per digit and 70 ms between digits.
const dtmfOn, dtmfOff = 70 * time.Millisecond, 70 * time.Millisecond

// OnHook renders the on-hook (type I) caller-ID burst as 8 kHz 16-bit PCM
// at level dBm0 (the FSK carrier's level, [tone.Amplitude]). FSK: channel
// seizure (300 bits alternating 0/1), 180 bits of mark, the [Encode]d
// message as start/8 data/stop characters, then 10 mark bits, with
// continuous phase. DTMFCLIP: "A" number "C" (a private number "B1C",
// unavailable "B0C") as 70 ms digits with 70 ms gaps, each tone at level.
func OnHook(std Standard, m Message, level float64) []int16 {
	if std == DTMFCLIP {
		return dtmfCLIP(m, level)
	}
	var bits []byte
	for range seizureBytes {
		bits = appendChar(bits, 0x55)
	}
	bits = appendMark(bits, markBitsI)
	for _, c := range Encode(m) {
		bits = appendChar(bits, c)
	}
	bits = appendMark(bits, trailBits)
	return modulate(std, bits, level)
}

// OffHook renders type II caller ID (call waiting), sent after the CPE
// alerting signal was acknowledged: no seizure, 80 ms of mark, then the
// message. DTMFCLIP: the same as OnHook.
func OffHook(std Standard, m Message, level float64) []int16 {
	if std == DTMFCLIP {
		return dtmfCLIP(m, level)
	}
	bits := appendMark(nil, markBitsII)
	for _, c := range Encode(m) {
		bits = appendChar(bits, c)
	}
	bits = appendMark(bits, trailBits)
	return modulate(std, bits, level)
}

// CAS renders the CPE alerting signal (GR-30 CAS, ETSI DT-AS): 2130 and
// 2750 Hz together for 80 ms, each at level dBm0, with 2 ms ramps so it
// does not click.
func CAS(level float64) []int16 {
	const n = Rate * 80 / 1000
	const ramp = Rate * 2 / 1000
	a := tone.Amplitude(level)
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / Rate
		v := a * (math.Sin(2*math.Pi*2130*t) + math.Sin(2*math.Pi*2750*t))
		if e := min(i, n-1-i); e < ramp {
			v *= 0.5 * (1 - math.Cos(math.Pi*float64(e)/ramp))
		}
		out[i] = int16(math.Round(v))
	}
	return out
}

func appendChar(bits []byte, c byte) []byte {
	bits = append(bits, 0)
	for i := range 8 {
		bits = append(bits, c>>i&1)
	}
	return append(bits, 1)
}

func appendMark(bits []byte, n int) []byte {
	for range n {
		bits = append(bits, 1)
	}
	return bits
}

// modulate renders bits at 1200 baud as continuous-phase FSK. Bit k
// covers samples [k·Rate/baud, (k+1)·Rate/baud), so the 6⅔-sample bits
// do not drift.
func modulate(std Standard, bits []byte, level float64) []int16 {
	mark, space := std.freqs()
	a := tone.Amplitude(level)
	n := len(bits) * Rate / baud
	out := make([]int16, n)
	var ph float64
	for i := range out {
		f := space
		if bits[i*baud/Rate] == 1 {
			f = mark
		}
		out[i] = int16(math.Round(a * math.Sin(ph)))
		ph = math.Mod(ph+2*math.Pi*f/Rate, 2*math.Pi)
	}
	return out
}

// dtmfCLIP renders DTMF caller ID: A, the number's digits, C.
func dtmfCLIP(m Message, level float64) []int16 {
	s := []byte{'A'}
	switch {
	case m.NumberAbsent == 'P':
		s = []byte("B1")
	case m.NumberAbsent != 0:
		s = []byte("B0")
	default:
		for i := range len(m.Number) {
			if c := m.Number[i]; c >= '0' && c <= '9' || c == '*' || c == '#' {
				s = append(s, c)
			}
		}
	}
	s = append(s, 'C')
	src := dtmf.Sequence(string(s), dtmfOn, dtmfOff, level)
	var out []int16
	f := make([]int16, Rate/50)
	for src.ReadFrame(f) {
		out = append(out, f...)
	}
	return out
}
