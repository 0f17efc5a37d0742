package sip

import (
	"context"
	"fmt"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

var _ call.Hearer = legMedia{}

// Hear implements call.Hearer: the leg's received audio as 20 ms frames.
func (m legMedia) Hear(ctx context.Context, sink func(frame []int16)) error {
	return m.st.Hear(ctx, sink)
}

// MediaStream implements media.Streamer: the leg's anchored RTP.
func (l *Leg) MediaStream() *media.Stream { return l.stream }

var _ media.Streamer = (*Leg)(nil)

// streamOf is the leg carrying l's audio and its stream, when it has one.
func streamOf(l call.Leg) (call.Leg, *media.Stream, bool) {
	u := call.Unwrap(l)
	s, ok := u.(media.Streamer)
	if !ok || s.MediaStream() == nil {
		return nil, nil, false
	}
	return u, s.MediaStream(), true
}

// legsContext is ctx ended also when either leg ends, without a goroutine
// waiting for them for the whole bridge when the legs end with a context
// (call.AfterEnd).
func legsContext(ctx context.Context, a, b call.Leg) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stopA := call.AfterEnd(a, cancel)
	stopB := call.AfterEnd(b, cancel)
	return ctx, func() {
		stopA()
		stopB()
		cancel()
	}
}

var _ call.RecordingBridger = (*Dialer)(nil)

// BridgeRecorded implements call.RecordingBridger: Bridge, recording the
// conversation to a stereo WAV at path (a left, b right) while it lasts.
// A recording failure does not end the bridge; the Recording says why.
func (d *Dialer) BridgeRecorded(ctx context.Context, a, b call.Leg, path string) (call.Recording, error) {
	la, sa, ok1 := streamOf(a)
	lb, sb, ok2 := streamOf(b)
	if !ok1 || !ok2 {
		return call.Recording{}, fmt.Errorf("bridge: both legs must have media streams (got %T and %T)", a, b)
	}
	ctx, cancel := legsContext(ctx, la, lb)
	defer cancel()
	rec := media.Recorder{Logger: d.s.log}
	res, err := rec.Bridge(ctx, sa, sb, path)
	select {
	case <-la.Done():
		return res, nil
	case <-lb.Done():
		return res, nil
	default:
	}
	if ctx.Err() != nil {
		return res, nil
	}
	return res, err
}

// PlayEncoded plays pre-encoded G.711 frames (music on hold from
// audio/moh, one encoding shared by every listener); see
// media.Stream.PlayEncoded. The source's type is spelled as a literal so
// that routing code can find this method by type assertion without
// importing media or sip:
//
//	type encodedSource = interface {
//		ReadULaw(f []byte) bool
//		ReadALaw(f []byte) bool
//	}
//	p, ok := leg.Media().(interface {
//		PlayEncoded(ctx context.Context, src encodedSource, bargeIn bool) error
//	})
func (m legMedia) PlayEncoded(ctx context.Context, src interface {
	ReadULaw(f []byte) bool
	ReadALaw(f []byte) bool
}, bargeIn bool) error {
	return m.st.PlayEncoded(ctx, src, bargeIn)
}

// SetInbandDTMF forces detection of DTMF tones in the leg's audio on or
// off; by default it is on when the phone did not negotiate
// telephone-event.
func (m legMedia) SetInbandDTMF(on bool) { m.st.SetInbandDTMF(on) }
