// Package moh plays music on hold: one live stream per music class, shared
// by every caller on hold in that class.
//
// A [Hub] advances every class by one 20 ms frame per [Hub.Tick] (or by its
// own ticker in [Hub.Run]). Each tick renders the class's frame once at
// 8 kHz and 16 kHz and encodes it once to G.711 µ-law and A-law; every
// [Listener] then copies the shared frame, so a thousand callers on hold
// cost about what one does. A new listener joins where the stream is now,
// like a radio. While no one listens, Run's ticker stops (an idle box
// does not wake 50 times a second for music no one hears); the first
// listener then moves the classes on by the time that passed.
//
// # Frames and clocks
//
// Listeners are read by their calls' media loops, each on its own 20 ms
// clock, which drifts against the hub's. Each class keeps its last 16
// frames; a listener reads the frame after the one it read last. A listener
// that gets ahead of the hub hears the newest frame again, one that falls
// more than 15 frames behind skips ahead to the newest.
//
// # Comfort messages
//
// [Listener.Splice] plays a clip (a comfort message, a queue position) to
// one listener; when it ends the listener rejoins the live stream where it
// is then. Spliced audio is that listener's own, so its G.711 frames are
// encoded for it alone.
//
// # Concurrency
//
// Hub, class and listener methods are safe for concurrent use. A class's
// frame ring is guarded by a RWMutex: Tick writes, listeners read.
package moh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/audio/g711"
)

// Frame sizes: 20 ms.
const (
	FrameTime = 20 * time.Millisecond
	Frame8k   = 160
	Frame16k  = 320
	ringLen   = 16
)

// Errors from Listen.
var (
	ErrUnknownClass = errors.New("unknown music on hold class")
	ErrClosed       = errors.New("music on hold stopped")
)

// Track is one piece of music, already converted (see audio/sound).
type Track struct {
	PCM8k  []int16 // mono, 8 kHz
	PCM16k []int16 // mono, 16 kHz; may be nil (16 kHz listeners then hear silence)
}

// Hub owns the music classes.
type Hub struct {
	mu        sync.Mutex // protects following
	classes   map[string]*class
	list      []*class // the classes, rebuilt on change so Tick need not allocate
	closed    bool
	listening int       // listeners of every class
	idle      bool      // Run stopped ticking because no one listens
	idleAt    time.Time // while idle: when the classes were last moved on

	wake  chan struct{} // a listener came while Run was idle
	ticks atomic.Uint64 // Ticks so far, for tests
}

// New returns a hub with no classes.
func New() *Hub { return &Hub{classes: map[string]*class{}, wake: make(chan struct{}, 1)} }

type slot struct {
	pcm8  [Frame8k]int16
	pcm16 [Frame16k]int16
	ulaw  [Frame8k]byte
	alaw  [Frame8k]byte
}

type class struct {
	name string
	hub  *Hub

	mu        sync.RWMutex // protects following
	tracks    []Track
	track     int    // current track
	pos       int    // position in the current track, in 8 kHz samples
	seq       uint64 // newest frame; it is in ring[seq%ringLen]
	ring      [ringLen]slot
	listeners int
	closed    bool
}

// SetClass creates class name or replaces its tracks, which then play in
// order and loop. Listeners stay and hear the new tracks from the start.
// The tracks are shared, not copied: do not modify them afterwards.
func (h *Hub) SetClass(name string, tracks []Track) {
	h.mu.Lock()
	c := h.classes[name]
	if c == nil {
		c = &class{name: name, hub: h}
		h.classes[name] = c
		h.relistLocked()
	}
	h.mu.Unlock()
	c.mu.Lock()
	c.tracks = tracks
	c.track, c.pos = 0, 0
	c.mu.Unlock()
}

// RemoveClass deletes a class; its listeners' sources end.
func (h *Hub) RemoveClass(name string) {
	h.mu.Lock()
	c := h.classes[name]
	delete(h.classes, name)
	h.relistLocked()
	h.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	}
}

// Classes returns the names of the classes.
func (h *Hub) Classes() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.classes))
	for n := range h.classes {
		names = append(names, n)
	}
	return names
}

func (h *Hub) relistLocked() {
	l := make([]*class, 0, len(h.classes))
	for _, c := range h.classes {
		l = append(l, c)
	}
	h.list = l
}

// Tick advances every class by one frame. Whoever owns the media clock
// calls it every 20 ms, or [Hub.Run] does.
func (h *Hub) Tick() {
	h.ticks.Add(1)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	cs := h.list // never modified in place: safe to use unlocked
	h.mu.Unlock()
	for _, c := range cs {
		c.tick()
	}
}

// Run calls Tick every 20 ms until ctx ends, then closes the hub. While no
// class has a listener it does not tick; the first [Hub.Listen] after such
// a pause moves every class on by the frames it missed, so the music
// stays live.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(FrameTime)
	defer t.Stop()
	defer h.Close()
	for {
		if h.pause() {
			t.Stop()
			select {
			case <-h.wake:
			case <-ctx.Done():
				return ctx.Err()
			}
			h.resume()
			t.Reset(FrameTime)
		}
		select {
		case <-t.C:
			h.Tick()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pause reports whether Run may stop ticking (no one listens), and if so
// marks the hub idle from now.
func (h *Hub) pause() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.listening > 0 || h.closed {
		return false
	}
	h.idle, h.idleAt = true, time.Now()
	return true
}

// resume ends an idle pause (if Listen has not already).
func (h *Hub) resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.catchUpLocked(time.Now())
}

// catchUpLocked moves every class on by the frames that passed while idle
// and ends the pause.
func (h *Hub) catchUpLocked(now time.Time) {
	if !h.idle {
		return
	}
	n := int(now.Sub(h.idleAt) / FrameTime)
	for _, c := range h.list {
		c.mu.Lock()
		c.skip(n)
		c.mu.Unlock()
	}
	h.idle = false
}

// Close stops the hub: every listener's source ends.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	cs := h.classes
	h.classes = map[string]*class{}
	h.list = nil
	h.mu.Unlock()
	for _, c := range cs {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	}
}

func (c *class) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.seq + 1
	s := &c.ring[next%ringLen]
	if c.listeners == 0 {
		// Nobody listens: keep the music moving (it is live), skip the work.
		c.advance(nil, nil)
		c.seq = next
		return
	}
	c.render(s)
	c.seq = next
}

// render advances one frame into s and encodes it for each codec.
func (c *class) render(s *slot) {
	c.advance(s.pcm8[:], s.pcm16[:])
	g711.EncodeUlaw(s.ulaw[:], s.pcm8[:])
	g711.EncodeAlaw(s.alaw[:], s.pcm8[:])
}

// advance moves one frame on, filling p8 and p16 when they are not nil.
func (c *class) advance(p8, p16 []int16) {
	if len(c.tracks) == 0 {
		clear(p8)
		clear(p16)
		return
	}
	for n := 0; n < Frame8k; {
		t := &c.tracks[c.track]
		if c.pos >= len(t.PCM8k) {
			c.track, c.pos = (c.track+1)%len(c.tracks), 0
			if allEmpty(c.tracks) {
				clear(p8[n:])
				clear(p16[2*n:])
				return
			}
			continue
		}
		k := min(Frame8k-n, len(t.PCM8k)-c.pos)
		if p8 != nil {
			copy(p8[n:n+k], t.PCM8k[c.pos:])
			d := p16[2*n : 2*(n+k)]
			m := 0
			if 2*c.pos < len(t.PCM16k) {
				m = copy(d, t.PCM16k[2*c.pos:])
			}
			clear(d[m:])
		}
		n += k
		c.pos += k
	}
}

// skip moves the class on by n frames without rendering them.
func (c *class) skip(n int) {
	c.seq += uint64(n)
	total := 0
	for _, t := range c.tracks {
		total += len(t.PCM8k)
	}
	if total == 0 || n <= 0 {
		return
	}
	left := int((int64(n) * Frame8k) % int64(total))
	for left > 0 {
		k := max(len(c.tracks[c.track].PCM8k)-c.pos, 0)
		if left < k {
			c.pos += left
			return
		}
		left -= k
		c.track, c.pos = (c.track+1)%len(c.tracks), 0
	}
}

func allEmpty(ts []Track) bool {
	for _, t := range ts {
		if len(t.PCM8k) > 0 {
			return false
		}
	}
	return true
}

// Listener is one caller's view of a class: a call.Source at its rate,
// plus G.711 reads of the shared pre-encoded frames.
type Listener struct {
	c    *class
	rate int

	mu     sync.Mutex // protects following
	next   uint64     // next frame to read
	splice []int16    // clip still to play, at rate
	buf    [Frame8k]int16
	closed bool
}

// Listen returns a listener of class at rate (8000 or 16000 Hz) that joins
// the stream where it is now.
func (h *Hub) Listen(name string, rate int) (*Listener, error) {
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("moh: listen at %d Hz: want 8000 or 16000", rate)
	}
	h.mu.Lock()
	c, closed := h.classes[name], h.closed
	if c != nil && !closed {
		if h.idle {
			h.catchUpLocked(time.Now()) // before the first frame is rendered
			select {
			case h.wake <- struct{}{}: // Run ticks again
			default:
			}
		}
		h.listening++
	}
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if c == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownClass, name)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		h.unlisten() // not under c.mu: catchUpLocked takes h.mu, then c.mu
		return nil, ErrClosed
	}
	if c.listeners == 0 {
		// Ticks without listeners render nothing: render the newest frame
		// now, so the first read is not a stale one.
		c.render(&c.ring[c.seq%ringLen])
	}
	c.listeners++
	// The newest frame is what the others hear now; the listener's first
	// read before the next tick gets it too (see liveLocked), after it the
	// frame that tick renders.
	l := &Listener{c: c, rate: rate, next: c.seq + 1}
	c.mu.Unlock()
	return l, nil
}

// Splice plays clip (at the listener's rate) to this listener only, then
// returns it to the live music. A second Splice replaces one still playing.
func (l *Listener) Splice(clip []int16) {
	l.mu.Lock()
	l.splice = clip
	l.mu.Unlock()
}

// Splicing reports whether a spliced clip is still playing.
func (l *Listener) Splicing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.splice) > 0
}

// Close detaches the listener; its reads then report false.
func (l *Listener) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.c.mu.Lock()
	l.c.listeners--
	l.c.mu.Unlock()
	l.c.hub.unlisten()
}

// unlisten counts a listener gone.
func (h *Hub) unlisten() {
	h.mu.Lock()
	h.listening--
	h.mu.Unlock()
}

// ReadFrame fills f (160 samples at 8 kHz, 320 at 16 kHz) with the next
// frame and reports false once the listener, its class or the hub is
// closed. It implements call.Source and does not allocate.
func (l *Listener) ReadFrame(f []int16) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.playSplice(f) {
		return l.liveLocked(nil, nil, 0)
	}
	return l.liveLocked(f, nil, 'p')
}

// ReadULaw fills f (160 bytes) with the next frame as µ-law: the shared
// encoding of the live stream, or this listener's spliced clip. Use it on
// 8 kHz listeners only.
func (l *Listener) ReadULaw(f []byte) bool { return l.readG711(f, 'u') }

// ReadALaw is ReadULaw for A-law.
func (l *Listener) ReadALaw(f []byte) bool { return l.readG711(f, 'a') }

func (l *Listener) readG711(f []byte, law byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.rate == 8000 && len(l.splice) > 0 {
		b := l.buf[:min(len(f), Frame8k)]
		l.playSplice(b)
		if law == 'u' {
			g711.EncodeUlaw(f, b)
		} else {
			g711.EncodeAlaw(f, b)
		}
		return l.liveLocked(nil, nil, 0)
	}
	return l.liveLocked(nil, f, law)
}

// playSplice copies the next part of a spliced clip into f, padding its
// end with silence, and reports whether there was one.
func (l *Listener) playSplice(f []int16) bool {
	if len(l.splice) == 0 {
		return false
	}
	n := copy(f, l.splice)
	clear(f[n:])
	l.splice = l.splice[n:]
	if len(l.splice) == 0 {
		l.splice = nil
	}
	return true
}

// liveLocked reads the listener's next live frame: PCM into p for kind
// 'p', G.711 into b for 'u' and 'a'; kind 0 only keeps the listener in
// step with the stream while it hears a splice.
func (l *Listener) liveLocked(p []int16, b []byte, kind byte) bool {
	c := l.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	seq := l.next
	switch {
	case seq > c.seq: // ahead of the hub: the newest frame again
		seq = c.seq
	case c.seq-seq >= ringLen-1: // far behind: skip to the newest
		seq = c.seq
	}
	l.next = seq + 1
	s := &c.ring[seq%ringLen]
	switch kind {
	case 'p':
		if l.rate == 16000 {
			clear(p[copy(p, s.pcm16[:]):])
		} else {
			clear(p[copy(p, s.pcm8[:]):])
		}
	case 'u':
		copy(b, s.ulaw[:])
	case 'a':
		copy(b, s.alaw[:])
	}
	return true
}
