package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// header returns a 44-byte canonical header for 16-bit PCM.
func header(rate, channels int, dataBytes uint32) [44]byte {
	var h [44]byte
	copy(h[0:], "RIFF")
	riff := dataBytes + 36
	if dataBytes == streamingSize {
		riff = streamingSize
	}
	binary.LittleEndian.PutUint32(h[4:], riff)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataBytes)
	return h
}

func checkFormat(rate, channels int) error {
	if rate <= 0 || channels < 1 || channels > MaxChannels {
		return fmt.Errorf("wav: bad format: %d Hz, %d channels", rate, channels)
	}
	return nil
}

// Write writes samples (interleaved when channels > 1) as a complete 16-bit
// PCM WAV file.
func Write(w io.Writer, rate, channels int, samples []int16) error {
	if err := checkFormat(rate, channels); err != nil {
		return err
	}
	if len(samples)%channels != 0 {
		return fmt.Errorf("wav: %d samples is not a whole number of %d-channel frames", len(samples), channels)
	}
	if int64(len(samples))*2 > maxData {
		return errors.New("wav: too much audio for one WAV file")
	}
	h := header(rate, channels, uint32(len(samples)*2))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("write wav header: %w", err)
	}
	buf := make([]byte, 0, min(len(samples)*2, 64<<10))
	for len(samples) > 0 {
		n := min(len(samples), cap(buf)/2)
		buf = buf[:2*n]
		for i, s := range samples[:n] {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(s))
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("write wav data: %w", err)
		}
		samples = samples[n:]
	}
	return nil
}

// maxData is the most audio bytes a WAV file can describe (RIFF sizes are
// 32-bit); 8 kHz stereo fills it after about 74 hours.
const maxData = streamingSize - 36 - 1

// Writer writes a 16-bit PCM WAV file as a stream. Until Close patches the
// sizes, the header says "size unknown" (0xFFFFFFFF), which this package's
// reader (and sox, ffmpeg) read up to the end of the file, so a recording
// cut short by a power loss is still playable.
type Writer struct {
	w        io.WriteSeeker
	channels int
	data     int64
	buf      []byte
	err      error
}

// NewWriter writes the header and returns a writer for the samples.
func NewWriter(w io.WriteSeeker, rate, channels int) (*Writer, error) {
	if err := checkFormat(rate, channels); err != nil {
		return nil, err
	}
	h := header(rate, channels, streamingSize)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("write wav header: %w", err)
	}
	return &Writer{w: w, channels: channels}, nil
}

// Write appends interleaved samples (a whole number of frames). It does
// not allocate once its buffer has grown to the frame size in use.
func (w *Writer) Write(samples []int16) error {
	if w.err != nil {
		return w.err
	}
	if len(samples)%w.channels != 0 {
		return fmt.Errorf("wav: %d samples is not a whole number of %d-channel frames", len(samples), w.channels)
	}
	if w.data+int64(len(samples))*2 > maxData {
		w.err = errors.New("wav: recording too long for one WAV file")
		return w.err
	}
	if cap(w.buf) < 2*len(samples) {
		w.buf = make([]byte, 2*len(samples))
	}
	b := w.buf[:2*len(samples)]
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	n, err := w.w.Write(b)
	w.data += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write wav data: %w", err)
	}
	return w.err
}

// Close writes the final sizes into the header. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.err != nil && w.data%2 != 0 {
		return w.err
	}
	var sz [4]byte
	binary.LittleEndian.PutUint32(sz[:], uint32(w.data+36))
	if _, err := w.w.Seek(4, io.SeekStart); err != nil {
		return fmt.Errorf("patch wav header: %w", err)
	}
	if _, err := w.w.Write(sz[:]); err != nil {
		return fmt.Errorf("patch wav header: %w", err)
	}
	binary.LittleEndian.PutUint32(sz[:], uint32(w.data))
	if _, err := w.w.Seek(40, io.SeekStart); err != nil {
		return fmt.Errorf("patch wav header: %w", err)
	}
	if _, err := w.w.Write(sz[:]); err != nil {
		return fmt.Errorf("patch wav header: %w", err)
	}
	if _, err := w.w.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("patch wav header: %w", err)
	}
	return w.err
}
