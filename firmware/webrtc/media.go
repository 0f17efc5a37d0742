package webrtc

import (
	"context"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

// Media implements call.Leg: the leg's stream, as for a SIP leg.
func (l *Leg) Media() call.Media { return legMedia{l} }

type legMedia struct{ l *Leg }

var (
	_ call.Media  = legMedia{}
	_ call.Hearer = legMedia{}
)

// Play implements call.Media: to the browser, through the stream.
func (m legMedia) Play(ctx context.Context, src call.Source, bargeIn bool) error {
	return m.l.st.Play(ctx, src, bargeIn)
}

// Digits implements call.Media: keypad signals and RFC 4733 from the page.
func (m legMedia) Digits() <-chan call.Digit { return m.l.st.Digits() }

// Codec implements call.Media.
func (m legMedia) Codec() string { return m.l.st.Codec().Name }

// Codecs implements call.Media: before the page answers, both G.711 laws
// (browsers offer both); then the negotiated one.
func (m legMedia) Codecs() []string {
	if m.l.isAnswered() {
		return []string{m.l.st.Codec().Name}
	}
	return []string{"PCMU", "PCMA"}
}

// Hear implements call.Hearer.
func (m legMedia) Hear(ctx context.Context, sink func(frame []int16)) error {
	return m.l.st.Hear(ctx, sink)
}

// PlayEncoded plays pre-encoded G.711 (music on hold), as SIP legs do.
func (m legMedia) PlayEncoded(ctx context.Context, src interface {
	ReadULaw(f []byte) bool
	ReadALaw(f []byte) bool
}, bargeIn bool) error {
	return m.l.st.PlayEncoded(ctx, src, bargeIn)
}

var _ media.Streamer = (*Leg)(nil)
