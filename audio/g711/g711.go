// Package g711 converts between 16-bit linear PCM and ITU-T G.711 µ-law
// (PCMU) and A-law (PCMA).
//
// Decoding is a lookup in a 256-entry table. Encoding is a lookup in a
// table indexed by the sample's top bits (14 bits for µ-law, 13 for A-law,
// which is all the precision either law keeps), so both directions are one
// memory access per sample. The tables are built once at package
// initialisation from the segment definitions of G.711 (the same behaviour
// as the public-domain Sun reference implementation), so there is no magic
// data in the source.
//
// The slice functions never allocate; they convert min(len(dst), len(src))
// samples and return that count.
package g711

const (
	ulawBias = 0x84 // added to the magnitude so segment boundaries are powers of two
	ulawClip = 8159 // largest 14-bit magnitude µ-law represents
)

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	linearToUlaw [1 << 14]uint8 // index: uint16(sample) >> 2
	linearToAlaw [1 << 13]uint8 // index: uint16(sample) >> 3
	// ulawToAlaw and alawToUlaw transcode without a trip through linear
	// code (for bridging a PCMU leg to a PCMA leg).
	ulawToAlaw [256]uint8
	alawToUlaw [256]uint8
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = ulawDecode(uint8(i))
		alawToLinear[i] = alawDecode(uint8(i))
	}
	for i := range linearToUlaw {
		linearToUlaw[i] = ulawEncode(int16(uint16(i) << 2))
	}
	for i := range linearToAlaw {
		linearToAlaw[i] = alawEncode(int16(uint16(i) << 3))
	}
	for i := range 256 {
		ulawToAlaw[i] = EncodeAlawSample(ulawToLinear[i])
		alawToUlaw[i] = EncodeUlawSample(alawToLinear[i])
	}
}

// segment returns the number of the segment whose upper bound is the first
// of (ends[0], ends[0]*2+1, …) not below v, or 8 when v is above all of them.
func segment(v, first int) int {
	seg := 0
	for end := first; seg < 8 && v > end; end = end<<1 | 1 {
		seg++
	}
	return seg
}

// ulawEncode is the reference µ-law encoder used to build the table.
func ulawEncode(s int16) uint8 {
	v := int(s) >> 2 // µ-law keeps 14 bits
	mask := uint8(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias >> 2
	seg := segment(v, 0x3F)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	return uint8(seg<<4|(v>>(seg+1))&0x0F) ^ mask
}

// ulawDecode is the reference µ-law decoder used to build the table.
func ulawDecode(u uint8) int16 {
	u = ^u
	t := (int(u&0x0F) << 3) + ulawBias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// alawEncode is the reference A-law encoder used to build the table.
func alawEncode(s int16) uint8 {
	v := int(s) >> 3 // A-law keeps 13 bits
	mask := uint8(0xD5)
	if v < 0 {
		v = -v - 1
		mask = 0x55
	}
	seg := segment(v, 0x1F)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := seg << 4
	if seg < 2 {
		a |= (v >> 1) & 0x0F
	} else {
		a |= (v >> seg) & 0x0F
	}
	return uint8(a) ^ mask
}

// alawDecode is the reference A-law decoder used to build the table.
func alawDecode(a uint8) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// EncodeUlawSample encodes one linear sample as µ-law.
func EncodeUlawSample(s int16) uint8 { return linearToUlaw[uint16(s)>>2] }

// DecodeUlawSample decodes one µ-law byte.
func DecodeUlawSample(u uint8) int16 { return ulawToLinear[u] }

// EncodeAlawSample encodes one linear sample as A-law.
func EncodeAlawSample(s int16) uint8 { return linearToAlaw[uint16(s)>>3] }

// DecodeAlawSample decodes one A-law byte.
func DecodeAlawSample(a uint8) int16 { return alawToLinear[a] }

// EncodeUlaw encodes src into dst as µ-law and returns the number of
// samples converted.
func EncodeUlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = linearToUlaw[uint16(s)>>2]
	}
	return n
}

// DecodeUlaw decodes µ-law src into dst and returns the number of samples
// converted.
func DecodeUlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, u := range src {
		dst[i] = ulawToLinear[u]
	}
	return n
}

// EncodeAlaw encodes src into dst as A-law and returns the number of
// samples converted.
func EncodeAlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = linearToAlaw[uint16(s)>>3]
	}
	return n
}

// DecodeAlaw decodes A-law src into dst and returns the number of samples
// converted.
func DecodeAlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, a := range src {
		dst[i] = alawToLinear[a]
	}
	return n
}

// UlawToAlaw transcodes µ-law bytes to A-law in place-safe fashion (dst and
// src may be the same slice) and returns the number converted.
func UlawToAlaw(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, u := range src {
		dst[i] = ulawToAlaw[u]
	}
	return n
}

// AlawToUlaw transcodes A-law bytes to µ-law (dst and src may be the same
// slice) and returns the number converted.
func AlawToUlaw(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, a := range src {
		dst[i] = alawToUlaw[a]
	}
	return n
}
