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

// legsContext is ctx ended also when either leg ends, without a goroutine
// waiting for them for the whole bridge.
func legsContext(ctx context.Context, a, b *Leg) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stopA := context.AfterFunc(a.ctx, cancel)
	stopB := context.AfterFunc(b.ctx, cancel)
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
	la, ok1 := call.Unwrap(a).(*Leg)
	lb, ok2 := call.Unwrap(b).(*Leg)
	if !ok1 || !ok2 {
		return call.Recording{}, fmt.Errorf("bridge: both legs must be SIP legs (got %T and %T)", a, b)
	}
	ctx, cancel := legsContext(ctx, la, lb)
	defer cancel()
	rec := media.Recorder{Logger: d.s.log}
	res, err := rec.Bridge(ctx, la.stream, lb.stream, path)
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
