package pcm

import (
	"encoding/binary"
	"fmt"
	"sync"

	"ringbox/board/line"
)

// slots splits the bus's interleaved 16-bit frames into one FIFO per slot
// each way. process runs on the audio callback thread: it only copies
// into buffers sized at open, never allocates or blocks.
type slots struct {
	n        int
	capture  []*ring
	playback []*ring
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
		s.capture = append(s.capture, newRing(10*line.FrameSamples))
		s.playback = append(s.playback, newRing(10*line.FrameSamples))
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
			q.write(tmp)
		}
	}
	if len(out) >= stride*frames {
		for i, q := range s.playback {
			got := q.read(tmp, 0)
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
		if q.read(f, len(f)) == len(f) {
			return nil
		}
		select {
		case <-q.ready:
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
	s.playback[i].write(f)
	return nil
}

// ring is a fixed-size sample FIFO shared with the audio callback. When
// full, a write drops the oldest samples.
type ring struct {
	mu    sync.Mutex // protects following; held only for copies
	buf   []int16
	r, n  int
	ready chan struct{} // signalled (non-blocking) when samples arrive
}

func newRing(n int) *ring { return &ring{buf: make([]int16, n), ready: make(chan struct{}, 1)} }

func (q *ring) write(s []int16) {
	q.mu.Lock()
	for _, v := range s {
		if q.n == len(q.buf) {
			q.r = (q.r + 1) % len(q.buf)
			q.n--
		}
		q.buf[(q.r+q.n)%len(q.buf)] = v
		q.n++
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// read copies up to len(dst) samples, only if at least min are buffered.
func (q *ring) read(dst []int16, min int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n < min {
		return 0
	}
	k := 0
	for ; k < len(dst) && q.n > 0; k++ {
		dst[k] = q.buf[q.r]
		q.r = (q.r + 1) % len(q.buf)
		q.n--
	}
	return k
}
