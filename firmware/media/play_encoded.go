package media

import (
	"context"
	"fmt"

	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
)

// EncodedSource is audio already encoded as G.711, one 20 ms frame (160
// bytes) per read, such as a music-on-hold listener (*moh.Listener) whose
// hub encodes each frame once for all its listeners. A read that returns
// false ends the source.
type EncodedSource interface {
	ReadULaw(f []byte) bool
	ReadALaw(f []byte) bool
}

// PlayEncoded is Play for pre-encoded audio: on a PCMU or PCMA stream each
// frame goes into the packet as it is, so a thousand callers on hold cost
// one encoding per class and law, not one per caller. On a G.722 stream the
// µ-law frames are decoded and brought to 16 kHz (narrowband audio in a
// wideband call). Returns as Play does.
func (s *Stream) PlayEncoded(ctx context.Context, src EncodedSource, bargeIn bool) error {
	c := s.Codec()
	p := &player{
		s:     s,
		enc:   src,
		codec: c,
		tick:  make(chan struct{}, 1),
		pkt:   make([]byte, 12+160),
		first: true,
	}
	switch c.Name {
	case "PCMU", "PCMA":
	case "G722":
		p.pcm = make([]int16, 2*160)
		p.g722 = g722.NewEncoder(g722.Rate64000, 0)
	default:
		return fmt.Errorf("play on %s: codec %s: %w", s.local, c.Name, ErrCodecMismatch)
	}
	return s.play(ctx, p, bargeIn)
}

// readEncoded fills payload with the next frame from p.enc in the stream's
// codec. It is on the per-tick path and must not allocate.
func (p *player) readEncoded(payload []byte) bool {
	switch p.codec.Name {
	case "PCMU":
		return p.enc.ReadULaw(payload[:160])
	case "PCMA":
		return p.enc.ReadALaw(payload[:160])
	}
	// G.722: read the µ-law frame into the payload, decode it into the
	// second half of pcm, upsample by two with linear interpolation into
	// the whole of pcm, and encode that over the payload.
	narrow := p.pcm[160:]
	if !p.enc.ReadULaw(payload[:160]) {
		return false
	}
	g711.DecodeUlaw(narrow, payload[:160])
	prev := p.last
	for i := range 160 {
		x := narrow[i]
		p.pcm[2*i] = int16((int32(prev) + int32(x)) / 2)
		p.pcm[2*i+1] = x
		prev = x
	}
	p.last = prev
	p.g722.Encode(payload, p.pcm)
	return true
}
