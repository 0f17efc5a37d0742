package sim

import (
	"fmt"
	"ringbox/audio/dtmf"
	"ringbox/firmware/call"
	"sync"
	"time"

	"ringbox/board/line"
)

// Sizes of what the sim keeps.
const (
	eventBuffer  = 64             // per port, as line.Port asks
	heardSamples = 10 * line.Rate // Heard keeps the last 10 s
	frameTime    = 20 * time.Millisecond
	resync       = 200 * time.Millisecond // a reader this late restarts the clock
)

// core is what both kinds of port share: the signalling channel, the
// audio clock and the record of what the port sent to its device. Its mu
// also guards the device state of the Phone or Exchange that embeds it, so
// one lock orders everything that happens on a line.
type core struct {
	b    *Board
	kind line.Kind
	n    int
	done chan struct{} // closed by close

	mu      sync.Mutex // protects following and the embedding device's state
	events  chan line.Event
	closed  bool
	dropped int       // events the consumer was too slow for
	heard   ring      // audio the port sent to the device
	next    time.Time // the audio clock's next tick
}

func newCore(b *Board, kind line.Kind, n int) core {
	return core{b: b, kind: kind, n: n, done: make(chan struct{}),
		events: make(chan line.Event, eventBuffer), heard: ring{buf: make([]int16, heardSamples)}}
}

func (c *core) name() string { return fmt.Sprintf("%s:%d", c.kind, c.n) }

// emitLocked reports an event. A full channel drops it; the consumer gets
// a Fault saying so once there is room again, as line.Port asks.
func (c *core) emitLocked(t line.EvType) {
	if c.closed {
		return
	}
	now := time.Now()
	if c.dropped > 0 {
		select {
		case c.events <- line.Event{Type: line.Fault, At: now, Detail: fmt.Sprintf("sim: %d events dropped: the consumer is too slow", c.dropped)}:
			c.dropped = 0
		default:
			c.dropped++
			return
		}
	}
	select {
	case c.events <- line.Event{Type: t, At: now}:
	default:
		c.dropped++
	}
}

func (c *core) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.done)
	close(c.events)
	return nil
}

// Heard returns the last d of audio the port sent to the device (at most
// 10 s).
func (c *core) Heard(d time.Duration) []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heard.last(int(int64(d) * line.Rate / int64(time.Second)))
}

// keyDTMF plays digits as DTMF keys (80 ms on, 80 ms off) through *slot,
// which the device's fill reads, and returns when they are sent.
func (c *core) keyDTMF(slot *call.Source, digits string) error {
	src := dtmf.Sequence(digits, DTMFOn, DTMFOff, DTMFLevel)
	c.mu.Lock()
	*slot = src
	c.mu.Unlock()
	ok := c.b.sleep(time.Duration(len(digits)) * (DTMFOn + DTMFOff))
	c.mu.Lock()
	if *slot == src {
		*slot = nil // at most the last frame of silence is left
	}
	c.mu.Unlock()
	if !ok {
		return ErrClosed
	}
	return nil
}

// audio paces a port's voice path by its own 20 ms clock. fill produces
// the device's frame and wrote sees each frame the port sends; both run
// with core.mu held.
type audio struct {
	c     *core
	fill  func(f []int16)
	wrote func(f []int16)
}

// ReadFrame waits for the next tick of the port's clock and returns what
// the device sends into the line.
func (a *audio) ReadFrame(f []int16) error {
	c := a.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return line.ErrClosed
	}
	now := time.Now()
	if c.next.IsZero() || now.Sub(c.next) > resync {
		c.next = now
	}
	c.next = c.next.Add(frameTime)
	wait := c.next.Sub(now)
	c.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return line.ErrClosed
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return line.ErrClosed
	}
	a.fill(f)
	return nil
}

// WriteFrame records a frame the port sends to the device; it never
// blocks.
func (a *audio) WriteFrame(f []int16) error {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return line.ErrClosed
	}
	c.heard.write(f)
	if a.wrote != nil {
		a.wrote(f)
	}
	return nil
}

// ring keeps the last len(buf) samples written.
type ring struct {
	buf  []int16
	pos  int // next write
	full bool
}

func (r *ring) write(s []int16) {
	if len(s) >= len(r.buf) {
		copy(r.buf, s[len(s)-len(r.buf):])
		r.pos, r.full = 0, true
		return
	}
	n := copy(r.buf[r.pos:], s)
	if n < len(s) {
		copy(r.buf, s[n:])
		r.full = true
	}
	r.pos = (r.pos + len(s)) % len(r.buf)
	if r.pos == 0 && len(s) > 0 {
		r.full = true
	}
}

func (r *ring) len() int {
	if r.full {
		return len(r.buf)
	}
	return r.pos
}

// last returns a copy of the newest n samples (fewer if fewer were
// written).
func (r *ring) last(n int) []int16 {
	n = min(max(n, 0), r.len())
	out := make([]int16, n)
	start := r.pos - n
	if start >= 0 {
		copy(out, r.buf[start:r.pos])
		return out
	}
	k := copy(out, r.buf[len(r.buf)+start:])
	copy(out[k:], r.buf[:r.pos])
	return out
}

func (r *ring) reset() { r.pos, r.full = 0, false }

// pcm plays a recording once.
type pcm struct {
	s   []int16
	pos int
}

func (p *pcm) ReadFrame(f []int16) bool {
	if p.pos >= len(p.s) {
		return false
	}
	n := copy(f, p.s[p.pos:])
	clear(f[n:])
	p.pos += n
	return true
}
