package media

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotranspile/g722"

	"ringbox/audio/dtmf"
	"ringbox/audio/g711"
	"ringbox/firmware/call"
)

const (
	// maxGapTS is the largest timestamp gap (in 8 kHz RTP clock units) filled
	// with silence when a packet arrives: 1 s. A longer jump is a new
	// timeline (a re-INVITE, a restarted phone); the wall clock has filled
	// the silence before it anyway.
	maxGapTS = 8000
	// wallSlack is how long the packets may stop before the wall clock
	// fills the silence: long enough for ordinary jitter, short enough that
	// a recording's two channels stay within a few frames of each other.
	wallSlack = 100 * time.Millisecond
	// tsPerFrame is 20 ms in RTP clock units; G.722's clock is 8000 too.
	tsPerFrame = 160
	// maxFill is the most silent frames one engine tick fills (1 s).
	maxFill = 50
	// maxDecoded is the most samples one packet can decode to (G.722:
	// two samples per payload byte).
	maxDecoded = 2 * maxPacketSize
)

// Inband DTMF modes (see SetInbandDTMF).
const (
	inbandAuto = iota // on when the peer did not negotiate telephone-event
	inbandOn
	inbandOff
)

// tap is one Hear in progress.
type tap struct {
	sink func(frame []int16)
}

// hearState turns received audio packets into a steady sequence of 20 ms
// PCM frames for the taps (Hear) and the in-band DTMF detector. Packets
// come on the reader goroutine, wall-clock silence on the Hear goroutines;
// the mutex makes the frames one sequence.
type hearState struct {
	on atomic.Bool // some tap is registered: the reader must decode

	mu       sync.Mutex // protects following
	taps     []*tap
	codec    string // codec of the frame being assembled; "" before any
	frame    []int16
	n        int // samples in frame
	dec      *g722.Decoder
	bufs     *hearBufs // allocated when first needed: most streams are never heard
	synced   bool      // ssrc and nextTS hold
	ssrc     uint32
	nextTS   uint32 // timestamp the next packet should carry
	filled   bool   // the wall clock filled silence since the last packet
	lastEmit int64  // engine clock of the last frame
	det      *dtmf.Detector
	inbandOn bool // det was fed the previous frame
}

// hearBufs are the decoding buffers of a stream that is heard: 7 KB a
// stream that a bridged call (relayed packet to packet) never needs.
type hearBufs struct {
	pcm   [maxDecoded]int16
	zeros [320]int16
	det8k [160]int16 // a G.722 frame brought to 8 kHz for the detector
}

func (h *hearState) buffersLocked() *hearBufs {
	if h.bufs == nil {
		h.bufs = new(hearBufs)
	}
	return h.bufs
}

// Hear calls sink with every 20 ms frame of audio received on the stream,
// decoded to PCM (160 samples at 8 kHz, 320 at 16 kHz for G.722), until ctx
// ends (its cause), the stream closes (ErrClosed) or the engine stops
// (ErrEngineStopped). It works whether or not the stream is bridged.
//
// Gaps are filled with silence: lost packets and silence suppression by
// the RTP timestamps, and when packets stop altogether (hold, a dead peer,
// nothing received yet) by the engine's clock after 100 ms, so sink sees
// about 50 frames a second however the peer sends. Late and duplicate
// packets are dropped; there is no jitter buffer.
//
// sink runs on the goroutine reading the stream's packets (on Linux the
// engine's poller, which reads other streams too) or on the engine's tick,
// one call at a time, and must not block: it delays the packets relayed to
// a bridged peer and, on Linux, other calls' packets; nor may it close a
// stream. The frame is reused once sink returns. Several Hears may run on one
// stream; each gets every frame. Once Hear returns, sink is not called again.
func (s *Stream) Hear(ctx context.Context, sink func(frame []int16)) error {
	t := &tap{sink: sink}
	h := &s.hear
	h.mu.Lock()
	if len(h.taps) == 0 {
		h.lastEmit = s.e.now() // silence is counted from now
		h.synced = false       // what came unheard is not a gap
	}
	h.taps = append(h.taps, t)
	h.on.Store(true)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		for i, x := range h.taps {
			if x == t {
				h.taps = append(h.taps[:i], h.taps[i+1:]...)
				break
			}
		}
		h.on.Store(len(h.taps) > 0)
		h.mu.Unlock()
	}()

	clock := &player{tick: make(chan struct{}, 1)} // only the engine's pacing
	s.e.addPlayer(clock)
	defer s.e.removePlayer(clock)
	for {
		select {
		case <-clock.tick:
			s.fillSilence()
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-s.closed:
			return ErrClosed
		case <-s.e.done:
			return ErrEngineStopped
		}
	}
}

// SetInbandDTMF turns detection of DTMF tones in the received audio on or
// off. By default it is on exactly when the peer did not negotiate
// telephone-event (following re-INVITEs), so a phone that sends its keys as
// audio is heard like one that sends RFC 4733 events. Detected digits go to
// Digits with Duration 0. When it is forced on and the peer also sends
// RFC 4733 events, a key reported both ways within a second is delivered
// once.
func (s *Stream) SetInbandDTMF(on bool) {
	if on {
		s.inband.Store(inbandOn)
	} else {
		s.inband.Store(inbandOff)
	}
}

// inbandActive reports whether received audio goes to the DTMF detector.
func (s *Stream) inbandActive(r *remoteState) bool {
	switch s.inband.Load() {
	case inbandOn:
		return true
	case inbandAuto:
		return !r.hasDTMF
	}
	return false
}

// hearPacket decodes one received RTP packet for the taps and the
// detector. It runs on the reader goroutine and must not allocate.
func (s *Stream) hearPacket(pkt []byte, r *remoteState, now int64) {
	if pkt[1]&0x7F != r.codec.PT {
		return // events, comfort noise: a gap, filled with silence
	}
	start, end, ok := payloadOffset(pkt)
	if !ok || end == start {
		return
	}
	payload := pkt[start:end]
	if len(payload) > maxPacketSize {
		return
	}
	ts := binary.BigEndian.Uint32(pkt[4:])
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	inband := s.inbandActive(r)

	h := &s.hear
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inbandLocked(inband)
	if r.codec.Name != h.codec {
		h.resetLocked(r.codec.Name)
	}
	perTS := 1 // samples per RTP clock unit
	if h.codec == "G722" {
		perTS = 2
	}
	if h.synced && ssrc == h.ssrc {
		switch d := int32(ts - h.nextTS); {
		case d < 0 && d >= -maxGapTS && !h.filled:
			return // late or duplicate
		case d > 0 && d <= maxGapTS:
			h.silenceLocked(s, int(d)*perTS)
		}
	}
	h.synced, h.ssrc, h.filled = true, ssrc, false
	h.nextTS = ts + uint32(len(payload))

	var pcm []int16
	b := h.buffersLocked()
	switch h.codec {
	case "PCMU":
		pcm = b.pcm[:g711.DecodeUlaw(b.pcm[:], payload)]
	case "PCMA":
		pcm = b.pcm[:g711.DecodeAlaw(b.pcm[:], payload)]
	case "G722":
		if h.dec == nil {
			h.dec = g722.NewDecoder(g722.Rate64000, 0) // once per stream
		}
		pcm = b.pcm[:h.dec.Decode(b.pcm[:], payload)]
	default:
		return
	}
	if h.pushLocked(s, pcm) {
		h.lastEmit = now
	}
}

// resetLocked starts assembling frames of codec (at its rate), dropping a
// partial frame of the previous codec.
func (h *hearState) resetLocked(codec string) {
	h.codec = codec
	n := frameSamples(Codec{Name: codec})
	if cap(h.frame) < n {
		h.frame = make([]int16, 320) // once per stream
	}
	h.frame = h.frame[:n]
	h.n = 0
	h.synced = false
	if h.dec != nil {
		h.dec = g722.NewDecoder(g722.Rate64000, 0) // fresh state on a codec change
	}
}

// inbandLocked switches the detector on or off.
func (h *hearState) inbandLocked(on bool) {
	if on && h.det == nil {
		h.det = dtmf.NewDetector() // once per stream
	}
	if on && !h.inbandOn {
		h.det.Reset()
	}
	h.inbandOn = on
}

// pushLocked appends samples to the frame being assembled and emits every
// full frame. It reports whether a frame was emitted.
func (h *hearState) pushLocked(s *Stream, samples []int16) bool {
	emitted := false
	for len(samples) > 0 {
		k := copy(h.frame[h.n:], samples)
		h.n += k
		samples = samples[k:]
		if h.n == len(h.frame) {
			h.emitLocked(s)
			emitted = true
		}
	}
	return emitted
}

// silenceLocked appends n samples of silence.
func (h *hearState) silenceLocked(s *Stream, n int) {
	zeros := h.buffersLocked().zeros[:]
	for n > 0 {
		k := min(n, len(zeros))
		h.pushLocked(s, zeros[:k])
		n -= k
	}
}

// emitLocked hands the full frame to every tap and the detector.
func (h *hearState) emitLocked(s *Stream) {
	f := h.frame
	h.n = 0
	for _, t := range h.taps {
		t.sink(f)
	}
	if !h.inbandOn {
		return
	}
	in := f
	det8k := h.buffersLocked().det8k[:]
	if len(f) == 2*len(det8k) {
		// G.722 at 16 kHz: average pairs. DTMF lies below 1.7 kHz, where
		// this low-pass loses under 0.5 dB; the detector rejects what
		// aliases down from above 4 kHz as it rejects speech.
		for i := range det8k {
			det8k[i] = int16((int32(f[2*i]) + int32(f[2*i+1])) / 2)
		}
		in = det8k
	}
	for _, k := range h.det.Feed(in) {
		s.deliverDigit(call.Digit{Key: k}, fromInband)
	}
}

// fillSilence emits silent frames for the time no packet came, once that
// exceeds wallSlack, so hearers keep a steady 50 frames a second.
func (s *Stream) fillSilence() {
	now := s.e.now()
	h := &s.hear
	h.mu.Lock()
	defer h.mu.Unlock()
	idle := time.Duration(now - h.lastEmit)
	if idle < wallSlack {
		return
	}
	if h.codec == "" {
		h.resetLocked(s.Codec().Name)
	}
	perTS := 1
	if h.codec == "G722" {
		perTS = 2
	}
	n := idle / frameDur
	if n > maxFill {
		// The process was stalled: a burst of seconds of silence helps
		// no hearer; give the last second.
		h.lastEmit += int64(n-maxFill) * int64(frameDur)
		n = maxFill
	}
	for range n {
		missing := len(h.frame) - h.n
		h.nextTS += uint32(missing / perTS)
		h.silenceLocked(s, missing)
		h.lastEmit += int64(frameDur)
	}
	h.filled = true
}

// Digit sources, for de-duplication.
const (
	fromEvent  = iota // RFC 4733
	fromInband        // tones in the audio
	fromOther         // SIP INFO
)

// dedupWindow is how far apart the same key, reported both as an event and
// as tones, still counts as one press.
const dedupWindow = time.Second

// digitDedup pairs each digit from one source with at most one of the same
// key from the other, so a key pressed twice is still two digits.
type digitDedup struct {
	mu      sync.Mutex // protects following
	pending [2]struct {
		key byte
		at  int64
		ok  bool
	}
}

// deliverDigit queues a digit from src, dropping it when in-band detection
// is forced on and the other source already reported the same press.
func (s *Stream) deliverDigit(dg call.Digit, src int) {
	if src == fromOther || s.inband.Load() != inbandOn || !s.remote.Load().hasDTMF {
		s.deliver(dg)
		return
	}
	now := s.e.now()
	d := &s.dedup
	d.mu.Lock()
	other := &d.pending[1-src]
	if other.ok && other.key == dg.Key && time.Duration(now-other.at) < dedupWindow {
		other.ok = false
		d.mu.Unlock()
		return
	}
	d.pending[src].key, d.pending[src].at, d.pending[src].ok = dg.Key, now, true
	d.mu.Unlock()
	s.deliver(dg)
}
