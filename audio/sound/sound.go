// Package sound turns uploaded audio files into the PCM that calls play.
//
// [Import] takes a WAV or MP3 file of any common rate, decodes it to mono
// ((L+R)/2), resamples it to both 8 kHz (G.711) and 16 kHz (G.722),
// normalises its level and returns a [Clip]. It runs once, when a prompt or
// a music-on-hold track is uploaded, so no call ever decodes MP3 or
// resamples.
//
// Uploads are untrusted: the input is read through a byte limit, the
// decoded length is capped (10 minutes by default) while decoding, and
// every failure says what is wrong with the file in words a user of the web
// UI can act on (the error text is meant to be shown).
//
// MP3 decoding is github.com/hajimehoshi/go-mp3: MPEG-1 and MPEG-2 layer
// III (16–48 kHz). MPEG-2.5 (8–12 kHz MP3s) and free-format streams are
// refused with an error saying so. Known weakness: go-mp3 silently garbles
// some low-bitrate MPEG-2 files (seen here with 22.05 kHz mono at 32
// kbit/s; go-mp3 issue #39), so the UI should let the user listen to the
// imported clip.
package sound

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/hajimehoshi/go-mp3"

	"ringbox/audio/resample"
	"ringbox/audio/wav"
)

// Errors an upload can fail with, for errors.Is. The returned errors wrap
// them with details. WAV problems also wrap the wav package's errors
// (wav.ErrTruncated, wav.ErrUnsupported, …).
var (
	ErrUnknownFormat = errors.New("not a WAV or MP3 file")
	ErrUnsupported   = errors.New("unsupported audio encoding")
	ErrCorrupt       = errors.New("file is damaged or truncated")
	ErrTooBig        = errors.New("file is too big")
	ErrTooLong       = errors.New("audio is too long")
	ErrSilent        = errors.New("audio is silent")
)

// DefaultMaxDuration is the longest upload Import accepts.
const DefaultMaxDuration = 10 * time.Minute

// Level targets.
const (
	targetPeak  = 23197 // −3 dBFS
	silentPeak  = 104   // −50 dBFS: nothing audible on a phone
	headroom    = 0.7   // before resampling, so filter overshoot cannot clip
	minRate     = 4000
	maxRate     = 192000
	maxPhases   = 1000 // resampler table size limit: rejects odd prime rates
	wavChunkLen = 4096
)

// Clip is an imported sound, ready to play.
type Clip struct {
	PCM8k    []int16 // mono, 8 kHz
	PCM16k   []int16 // mono, 16 kHz
	Duration time.Duration
}

// Limits bound what Import accepts. The zero value means no byte limit and
// DefaultMaxDuration.
type Limits struct {
	MaxBytes    int64         // ≤ 0: no limit
	MaxDuration time.Duration // ≤ 0: DefaultMaxDuration
}

// Import reads a WAV or MP3 file (name is used for messages and as a hint
// only; the content decides the format), at most maxBytes long (≤ 0: no
// limit) and at most DefaultMaxDuration, and returns it as a Clip.
func Import(r io.Reader, name string, maxBytes int64) (*Clip, error) {
	return Limits{MaxBytes: maxBytes}.Import(r, name)
}

// Import is [Import] with these limits.
//
// The file is decoded, downmixed and resampled a chunk at a time: only the
// 8 and 16 kHz results are held, never the whole file at its own rate (ten
// minutes of 48 kHz audio held as float samples for the resampler took
// over 200 MB, more than a 512 MB box can spare next to its calls).
func (l Limits) Import(r io.Reader, name string) (*Clip, error) {
	var c clipSink
	if err := l.decode(r, name, &c); err != nil {
		return nil, err
	}
	if c.peak < silentPeak {
		return nil, fmt.Errorf("%s: %w (loudest sample %.0f dBFS)", name, ErrSilent, dbfs(c.peak))
	}
	clip := &Clip{
		PCM8k:    c.r8.Flush(c.pcm8),
		PCM16k:   c.r16.Flush(c.pcm16),
		Duration: time.Duration(c.frames) * time.Second / time.Duration(c.rate),
	}
	peak := 0
	for _, s := range clip.PCM16k {
		peak = max(peak, abs(int(s)))
	}
	for _, s := range clip.PCM8k {
		peak = max(peak, abs(int(s)))
	}
	gain := float64(targetPeak) / float64(max(peak, 1))
	scale(clip.PCM8k, gain)
	scale(clip.PCM16k, gain)
	return clip, nil
}

// A sink takes decoded audio: start once with the file's rate and its
// length in frames (-1 if unknown), then mono chunks, which it must not
// keep (the decoder reuses them).
type sink interface {
	start(rate int, frames int64) error
	write(mono []int16) error
}

// clipSink resamples to 8 and 16 kHz as the audio is decoded.
type clipSink struct {
	rate        int
	r8, r16     *resample.Resampler
	pcm8, pcm16 []int16
	frames      int64
	peak        int
	scaled      []int16
}

func (c *clipSink) start(rate int, frames int64) error {
	if err := checkRate(rate); err != nil {
		return err
	}
	c.rate = rate
	c.r8, c.r16 = resample.New(rate, 8000), resample.New(rate, 16000)
	if frames > 0 {
		c.pcm8 = make([]int16, 0, frames*8000/int64(rate)+1)
		c.pcm16 = make([]int16, 0, frames*16000/int64(rate)+1)
	}
	return nil
}

func (c *clipSink) write(mono []int16) error {
	c.frames += int64(len(mono))
	c.scaled = c.scaled[:0]
	for _, s := range mono {
		c.peak = max(c.peak, abs(int(s)))
		// Headroom before resampling, so filter overshoot cannot clip.
		c.scaled = append(c.scaled, int16(float32(s)*headroom))
	}
	c.pcm8 = c.r8.Process(c.pcm8, c.scaled)
	c.pcm16 = c.r16.Process(c.pcm16, c.scaled)
	return nil
}

// pcmSink keeps the samples at the file's own rate.
type pcmSink struct {
	rate int
	pcm  []int16
}

func (p *pcmSink) start(rate int, frames int64) error {
	if err := checkRate(rate); err != nil {
		return err
	}
	p.rate = rate
	if frames > 0 {
		p.pcm = make([]int16, 0, min(frames, 1<<20)) // the header may lie
	}
	return nil
}

func (p *pcmSink) write(mono []int16) error {
	p.pcm = append(p.pcm, mono...)
	return nil
}

// Decode reads a WAV or MP3 file within the limits and returns it as mono
// samples at its own rate.
func (l Limits) Decode(r io.Reader, name string) (pcm []int16, rate int, err error) {
	var p pcmSink
	if err := l.decode(r, name, &p); err != nil {
		return nil, 0, err
	}
	return p.pcm, p.rate, nil
}

func checkRate(rate int) error {
	if rate < minRate || rate > maxRate || 8000/gcd(rate, 8000) > maxPhases || 16000/gcd(rate, 16000) > maxPhases {
		return fmt.Errorf("%w: sample rate %d Hz (use a standard rate such as 8000, 16000, 44100 or 48000)", ErrUnsupported, rate)
	}
	return nil
}

// decode reads a WAV or MP3 file within the limits into s.
func (l Limits) decode(r io.Reader, name string, s sink) error {
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	lr := &limitReader{r: r, left: l.MaxBytes}
	if l.MaxBytes <= 0 {
		lr.left = math.MaxInt64 - 1
	}
	br := bufio.NewReaderSize(lr, 64<<10)
	head, _ := br.Peek(16)
	if errors.Is(lr.err, ErrTooBig) {
		return fmt.Errorf("%s: %w (limit %d bytes)", name, ErrTooBig, l.MaxBytes)
	}
	kind := sniff(head)
	if kind == "" && strings.EqualFold(filepath.Ext(name), ".mp3") {
		kind = "mp3" // junk before the first frame: let the decoder search
	}
	var frames int64
	var err error
	switch kind {
	case "wav":
		frames, err = decodeWAV(br, l.MaxDuration, s)
	case "mp3":
		frames, err = decodeMP3(br, l.MaxDuration, s)
	case "":
		return fmt.Errorf("%s: %w; upload WAV or MP3", name, ErrUnknownFormat)
	default:
		return fmt.Errorf("%s: %w (it looks like %s); upload WAV or MP3", name, ErrUnknownFormat, kind)
	}
	if errors.Is(lr.err, ErrTooBig) {
		return fmt.Errorf("%s: %w (limit %d bytes)", name, ErrTooBig, l.MaxBytes)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if frames == 0 {
		return fmt.Errorf("%s: %w (no audio in it)", name, ErrSilent)
	}
	return nil
}

func maxFrames(rate int, d time.Duration) int64 {
	return int64(rate) * int64(d/time.Millisecond) / 1000
}

// decodeWAV decodes into s and returns the number of frames.
func decodeWAV(r io.Reader, maxDur time.Duration, s sink) (int64, error) {
	wr, err := wav.NewReader(r)
	if err != nil {
		return 0, err
	}
	limit := maxFrames(wr.Rate, maxDur)
	if n := wr.Frames(); n > limit {
		return 0, tooLong(time.Duration(n)*time.Second/time.Duration(wr.Rate), maxDur)
	}
	if err := s.start(wr.Rate, wr.Frames()); err != nil {
		return 0, err
	}
	var total int64
	chunk := make([]int16, wavChunkLen)
	for {
		n, err := wr.ReadMono(chunk)
		if total+int64(n) > limit {
			return 0, tooLong(0, maxDur)
		}
		total += int64(n)
		if werr := s.write(chunk[:n]); werr != nil {
			return 0, werr
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func tooLong(d, limit time.Duration) error {
	if d > 0 {
		return fmt.Errorf("%w: %v, limit %v", ErrTooLong, d.Round(time.Second), limit)
	}
	return fmt.Errorf("%w: longer than %v", ErrTooLong, limit)
}

// decodeMP3 decodes into s and returns the number of frames.
func decodeMP3(r io.Reader, maxDur time.Duration, s sink) (total int64, err error) {
	defer func() {
		// go-mp3 indexes its tables with values from the stream; a crafted
		// file must fail the upload, not the process.
		if p := recover(); p != nil {
			total, err = 0, fmt.Errorf("%w: MP3 decoder failed (%v)", ErrCorrupt, p)
		}
	}()
	d, err := mp3.NewDecoder(r)
	if err != nil {
		return 0, mp3Error(err)
	}
	rate := d.SampleRate()
	if rate < minRate {
		return 0, fmt.Errorf("%w: MP3 sample rate %d Hz", ErrUnsupported, rate)
	}
	if err := s.start(rate, -1); err != nil {
		return 0, err
	}
	limit := maxFrames(rate, maxDur)
	buf := make([]byte, 16<<10) // S16LE stereo: 4 bytes a frame
	mono := make([]int16, 0, len(buf)/4)
	var have int
	for {
		n, err := d.Read(buf[have:])
		have += n
		whole := have / 4 * 4
		if total+int64(whole/4) > limit {
			return 0, tooLong(0, maxDur)
		}
		mono = mono[:0]
		for i := 0; i < whole; i += 4 {
			l := int16(uint16(buf[i]) | uint16(buf[i+1])<<8)
			r := int16(uint16(buf[i+2]) | uint16(buf[i+3])<<8)
			mono = append(mono, int16((int32(l)+int32(r))/2))
		}
		total += int64(len(mono))
		if werr := s.write(mono); werr != nil {
			return 0, werr
		}
		have = copy(buf, buf[whole:have])
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return 0, mp3Error(err)
		}
	}
}

func mp3Error(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, ErrTooBig):
		return err
	case strings.Contains(msg, "2.5"):
		return fmt.Errorf("%w: MPEG-2.5 MP3 (8–12 kHz) cannot be decoded; export it at 16 kHz or more, or as WAV", ErrUnsupported)
	case strings.Contains(msg, "layer3"):
		return fmt.Errorf("%w: only MPEG layer III MP3 is supported (this is layer I or II)", ErrUnsupported)
	case strings.Contains(msg, "free bitrate"):
		return fmt.Errorf("%w: free-format MP3 is not supported", ErrUnsupported)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: MP3 data ends early or has no audio frames", ErrCorrupt)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// sniff names a file type from its first bytes: "wav", "mp3", another
// type's name for a clearer error, or "".
func sniff(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return "wav"
	case bytes.HasPrefix(b, []byte("ID3")):
		return "mp3"
	case len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return "mp3"
	case bytes.HasPrefix(b, []byte("RIFF")) || bytes.HasPrefix(b, []byte("RIFX")):
		return "a RIFF file that is not WAVE (AVI?)"
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		return "a PNG image"
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "a JPEG image"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "a GIF image"
	case bytes.HasPrefix(b, []byte("%PDF")):
		return "a PDF document"
	case bytes.HasPrefix(b, []byte("OggS")):
		return "Ogg (Vorbis/Opus) audio"
	case bytes.HasPrefix(b, []byte("fLaC")):
		return "FLAC audio"
	case len(b) >= 8 && string(b[4:8]) == "ftyp":
		return "MP4/M4A (AAC) audio"
	case bytes.HasPrefix(b, []byte("FORM")):
		return "AIFF audio"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "a ZIP archive"
	}
	return ""
}

// limitReader fails with ErrTooBig once more than left bytes are read.
type limitReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p))-1 > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.err = ErrTooBig
		return 0, l.err
	}
	l.left -= int64(n)
	return n, err
}

func scale(s []int16, g float64) {
	for i, v := range s {
		x := math.Round(float64(v) * g)
		s[i] = int16(max(-32768, min(32767, x)))
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func dbfs(peak int) float64 {
	if peak == 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(float64(peak)/32768)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
