package webrtc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	pion "github.com/pion/webrtc/v4"
)

// outTrack is the box's audio toward the browser. It is a TrackLocal of
// its own rather than pion's TrackLocalStaticRTP, which rewrites every
// packet's payload type to the bound codec's and would turn RFC 4733
// events into garbled audio.
type outTrack struct {
	b atomic.Pointer[binding]
}

type binding struct {
	ssrc uint32
	w    pion.TrackLocalWriter
}

var errUnbound = errors.New("webrtc: track not bound")

var _ pion.TrackLocal = (*outTrack)(nil)

// Bind implements pion.TrackLocal: it takes the first G.711 codec the
// page accepted.
func (t *outTrack) Bind(ctx pion.TrackLocalContext) (pion.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, pion.MimeTypePCMU) || strings.EqualFold(c.MimeType, pion.MimeTypePCMA) {
			t.b.Store(&binding{ssrc: uint32(ctx.SSRC()), w: ctx.WriteStream()})
			return c, nil
		}
	}
	return pion.RTPCodecParameters{}, fmt.Errorf("bind audio: %w", pion.ErrUnsupportedCodec)
}

// Unbind implements pion.TrackLocal.
func (t *outTrack) Unbind(pion.TrackLocalContext) error {
	t.b.Store(nil)
	return nil
}

func (t *outTrack) ID() string              { return "audio" }
func (t *outTrack) RID() string             { return "" }
func (t *outTrack) StreamID() string        { return "ringbox" }
func (t *outTrack) Kind() pion.RTPCodecType { return pion.RTPCodecTypeAudio }

// write sends one RTP packet from the stream, renumbered by rw and on the
// negotiated SSRC. The payload type is kept: the stream already uses the
// page's numbers (Leg.streamDesc).
func (t *outTrack) write(pkt []byte, rw *rewriter) error {
	b := t.b.Load()
	if b == nil {
		return errUnbound
	}
	rw.rewrite(pkt)
	binary.BigEndian.PutUint32(pkt[8:], b.ssrc)
	n, err := rw.hdr.Unmarshal(pkt)
	if err != nil {
		return fmt.Errorf("rtp to browser: %w", err)
	}
	if _, err := b.w.WriteRTP(&rw.hdr, pkt[n:]); err != nil {
		return fmt.Errorf("rtp to browser: %w", err)
	}
	return nil
}
