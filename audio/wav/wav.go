// Package wav reads and writes RIFF WAVE files.
//
// The reader accepts what people upload: integer PCM of 8, 16, 24 or 32
// bits, 32-bit float, and G.711 µ-law and A-law (format tags 7 and 6), at
// any rate and with any number of channels, also as WAVE_FORMAT_EXTENSIBLE.
// It hands out 16-bit samples, downmixed to mono ((L+R)/2) by [Reader.ReadMono]
// or interleaved by [Reader.Read]. Nothing is preallocated from sizes in the
// header, so a hostile file cannot make it allocate more than it really
// contains.
//
// The writer writes 16-bit PCM: [Write] a whole buffer at once, [Writer] a
// stream (the call recorder) whose sizes are patched on Close.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Errors a caller can test for with errors.Is; the returned errors wrap
// them with what exactly was wrong.
var (
	ErrNotWAV      = errors.New("not a WAV file")
	ErrUnsupported = errors.New("unsupported WAV encoding")
	ErrTruncated   = errors.New("WAV file is truncated")
)

// Encoding is how the samples of a WAV file are coded.
type Encoding uint8

// Encodings the reader understands.
const (
	PCM   Encoding = iota + 1 // integer PCM; 8-bit is unsigned
	Float                     // IEEE float, 32 bits
	ULaw                      // G.711 µ-law, 8 bits
	ALaw                      // G.711 A-law, 8 bits
)

func (e Encoding) String() string {
	switch e {
	case PCM:
		return "PCM"
	case Float:
		return "float"
	case ULaw:
		return "µ-law"
	case ALaw:
		return "A-law"
	}
	return "unknown"
}

// Format describes the audio in a WAV file.
type Format struct {
	Encoding Encoding
	Rate     int // samples per second per channel
	Channels int
	Bits     int // bits per sample
}

// MaxChannels is the most channels the reader accepts.
const MaxChannels = 8

const streamingSize = 0xFFFFFFFF // data size a writer that never finished leaves

// streamingGuess: a data size this big (≥ 2 GiB less 64 KiB) is a
// placeholder from a writer on a pipe (espeak-ng --stdout writes
// 0x7FFFF000), so the data runs to the end of the file.
const streamingGuess = 0x7FFF0000

// Reader reads the samples of one WAV file.
type Reader struct {
	Format
	r      io.Reader
	remain int64 // data bytes left; -1: read to EOF
	frame  int   // bytes per frame
	buf    []byte
	mono   []int16
}

// NewReader parses the header of a WAV file up to its audio data.
func NewReader(r io.Reader) (*Reader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: no RIFF header (%v)", ErrNotWAV, err)
		}
		return nil, err
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE signature", ErrNotWAV)
	}
	wr := &Reader{r: r}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !haveFmt {
				return nil, fmt.Errorf("%w: no fmt chunk", ErrTruncated)
			}
			return nil, fmt.Errorf("%w: no data chunk", ErrTruncated)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: fmt chunk", ErrTruncated)
			}
			if err := wr.parseFmt(b[:size]); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			wr.remain = int64(size)
			if size >= streamingGuess {
				wr.remain = -1
			}
			return wr, nil
		default: // LIST, fact, cue, …: skip, with the pad byte
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return nil, fmt.Errorf("%w: %q chunk", ErrTruncated, id)
			}
		}
	}
}

func (wr *Reader) parseFmt(b []byte) error {
	tag := binary.LittleEndian.Uint16(b[0:2])
	ch := int(binary.LittleEndian.Uint16(b[2:4]))
	rate := binary.LittleEndian.Uint32(b[4:8])
	align := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if tag == 0xFFFE { // WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID
		if len(b) < 40 {
			return fmt.Errorf("%w: short extensible fmt chunk", ErrNotWAV)
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
	}
	switch {
	case tag == 1 && (bits == 8 || bits == 16 || bits == 24 || bits == 32):
		wr.Encoding = PCM
	case tag == 3 && bits == 32:
		wr.Encoding = Float
	case tag == 7 && bits == 8:
		wr.Encoding = ULaw
	case tag == 6 && bits == 8:
		wr.Encoding = ALaw
	default:
		return fmt.Errorf("%w: format tag %d with %d bits per sample (want PCM 8/16/24/32, float 32, µ-law or A-law)", ErrUnsupported, tag, bits)
	}
	if ch < 1 || ch > MaxChannels {
		return fmt.Errorf("%w: %d channels", ErrUnsupported, ch)
	}
	if rate < 1000 || rate > 384000 {
		return fmt.Errorf("%w: sample rate %d Hz", ErrUnsupported, rate)
	}
	wr.Rate, wr.Channels, wr.Bits = int(rate), ch, bits
	wr.frame = ch * bits / 8
	if align != 0 && align != wr.frame {
		return fmt.Errorf("%w: block align %d, want %d", ErrNotWAV, align, wr.frame)
	}
	return nil
}

// Frames is the number of frames (one sample per channel) the header
// declares, or -1 when the writer never filled it in.
func (wr *Reader) Frames() int64 {
	if wr.remain < 0 {
		return -1
	}
	return wr.remain / int64(wr.frame)
}

// Read fills dst with interleaved 16-bit samples, whole frames only, and
// returns how many samples it stored. At the end of the data it returns
// io.EOF; data shorter than the header says gives an error wrapping
// ErrTruncated.
func (wr *Reader) Read(dst []int16) (int, error) {
	frames := len(dst) / wr.Channels
	if frames == 0 {
		return 0, nil
	}
	if wr.remain == 0 {
		return 0, io.EOF
	}
	want := frames * wr.frame
	if wr.remain > 0 && int64(want) > wr.remain {
		want = int(wr.remain) / wr.frame * wr.frame
		if want == 0 {
			wr.remain = 0 // a partial frame at the end: ignore it
			return 0, io.EOF
		}
	}
	if cap(wr.buf) < want {
		wr.buf = make([]byte, want)
	}
	b := wr.buf[:want]
	n, err := io.ReadFull(wr.r, b)
	n -= n % wr.frame
	if wr.remain > 0 {
		wr.remain -= int64(n)
	}
	if err != nil {
		if wr.remain < 0 && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
			wr.remain = 0 // streamed file: the data ends where the file does
			err = nil
			if n == 0 {
				err = io.EOF
			}
		} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: audio data ends %d bytes early", ErrTruncated, wr.remain)
		}
	}
	wr.decode(dst, b[:n])
	return n / (wr.Bits / 8), err
}

// ReadMono is Read with the channels averaged into one.
func (wr *Reader) ReadMono(dst []int16) (int, error) {
	if wr.Channels == 1 {
		return wr.Read(dst)
	}
	need := len(dst) * wr.Channels
	if cap(wr.mono) < need {
		wr.mono = make([]int16, need)
	}
	n, err := wr.Read(wr.mono[:need])
	n /= wr.Channels
	for i := range n {
		var sum int32
		for _, s := range wr.mono[i*wr.Channels : (i+1)*wr.Channels] {
			sum += int32(s)
		}
		dst[i] = int16(sum / int32(wr.Channels))
	}
	return n, err
}

func (wr *Reader) decode(dst []int16, b []byte) {
	switch {
	case wr.Encoding == PCM && wr.Bits == 8:
		for i, v := range b {
			dst[i] = int16(v-128) << 8
		}
	case wr.Encoding == PCM && wr.Bits == 16:
		for i := range len(b) / 2 {
			dst[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case wr.Encoding == PCM && wr.Bits == 24:
		for i := range len(b) / 3 {
			dst[i] = int16(uint16(b[3*i+1]) | uint16(b[3*i+2])<<8)
		}
	case wr.Encoding == PCM && wr.Bits == 32:
		for i := range len(b) / 4 {
			dst[i] = int16(binary.LittleEndian.Uint32(b[4*i:]) >> 16)
		}
	case wr.Encoding == Float:
		for i := range len(b) / 4 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			switch {
			case f != f: // NaN
				dst[i] = 0
			case f >= 1:
				dst[i] = 32767
			case f <= -1:
				dst[i] = -32768
			default:
				dst[i] = int16(f * 32768)
			}
		}
	case wr.Encoding == ULaw:
		for i, v := range b {
			dst[i] = ulaw[v]
		}
	case wr.Encoding == ALaw:
		for i, v := range b {
			dst[i] = alaw[v]
		}
	}
}

// Expansion tables for G.711 data in WAV files (ITU-T G.711 decoding, to
// 16-bit linear). Only decoding is needed here; audio/g711 is the codec.
var ulaw, alaw [256]int16

func init() {
	for i := range 256 {
		u := ^byte(i)
		t := (int(u&0x0F)<<3 + 0x84) << ((u & 0x70) >> 4)
		if u&0x80 != 0 {
			ulaw[i] = int16(0x84 - t)
		} else {
			ulaw[i] = int16(t - 0x84)
		}
		a := byte(i) ^ 0x55
		seg := (a & 0x70) >> 4
		v := int(a&0x0F) << 4
		if seg == 0 {
			v += 8
		} else {
			v = (v + 0x108) << (seg - 1)
		}
		if a&0x80 != 0 {
			alaw[i] = int16(v)
		} else {
			alaw[i] = int16(-v)
		}
	}
}

// ErrTooLong is wrapped by DecodeMono when a file is longer than allowed.
var ErrTooLong = errors.New("audio is too long")

// DecodeMono reads a whole WAV file as mono 16-bit samples at its own rate.
// With maxFrames > 0, a longer file fails with an error wrapping
// ErrTooLong before more than maxFrames samples are kept.
func DecodeMono(r io.Reader, maxFrames int) ([]int16, Format, error) {
	wr, err := NewReader(r)
	if err != nil {
		return nil, Format{}, err
	}
	var out []int16
	if n := wr.Frames(); n > 0 && (maxFrames <= 0 || n <= int64(maxFrames)) && n <= 1<<20 {
		out = make([]int16, 0, n) // trust the header only this far
	}
	chunk := make([]int16, 4096)
	for {
		n, err := wr.ReadMono(chunk)
		if maxFrames > 0 && len(out)+n > maxFrames {
			return nil, wr.Format, fmt.Errorf("%w: more than %d samples at %d Hz", ErrTooLong, maxFrames, wr.Rate)
		}
		out = append(out, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			return out, wr.Format, nil
		}
		if err != nil {
			return nil, wr.Format, err
		}
	}
}
