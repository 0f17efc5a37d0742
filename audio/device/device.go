// Package device opens a sound card as a duplex stream of 16-bit mono PCM
// in 20 ms frames: the sim board's "bind a line to the laptop's sound
// card", and the voice path of a SLIC exposed as an ALSA card.
//
// It uses miniaudio through github.com/gen2brain/malgo, which needs cgo;
// builds without cgo (or not on Linux) get a stub whose Open returns
// [ErrNoAudio], so CGO_ENABLED=0 builds keep working.
//
// The audio callback runs on a C thread and must neither block nor
// allocate: it only copies between the device buffers and two fixed ring
// buffers. [Stream.ReadFrame] and [Stream.WriteFrame] are called by a
// goroutine of the caller's.
//
// miniaudio's null backend (a device that produces silence and consumes
// anything, on its own clock) is reachable with Config.Null; malgo's
// BackendNull constant is off by one (it selects ma_backend_custom), so
// this package uses malgo.BackendNull+1.
package device

import (
	"errors"
	"sync"
	"time"
)

// Errors.
var (
	ErrNoAudio = errors.New("device: sound devices are not available in this build (needs cgo on Linux)")
	ErrClosed  = errors.New("device: stream closed")
)

// Config selects and configures a device. The zero value opens the
// default ALSA device at 8 kHz.
type Config struct {
	Rate     int    // 0: 8000
	Capture  string // substring of the capture device's name; "": default
	Playback string // substring of the playback device's name; "": default
	Null     bool   // miniaudio's null backend (tests, machines without a card)
}

// FrameTime is the frame length ReadFrame and WriteFrame work in.
const FrameTime = 20 * time.Millisecond

// Ring is a fixed-size sample FIFO shared with an audio callback (this
// package's, and the PCM bus's in board/pcm). When full, a write drops the
// oldest samples (capture nobody reads must not grow or stall the
// callback). Write and Read only copy under a short lock and never
// allocate.
type Ring struct {
	mu    sync.Mutex // protects following; held only for copies
	buf   []int16
	r, n  int
	ready chan struct{} // signalled (non-blocking) when samples arrive
}

// NewRing returns a FIFO of n samples.
func NewRing(n int) *Ring { return &Ring{buf: make([]int16, n), ready: make(chan struct{}, 1)} }

// Write appends s, dropping the oldest samples when full.
func (q *Ring) Write(s []int16) {
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

// Read copies up to len(dst) samples, only if at least min are buffered.
func (q *Ring) Read(dst []int16, min int) int {
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

// Ready is signalled (without blocking the writer) when samples arrive.
func (q *Ring) Ready() <-chan struct{} { return q.ready }

// Len is how many samples are buffered.
func (q *Ring) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
