package analog

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"

	"ringbox/audio/g711"
	"ringbox/board/line"
	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

// Leg is one call on an analog port: the flow's caller when the phone (FXS)
// or the exchange (FXO) started it, a ringing leg when the box rings the
// port. Its audio is anchored on a media.Stream like a SIP leg's, so
// bridges, recordings, prompts and in-band DTMF work unchanged: the port's
// audio pump hands the stream an RTP packet per 20 ms frame from the line
// (Stream.Deliver) and takes what the stream sends (Stream.SetTransport),
// with no socket in between.
type Leg struct {
	id     string
	port   string // "fxs:1"
	remote call.Party
	st     *media.Stream
	peer   netip.AddrPort // the stream's idea of its peer: a placeholder, packets go to fromStream

	ctx    context.Context
	cancel context.CancelCauseFunc

	answeredC chan struct{}
	ringingC  chan struct{}
	// transfers carries the port's transfer requests to the flow
	// (call.Transferor): a hang-up during a consult.
	transfers chan call.Transfer

	// onAnswer runs when the flow answers the leg (FXO: seize the line;
	// FXS: reverse the polarity); nil for none. onEnd tells the port the
	// leg is over; it must not block.
	onAnswer func(context.Context) error
	onEnd    func(*Leg, call.Cause)

	mu       sync.Mutex // protects following
	answered bool
	rung     bool
	jb       jitter

	// RTP toward the stream: written only by the port's pump.
	seq  uint16
	ts   uint32
	ssrc uint32
	pkt  [12 + line.FrameSamples]byte
}

var (
	_ call.Leg        = (*Leg)(nil)
	_ call.Ringer     = (*Leg)(nil)
	_ call.Transferor = (*Leg)(nil)
	_ media.Streamer  = (*Leg)(nil)
)

func newLeg(st *media.Stream, id, port string, remote call.Party, ssrc uint32) *Leg {
	ctx, cancel := context.WithCancelCause(context.Background())
	l := &Leg{
		id: id, port: port, remote: remote, st: st,
		ctx:       ctx,
		cancel:    cancel,
		answeredC: make(chan struct{}),
		ringingC:  make(chan struct{}),
		transfers: make(chan call.Transfer),
		ssrc:      ssrc,
	}
	if st == nil {
		return l // signalling tests: a leg without audio
	}
	l.peer = netip.AddrPortFrom(st.Local().Addr(), 9)
	st.SetTransport(l.fromStream)
	st.SetRemote(media.Desc{Addr: l.peer, Codecs: []media.Codec{media.PCMU}, Direction: "sendrecv", RTCPMux: true})
	return l
}

// ID implements call.Leg.
func (l *Leg) ID() string { return l.id }

// Port is the analog port the leg is on ("fxs:1").
func (l *Leg) Port() string { return l.port }

// Remote implements call.Leg.
func (l *Leg) Remote() call.Party { return l.remote }

// Answer implements call.Leg. For the flow's caller it answers the call
// (FXO: the box takes the line off hook); for a leg ringing the port it
// waits until the phone is lifted, the leg ends or ctx ends.
func (l *Leg) Answer(ctx context.Context) error {
	if l.onAnswer != nil {
		l.mu.Lock()
		done := l.answered
		l.mu.Unlock()
		if done {
			return nil
		}
		if err := l.onAnswer(ctx); err != nil {
			return err
		}
		l.markAnswered()
		return nil
	}
	select {
	case <-l.answeredC:
		return nil
	case <-l.ctx.Done():
		return call.CauseOf(context.Cause(l.ctx))
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// markAnswered records the answer (a ringing leg's phone was lifted, or
// the flow answered the caller).
func (l *Leg) markAnswered() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.answered {
		l.answered = true
		close(l.answeredC)
	}
}

func (l *Leg) isAnswered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

// markRinging closes Ringing once.
func (l *Leg) markRinging() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.rung {
		l.rung = true
		close(l.ringingC)
	}
}

// Transfers implements call.Transferor: the attended transfer an FXS
// phone asks for by hanging up during a consult.
func (l *Leg) Transfers() <-chan call.Transfer { return l.transfers }

// Ringing implements call.Ringer: closed when the port rings the phone (or
// the exchange rings the dialled number).
func (l *Leg) Ringing() <-chan struct{} { return l.ringingC }

// Progress implements call.Leg: an analog caller hears whatever the flow
// plays without a signal for it.
func (l *Leg) Progress(context.Context) error { return nil }

// Hangup implements call.Leg.
func (l *Leg) Hangup(c call.Cause) { l.end(c) }

// end ends the leg with c, from either side; idempotent.
func (l *Leg) end(c call.Cause) {
	if l.ctx.Err() != nil {
		return
	}
	l.cancel(c)
	if l.st != nil {
		l.st.Close()
	}
	if l.onEnd != nil {
		l.onEnd(l, c)
	}
}

// Done implements call.Leg.
func (l *Leg) Done() <-chan struct{} { return l.ctx.Done() }

// Context is the leg's life, for call.AfterEnd.
func (l *Leg) Context() context.Context { return l.ctx }

// Err implements call.Leg.
func (l *Leg) Err() error {
	if l.ctx.Err() == nil {
		return nil
	}
	return call.CauseOf(context.Cause(l.ctx))
}

// MediaStream implements media.Streamer.
func (l *Leg) MediaStream() *media.Stream { return l.st }

// Media implements call.Leg.
func (l *Leg) Media() call.Media { return legMedia{l} }

type legMedia struct{ l *Leg }

var (
	_ call.Media  = legMedia{}
	_ call.Hearer = legMedia{}
)

func (m legMedia) Play(ctx context.Context, src call.Source, bargeIn bool) error {
	if m.l.st == nil {
		return media.ErrClosed
	}
	return m.l.st.Play(ctx, src, bargeIn)
}
func (m legMedia) Digits() <-chan call.Digit {
	if m.l.st == nil {
		return nil
	}
	return m.l.st.Digits()
}
func (m legMedia) Codec() string    { return "PCMU" }
func (m legMedia) Codecs() []string { return []string{"PCMU", "PCMA"} }
func (m legMedia) Hear(ctx context.Context, sink func(frame []int16)) error {
	if m.l.st == nil {
		return media.ErrClosed
	}
	return m.l.st.Hear(ctx, sink)
}

// PlayEncoded plays pre-encoded G.711 (music on hold), as SIP legs do.
func (m legMedia) PlayEncoded(ctx context.Context, src media.EncodedSource, bargeIn bool) error {
	if m.l.st == nil {
		return media.ErrClosed
	}
	return m.l.st.PlayEncoded(ctx, src, bargeIn)
}

// fromStream is the stream's transport: every RTP packet the stream sends
// (relayed from the bridged leg, prompts, music) arrives here, on the
// sender's goroutine, and is decoded into the jitter buffer the pump
// plays to the line. It must not block or keep pkt.
func (l *Leg) fromStream(pkt []byte) error {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return nil
	}
	pt := pkt[1] & 0x7f
	if pt != media.PCMU.PT && pt != media.PCMA.PT {
		return nil // telephone-event: an analog phone hears the tones in band
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // header extension
		if len(pkt) < off+4 {
			return nil
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 && end > off { // padding
		end -= int(pkt[end-1])
	}
	if end <= off {
		return nil
	}
	payload := pkt[off:end]
	l.mu.Lock()
	f := l.jb.slot()
	n := min(len(payload), len(f))
	for i := range n {
		if pt == media.PCMU.PT {
			f[i] = g711.DecodeUlawSample(payload[i])
		} else {
			f[i] = g711.DecodeAlawSample(payload[i])
		}
	}
	clear(f[n:])
	l.mu.Unlock()
	return nil
}

// pop takes the next frame from the far side into f; false (and f left
// alone) when none is waiting.
func (l *Leg) pop(f []int16) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.jb.pop(f)
}

// deliver hands one frame from the line to the stream as a PCMU packet.
// Only the port's pump calls it (Stream.Deliver calls must not overlap).
func (l *Leg) deliver(f []int16) {
	if l.st == nil || l.ctx.Err() != nil {
		return
	}
	p := l.pkt[:]
	p[0], p[1] = 0x80, media.PCMU.PT
	binary.BigEndian.PutUint16(p[2:], l.seq)
	binary.BigEndian.PutUint32(p[4:], l.ts)
	binary.BigEndian.PutUint32(p[8:], l.ssrc)
	for i, s := range f[:line.FrameSamples] {
		p[12+i] = g711.EncodeUlawSample(s)
	}
	l.seq++
	l.ts += line.FrameSamples
	l.st.Deliver(p, l.peer)
}

// jitter holds up to jbFrames frames from the far side; when full the
// oldest is dropped, so a late reader never hears stale audio for long.
const jbFrames = 6

type jitter struct {
	buf  [jbFrames][line.FrameSamples]int16
	r, n int
}

// slot returns the frame to fill next.
func (j *jitter) slot() []int16 {
	if j.n == jbFrames {
		j.r = (j.r + 1) % jbFrames
		j.n--
	}
	i := (j.r + j.n) % jbFrames
	j.n++
	return j.buf[i][:]
}

func (j *jitter) pop(f []int16) bool {
	if j.n == 0 {
		return false
	}
	copy(f, j.buf[j.r][:])
	j.r = (j.r + 1) % jbFrames
	j.n--
	return true
}
