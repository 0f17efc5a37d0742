package pcm

import (
	"encoding/binary"
	"fmt"

	"ringbox/audio/device"
	"ringbox/board/line"
)

// slots splits the bus's interleaved 16-bit frames into one FIFO per slot
// each way. process runs on the audio callback thread: it only copies
// into buffers sized at open, never allocates or blocks.
type slots struct {
	n        int
	capture  []*device.Ring
	playback []*device.Ring
	tmp      []int16 // callback scratch
	done     chan struct{}
}

// maxPeriod bounds the samples per slot one callback may carry.
const maxPeriod = 8 * line.FrameSamples

func newSlots(n int) *slots {
	s := &slots{n: n, tmp: make([]int16, maxPeriod), done: make(chan struct{})}
	for range n {
		// Ten frames each way: capture nobody reads drops its oldest
		// samples; playback more than 200 ms ahead does too.
		s.capture = append(s.capture, device.NewRing(10*line.FrameSamples))
		s.playback = append(s.playback, device.NewRing(10*line.FrameSamples))
	}
	return s
}

// process moves one callback's worth of frames: in (captured, frames x n
// interleaved little-endian int16) to the slots, and the slots' queued
// playback to out (silence where a slot has nothing queued).
func (s *slots) process(out, in []byte, frames int) {
	frames = min(frames, len(s.tmp))
	tmp := s.tmp[:frames]
	stride := 2 * s.n
	if len(in) >= stride*frames {
		for i, q := range s.capture {
			for k := range tmp {
				tmp[k] = int16(binary.LittleEndian.Uint16(in[k*stride+2*i:]))
			}
			q.Write(tmp)
		}
	}
	if len(out) >= stride*frames {
		for i, q := range s.playback {
			got := q.Read(tmp, 0)
			clear(tmp[got:])
			for k, v := range tmp {
				binary.LittleEndian.PutUint16(out[k*stride+2*i:], uint16(v))
			}
		}
	}
}

func (s *slots) check(i int) error {
	if i < 0 || i >= s.n {
		return fmt.Errorf("pcm: slot %d: the bus has %d", i, s.n)
	}
	return nil
}

// read blocks until slot i has len(f) captured samples.
func (s *slots) read(i int, f []int16) error {
	if err := s.check(i); err != nil {
		return err
	}
	q := s.capture[i]
	for {
		select {
		case <-s.done:
			return line.ErrClosed
		default:
		}
		if q.Read(f, len(f)) == len(f) {
			return nil
		}
		select {
		case <-q.Ready():
		case <-s.done:
			return line.ErrClosed
		}
	}
}

func (s *slots) write(i int, f []int16) error {
	if err := s.check(i); err != nil {
		return err
	}
	select {
	case <-s.done:
		return line.ErrClosed
	default:
	}
	s.playback[i].Write(f)
	return nil
}
