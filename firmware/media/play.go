package media

import (
	"context"
	"fmt"

	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
	"ringbox/firmware/call"
)

// player is one Play in progress: its buffers, allocated once per Play, and
// its registration with the engine's pacing clock.
type player struct {
	s      *Stream
	src    call.Source
	enc    EncodedSource // instead of src (PlayEncoded)
	codec  Codec
	tick   chan struct{}
	index  int // in Engine.players
	pcm    []int16
	pkt    []byte
	g722   *g722.Encoder
	last   int16 // PlayEncoded on G.722: the previous 8 kHz sample
	first  bool  // the next packet starts a talkspurt
	spurts uint32
}

// frameSamples is the number of source samples per 20 ms frame for codec.
func frameSamples(c Codec) int {
	if c.Name == "G722" {
		return 320 // 16 kHz audio, though the RTP clock is 8000 (RFC 3551)
	}
	return 160
}

func (s *Stream) newPlayer(src call.Source) (*player, error) {
	c := s.Codec()
	p := &player{
		s:     s,
		src:   src,
		codec: c,
		tick:  make(chan struct{}, 1),
		pcm:   make([]int16, frameSamples(c)),
		pkt:   make([]byte, 12+160),
		first: true,
	}
	switch c.Name {
	case "PCMU", "PCMA":
	case "G722":
		p.g722 = g722.NewEncoder(g722.Rate64000, 0)
	default:
		return nil, fmt.Errorf("play on %s: codec %s: %w", s.local, c.Name, ErrCodecMismatch)
	}
	return p, nil
}

// Play sends 20 ms frames from src, encoded in the stream's codec and paced
// by the engine's shared clock, until src ends (nil), ctx ends (its cause),
// the stream closes (ErrClosed) or, when bargeIn, a digit arrives (nil; the
// digit stays in Digits). A digit already waiting when Play starts with
// bargeIn skips the prompt at once (type-ahead).
//
// The first packet carries the marker bit; the box keeps one SSRC per
// stream, and the sequence number and timestamp continue across Plays and
// relayed audio (the timestamp advancing by the silence in between).
// Frames are not sent while the peer holds, but the source is still
// consumed in real time.
func (s *Stream) Play(ctx context.Context, src call.Source, bargeIn bool) error {
	p, err := s.newPlayer(src)
	if err != nil {
		return err
	}
	return s.play(ctx, p, bargeIn)
}

// play runs p on the engine's clock until it ends, as Play describes.
func (s *Stream) play(ctx context.Context, p *player, bargeIn bool) error {
	var digit <-chan struct{}
	if bargeIn {
		select {
		case <-s.digitNote:
		default:
		}
		if len(s.digits) > 0 {
			return nil
		}
		digit = s.digitNote
	}
	s.arm()
	s.e.addPlayer(p)
	defer s.e.removePlayer(p)
	for {
		select {
		case <-p.tick:
			if !p.frame() {
				return nil
			}
		case <-digit:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-s.closed:
			return ErrClosed
		case <-s.e.done:
			return ErrEngineStopped
		}
	}
}

// frame reads, encodes and sends one frame; false when the source ended.
// It is the per-tick path of playback and must not allocate.
func (p *player) frame() bool {
	payload := p.pkt[12:]
	if p.enc != nil {
		if !p.readEncoded(payload) {
			return false
		}
	} else {
		if !p.src.ReadFrame(p.pcm) {
			return false
		}
		switch p.codec.Name {
		case "PCMU":
			g711.EncodeUlaw(payload, p.pcm)
		case "PCMA":
			g711.EncodeAlaw(payload, p.pcm)
		case "G722":
			p.g722.Encode(payload, p.pcm)
		}
	}
	s := p.s
	now := s.e.now()
	o := &s.out
	o.mu.Lock()
	var ts uint32
	if p.first {
		ts = o.beginLocked(now)
	} else {
		ts = o.lastTS + 160 // 20 ms at the 8 kHz RTP clock, G.722 too
	}
	o.stampLocked(p.pkt[:12], p.codec.PT, p.first, ts, now)
	o.mu.Unlock()
	p.first = false
	r := s.remote.Load()
	if !r.send {
		return true
	}
	if dst, ok := s.dest(r); ok {
		s.write(p.pkt, dst)
	}
	return true
}
