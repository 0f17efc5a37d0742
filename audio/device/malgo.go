//go:build cgo && linux

package device

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// Stream is an open duplex device.
type Stream struct {
	rate     int
	ctx      *malgo.AllocatedContext
	dev      *malgo.Device
	capture  *Ring
	playback *Ring
	tmp      []int16 // callback scratch, sized at open

	closeOnce sync.Once
	done      chan struct{}
}

// Open opens a duplex stream and starts it.
func Open(cfg Config) (*Stream, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 8000
	}
	backends := []malgo.Backend{malgo.BackendAlsa}
	if cfg.Null {
		backends = []malgo.Backend{malgo.BackendNull + 1} // malgo's enum is off by one
	}
	mctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("open audio context: %w", err)
	}
	frame := cfg.Rate * int(FrameTime.Milliseconds()) / 1000
	s := &Stream{
		rate:     cfg.Rate,
		ctx:      mctx,
		capture:  NewRing(10 * frame),
		playback: NewRing(10 * frame),
		tmp:      make([]int16, 8*frame),
		done:     make(chan struct{}),
	}
	dc := malgo.DefaultDeviceConfig(malgo.Duplex)
	dc.SampleRate = uint32(cfg.Rate)
	dc.PeriodSizeInMilliseconds = uint32(FrameTime.Milliseconds())
	dc.Capture.Format, dc.Capture.Channels = malgo.FormatS16, 1
	dc.Playback.Format, dc.Playback.Channels = malgo.FormatS16, 1
	dc.Alsa.NoMMap = 1
	if err := pick(mctx, malgo.Capture, cfg.Capture, &dc.Capture.DeviceID); err != nil {
		s.free()
		return nil, err
	}
	if err := pick(mctx, malgo.Playback, cfg.Playback, &dc.Playback.DeviceID); err != nil {
		s.free()
		return nil, err
	}
	dev, err := malgo.InitDevice(mctx.Context, dc, malgo.DeviceCallbacks{Data: s.callback})
	if err != nil {
		s.free()
		return nil, fmt.Errorf("open audio device: %w", err)
	}
	s.dev = dev
	if err := dev.Start(); err != nil {
		dev.Uninit()
		s.free()
		return nil, fmt.Errorf("start audio device: %w", err)
	}
	return s, nil
}

// pick sets *id to the device whose name contains name ("" leaves the
// default).
func pick(ctx *malgo.AllocatedContext, kind malgo.DeviceType, name string, id *unsafe.Pointer) error {
	if name == "" {
		return nil
	}
	infos, err := ctx.Devices(kind)
	if err != nil {
		return fmt.Errorf("list audio devices: %w", err)
	}
	var names []string
	for i := range infos {
		n := infos[i].Name()
		if strings.Contains(n, name) {
			*id = infos[i].ID.Pointer()
			return nil
		}
		names = append(names, n)
	}
	return fmt.Errorf("no audio device named like %q (have %q)", name, names)
}

// callback runs on miniaudio's thread: copy only.
func (s *Stream) callback(out, in []byte, frames uint32) {
	n := int(frames)
	if n > len(s.tmp) {
		n = len(s.tmp) // never happens with 20 ms periods; stay in bounds
	}
	if len(in) >= 2*n {
		for i := range n {
			s.tmp[i] = int16(binary.LittleEndian.Uint16(in[2*i:]))
		}
		s.capture.Write(s.tmp[:n])
	}
	if len(out) >= 2*n {
		got := s.playback.Read(s.tmp[:n], 0)
		clear(s.tmp[got:n]) // underrun: silence
		for i := range n {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(s.tmp[i]))
		}
	}
}

// Rate is the stream's sample rate.
func (s *Stream) Rate() int { return s.rate }

// ReadFrame blocks until len(f) captured samples are available and copies
// them into f, or returns ErrClosed.
func (s *Stream) ReadFrame(f []int16) error {
	for {
		if n := s.capture.Read(f, len(f)); n == len(f) {
			return nil
		}
		select {
		case <-s.capture.Ready():
		case <-s.done:
			return ErrClosed
		}
	}
}

// WriteFrame queues f for playback. If playback is more than 10 frames
// behind, the oldest queued samples are dropped.
func (s *Stream) WriteFrame(f []int16) error {
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	s.playback.Write(f)
	return nil
}

// Close stops the device and releases it.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.dev != nil {
			s.dev.Uninit()
		}
		s.free()
	})
	return nil
}

func (s *Stream) free() {
	_ = s.ctx.Uninit()
	s.ctx.Free()
}
