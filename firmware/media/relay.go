package media

import (
	"context"
	"errors"
	"fmt"

	"ringbox/audio/g711"
)

func isG711(name string) bool { return name == "PCMU" || name == "PCMA" }

// Bridge relays RTP packet to packet between two streams until ctx ends or
// either stream is closed or times out, and returns why: the context's
// cause, ErrClosed or ErrTimeout. Same codec: no decoding, no allocation per
// packet; payload types are rewritten where the two sides numbered the codec
// or telephone-event differently; PCMU to PCMA is transcoded by a 256-byte
// table. G.722 to G.711 and back is transcoded (decoded, resampled between
// 16 and 8 kHz, encoded), one packet for one packet; the transcoded
// direction goes out on the box's own SSRC, sequence and timestamps, and
// RFC 4733 events travel on it too, payload type translated. RTCP is passed
// through. Codec changes by re-INVITE during the bridge are followed per
// packet; ErrCodecMismatch when the box cannot convert one codec to the
// other.
func Bridge(ctx context.Context, a, b *Stream) error {
	if a == b {
		return errors.New("media: bridge a stream to itself")
	}
	if ca, cb := a.Codec(), b.Codec(); !bridgeable(ca.Name, cb.Name) {
		return fmt.Errorf("bridge %s to %s: %w", ca.Name, cb.Name, ErrCodecMismatch)
	}
	if !a.peer.CompareAndSwap(nil, b) {
		return fmt.Errorf("bridge %s: %w", a.local, ErrBridged)
	}
	defer a.peer.CompareAndSwap(b, nil)
	if !b.peer.CompareAndSwap(nil, a) {
		return fmt.Errorf("bridge %s: %w", b.local, ErrBridged)
	}
	defer b.peer.CompareAndSwap(a, nil)
	a.arm()
	b.arm()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-a.closed:
		return ErrClosed
	case <-b.closed:
		return ErrClosed
	case <-a.timeout:
		return ErrTimeout
	case <-b.timeout:
		return ErrTimeout
	}
}

// relay forwards one packet received on s to the bridged stream out. It
// runs on s's reader goroutine and rewrites pkt in place; it must not
// allocate.
func (s *Stream) relay(out *Stream, in *remoteState, pkt []byte) {
	r := out.remote.Load()
	if !r.send {
		return // the peer holds: it does not want our media
	}
	dst, ok := out.dest(r)
	if !ok {
		return
	}
	now := s.e.now()
	switch pt := pkt[1] & 0x7F; {
	case pt == in.codec.PT:
		if in.codec.Name != r.codec.Name {
			start, end, ok := payloadOffset(pkt)
			if !ok {
				return
			}
			switch {
			case in.codec.Name == "PCMU" && r.codec.Name == "PCMA":
				g711.UlawToAlaw(pkt[start:end], pkt[start:end])
			case in.codec.Name == "PCMA" && r.codec.Name == "PCMU":
				g711.AlawToUlaw(pkt[start:end], pkt[start:end])
			case transcodable(in.codec.Name) && transcodable(r.codec.Name):
				s.transcoderFor(out, in.codec.Name, r.codec.Name).convert(pkt[start:end])
				if !out.out.boxed.Load() {
					out.out.boxed.Store(true) // a new stream: on the box's SSRC
				}
			default:
				return // a codec the box cannot convert
			}
		}
		pkt[1] = pkt[1]&0x80 | r.codec.PT
	case in.hasDTMF && pt == in.dtmf.PT:
		if !r.hasDTMF {
			return // the peer cannot take events; the digit still reached Digits
		}
		pkt[1] = pkt[1]&0x80 | r.dtmf.PT
	}
	// Anything else (comfort noise, ...) passes as is.
	out.out.rewriteRelayed(pkt, now)
	out.write(pkt, dst)
}
