package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/audio/resample"
	"ringbox/firmware/call"
)

// Errors of the mixer.
var (
	// ErrMixerClosed ends a Join when its conference is closed.
	ErrMixerClosed = errors.New("media: conference closed")
	// ErrInConference means a stream is already a member of a conference.
	ErrInConference = errors.New("media: stream already in a conference")
)

// mixQueue is how many received frames a member may have waiting for the
// mixer's tick: packets and ticks are not in step (the phone's clock is
// not the box's, packets come in bursts), so a frame or two waits; more
// is latency, dropped oldest first.
const mixQueue = 3

// Mixer is a conference: each member's received audio is decoded (Hear),
// and once every 20 ms one goroutine of its own sums the members' frames
// and sends each member the sum of the others, encoded in the member's
// codec on the member's own SSRC, sequence and timestamps (the same
// sender that Play uses).
//
// Members are summed at their own rate: the G.711 members at 8 kHz, the
// G.722 ones at 16 kHz. A member hears the others of its rate as they
// are, and the others of the other rate through one shared conversion
// per tick (the 16 kHz sum brought down once for all narrowband members,
// the 8 kHz sum brought up once for all wideband ones, with
// audio/resample), so a room costs two resamplings a tick at most,
// however many members it has, and members of one rate hear each other
// without any filtering. Sums are computed in 32 bits and saturated to
// 16 bits per member, so loud members clip instead of wrapping. Muted
// members are not added to the sums but still hear.
//
// RFC 4733 events are not mixed: a member's digits stay on its stream
// (Digits), so routing code can read a mute key while it is a member.
type Mixer struct {
	e      *Engine
	ctx    context.Context // ends with Close: every Join returns
	cancel context.CancelFunc
	done   chan struct{} // closed when the tick goroutine returned

	tickMu sync.Mutex // held by tick, so that remove can wait for it

	mu      sync.Mutex // protects following
	members []*mixMember
	plays   []*mixPlay

	// The tick goroutine's own state.
	cur      []*mixMember
	curPlays []*mixPlay
	sum8     [160]int32 // narrowband members, 8 kHz
	sum16    [320]int32 // wideband members, 16 kHz
	play8    [160]int32 // announcements to all, at each rate
	play16   [320]int32
	wb8      [160]int16 // sum16 brought down, for narrowband members
	nb16     [320]int16 // sum8 brought up, for wideband members
	down, up *rateConv
	bothLast bool // the previous tick had members of both rates
}

// mixMember is one stream in a conference.
type mixMember struct {
	s     *Stream
	muted atomic.Bool

	qmu sync.Mutex // protects following: the Hear sink fills, the tick empties
	q   [mixQueue]struct {
		pcm [320]int16
		n   int
	}
	qHead, qLen int

	// Used by the tick goroutine only.
	p   *player    // encoder and packet for the member's codec
	out frameSrc   // what p sends this tick
	n   int        // samples a frame at the member's rate this tick
	in  [320]int16 // the member's frame
	mix [320]int16 // what the member hears
}

// mixPlay is an announcement mixed in: to one member, or to all (to nil).
type mixPlay struct {
	to   *Stream
	src  call.Source
	buf  [320]int16 // this tick's frame, 16 kHz
	live bool       // buf holds a frame; false once src ended
}

// frameSrc is a call.Source of one frame, set before each read.
type frameSrc struct{ f []int16 }

func (s *frameSrc) ReadFrame(f []int16) bool {
	copy(f, s.f)
	clear(f[min(len(s.f), len(f)):])
	return true
}

// NewMixer starts a conference on the engine's streams. The engine must
// be running (Hear needs its clock). Close it when done.
func (e *Engine) NewMixer() *Mixer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mixer{e: e, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go m.run()
	return m
}

// newMixerUnticked is a mixer whose ticks the caller drives (benchmarks).
func newMixerUnticked(e *Engine) *Mixer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mixer{e: e, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	close(m.done)
	return m
}

// Conference implements call.Conferencer.
func (e *Engine) Conference() call.Conference { return e.NewMixer() }

var _ call.Conferencer = (*Engine)(nil)

// Close ends the conference: every Join returns ErrMixerClosed. It waits
// for the tick goroutine and is idempotent.
func (m *Mixer) Close() {
	m.cancel()
	<-m.done
}

// run ticks every 20 ms until Close.
func (m *Mixer) run() {
	defer close(m.done)
	t := time.NewTicker(frameDur)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.tick()
		case <-m.ctx.Done():
			return
		case <-m.e.done:
			return
		}
	}
}

// Len is the number of members.
func (m *Mixer) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.members)
}

// Join implements call.Conference for a leg anchored on a Stream.
func (m *Mixer) Join(ctx context.Context, l call.Leg) error {
	u := call.Unwrap(l)
	st, ok := u.(Streamer)
	if !ok || st.MediaStream() == nil {
		// A leg whose audio the box does not anchor cannot be mixed.
		return fmt.Errorf("conference: leg %s has no media stream (%T): %w", l.ID(), u, call.Unavailable)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := call.AfterEnd(u, func() { cancel(fmt.Errorf("conference: leg %s ended: %w", l.ID(), ErrClosed)) })
	defer stop()
	return m.JoinStream(ctx, st.MediaStream())
}

// JoinStream adds s to the conference until ctx ends (its cause), s
// closes or times out (ErrClosed, ErrTimeout), the conference closes
// (ErrMixerClosed) or the engine stops. s must not be bridged meanwhile.
func (m *Mixer) JoinStream(ctx context.Context, s *Stream) error {
	if !transcodable(s.Codec().Name) {
		return fmt.Errorf("conference %s: codec %s: %w", s.local, s.Codec().Name, ErrCodecMismatch)
	}
	if s.peer.Load() != nil {
		return fmt.Errorf("conference %s: %w", s.local, ErrBridged)
	}
	mb := &mixMember{s: s}
	mb.out.f = mb.mix[:0]
	m.mu.Lock()
	for _, x := range m.members {
		if x.s == s {
			m.mu.Unlock()
			return fmt.Errorf("conference %s: %w", s.local, ErrInConference)
		}
	}
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return ErrMixerClosed
	}
	m.members = append(m.members, mb)
	m.mu.Unlock()
	defer m.remove(mb)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopClose := context.AfterFunc(m.ctx, func() { cancel(ErrMixerClosed) })
	defer stopClose()
	stopTimeout := afterChan(s.timeout, func() { cancel(ErrTimeout) })
	defer stopTimeout()
	s.arm()
	// Hear returns when ctx ends (the cancels above) or s closes; it
	// runs on this goroutine, so a member costs one goroutine besides
	// the caller's: the timeout watch.
	return s.Hear(ctx, mb.push)
}

// afterChan runs f once ch is closed, unless stop is called first. The
// Timeout channel of a stream is rarely closed, so this is the one
// goroutine per member, joined by stop.
func afterChan(ch <-chan struct{}, f func()) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ch:
			f()
		case <-quit:
		}
	}()
	return func() { close(quit); <-done }
}

// remove takes mb out; once it returns, no tick sends to mb's stream
// any more (the caller may play to it or bridge it at once).
func (m *Mixer) remove(mb *mixMember) {
	defer func() {
		m.tickMu.Lock() // the tick in progress may still hold mb
		m.tickMu.Unlock()
	}()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.members {
		if x == mb {
			m.members = append(m.members[:i], m.members[i+1:]...)
			break
		}
	}
	for i := 0; i < len(m.plays); {
		if m.plays[i].to == mb.s {
			m.plays = append(m.plays[:i], m.plays[i+1:]...)
			continue
		}
		i++
	}
}

func (m *Mixer) member(s *Stream) *mixMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.members {
		if x.s == s {
			return x
		}
	}
	return nil
}

func streamOfLeg(l call.Leg) *Stream {
	if l == nil {
		return nil
	}
	if st, ok := call.Unwrap(l).(Streamer); ok {
		return st.MediaStream()
	}
	return nil
}

// SetMuted implements call.Conference.
func (m *Mixer) SetMuted(l call.Leg, muted bool) bool { return m.MuteStream(streamOfLeg(l), muted) }

// Muted implements call.Conference.
func (m *Mixer) Muted(l call.Leg) bool {
	mb := m.member(streamOfLeg(l))
	return mb != nil && mb.muted.Load()
}

// MuteStream mutes or unmutes member s; false when s is not a member.
func (m *Mixer) MuteStream(s *Stream, muted bool) bool {
	mb := m.member(s)
	if mb == nil {
		return false
	}
	mb.muted.Store(muted)
	return true
}

// Announce implements call.Conference.
func (m *Mixer) Announce(to call.Leg, src call.Source) { m.AnnounceStream(streamOfLeg(to), src) }

// AnnounceStream mixes src (16 kHz frames) into what member to hears, or
// what everyone hears when to is nil, until src ends.
func (m *Mixer) AnnounceStream(to *Stream, src call.Source) {
	if src == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plays = append(m.plays, &mixPlay{to: to, src: src})
}

// push is the member's Hear sink: it queues one received frame (160
// samples at 8 kHz or 320 at 16 kHz). It runs on the packet path.
func (mb *mixMember) push(f []int16) {
	mb.qmu.Lock()
	defer mb.qmu.Unlock()
	if mb.qLen == mixQueue {
		mb.qHead = (mb.qHead + 1) % mixQueue
		mb.qLen--
	}
	slot := &mb.q[(mb.qHead+mb.qLen)%mixQueue]
	slot.n = copy(slot.pcm[:], f)
	mb.qLen++
}

// take puts the member's next frame, mb.n samples, in mb.in; a member
// with nothing queued gives silence. A frame of the other rate (the
// member's codec just changed) is converted crudely, once.
func (mb *mixMember) take() {
	n := mb.n
	in := mb.in[:n]
	var got [320]int16
	k := 0
	mb.qmu.Lock()
	if mb.qLen > 0 {
		slot := &mb.q[mb.qHead]
		k = copy(got[:], slot.pcm[:slot.n])
		mb.qHead = (mb.qHead + 1) % mixQueue
		mb.qLen--
	}
	mb.qmu.Unlock()
	switch {
	case k == 0:
		clear(in)
	case k == n:
		copy(in, got[:k])
	default:
		for i := range in {
			in[i] = got[min(i*k/n, k-1)]
		}
	}
}

// tick mixes and sends one 20 ms frame to every member. It must not
// allocate in the steady state.
func (m *Mixer) tick() {
	m.tickMu.Lock()
	defer m.tickMu.Unlock()
	m.mu.Lock()
	m.cur = append(m.cur[:0], m.members...)
	m.curPlays = append(m.curPlays[:0], m.plays...)
	m.mu.Unlock()

	clear(m.sum8[:])
	clear(m.sum16[:])
	nb, wb := false, false
	for _, mb := range m.cur {
		mb.n = frameSamples(mb.s.Codec())
		mb.take()
		wide := mb.n == 320
		nb, wb = nb || !wide, wb || wide
		if mb.muted.Load() {
			continue
		}
		if wide {
			for i, v := range mb.in[:320] {
				m.sum16[i] += int32(v)
			}
		} else {
			for i, v := range mb.in[:160] {
				m.sum8[i] += int32(v)
			}
		}
	}

	clear(m.play8[:])
	clear(m.play16[:])
	ended := false
	for _, p := range m.curPlays {
		if !p.read() {
			ended = true
			continue
		}
		if p.to == nil {
			for i, v := range p.buf {
				m.play16[i] += int32(v)
			}
			// Announcements are tones and prompts well below 4 kHz:
			// the average of each pair is a good enough low-pass.
			for i := range m.play8 {
				m.play8[i] += (int32(p.buf[2*i]) + int32(p.buf[2*i+1])) / 2
			}
		}
	}
	if ended {
		m.dropEnded()
	}

	both := nb && wb
	if both {
		if m.down == nil {
			m.down, m.up = newRateConv(16000, 8000), newRateConv(8000, 16000)
		}
		if !m.bothLast {
			// The filters' history is of the last time both rates met.
			m.down.reset()
			m.up.reset()
		}
		var s16 [320]int16
		var s8 [160]int16
		for i, v := range m.sum16 {
			s16[i] = saturate(v)
		}
		for i, v := range m.sum8 {
			s8[i] = saturate(v)
		}
		m.down.convert(m.wb8[:], s16[:])
		m.up.convert(m.nb16[:], s8[:])
	}
	m.bothLast = both

	for _, mb := range m.cur {
		muted := mb.muted.Load()
		if mb.n == 320 {
			for i := range 320 {
				v := m.sum16[i] + m.play16[i]
				if both {
					v += int32(m.nb16[i])
				}
				if !muted {
					v -= int32(mb.in[i])
				}
				mb.mix[i] = saturate(v)
			}
		} else {
			for i := range 160 {
				v := m.sum8[i] + m.play8[i]
				if both {
					v += int32(m.wb8[i])
				}
				if !muted {
					v -= int32(mb.in[i])
				}
				mb.mix[i] = saturate(v)
			}
		}
		for _, p := range m.curPlays {
			if p.to == mb.s && p.live {
				p.addTo(mb.mix[:mb.n])
			}
		}
		mb.send()
	}
}

func saturate(v int32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

// read takes the announcement's next frame (16 kHz); false when it ended.
func (p *mixPlay) read() bool {
	p.live = p.src.ReadFrame(p.buf[:])
	return p.live
}

// addTo mixes this tick's frame into one member's frame (160 or 320
// samples), saturating.
func (p *mixPlay) addTo(f []int16) {
	if len(f) == 320 {
		for i := range f {
			f[i] = saturate(int32(f[i]) + int32(p.buf[i]))
		}
		return
	}
	for i := range f {
		f[i] = saturate(int32(f[i]) + (int32(p.buf[2*i])+int32(p.buf[2*i+1]))/2)
	}
}

func (m *Mixer) dropEnded() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(m.plays); {
		if p := m.plays[i]; !p.live && containsPlay(m.curPlays, p) {
			m.plays = append(m.plays[:i], m.plays[i+1:]...)
			continue
		}
		i++
	}
}

func containsPlay(ps []*mixPlay, p *mixPlay) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// send encodes mb.mix in the member's codec and sends it.
func (mb *mixMember) send() {
	c := mb.s.Codec()
	if mb.p == nil || mb.p.codec != c {
		p, err := mb.s.newPlayer(&mb.out)
		if err != nil {
			return // a codec the box cannot encode: the member hears nothing
		}
		mb.p = p
	}
	mb.out.f = mb.mix[:mb.n]
	mb.p.frame()
}

// rateConv brings a steady flow of 20 ms frames from one rate to the
// other, frame for frame: the resampler holds back a few samples at the
// start (its filter looks ahead), which lead the output once as silence.
type rateConv struct {
	rs   *resample.Resampler
	pend []int16
}

func newRateConv(in, out int) *rateConv {
	return &rateConv{rs: resample.New(in, out), pend: make([]int16, 0, 4*320)}
}

func (c *rateConv) reset() {
	if c == nil {
		return
	}
	c.rs.Reset()
	c.pend = c.pend[:0]
}

// convert fills dst (exactly) from src. It does not allocate.
func (c *rateConv) convert(dst, src []int16) {
	if room := cap(c.pend) - len(c.pend); 2*len(src)+64 > room {
		drop := min(len(c.pend), 2*len(src)+64-room)
		c.pend = c.pend[:copy(c.pend, c.pend[drop:])]
	}
	c.pend = c.rs.Process(c.pend, src)
	short := max(0, len(dst)-len(c.pend))
	clear(dst[:short])
	k := copy(dst[short:], c.pend)
	c.pend = c.pend[:copy(c.pend, c.pend[k:])]
}
