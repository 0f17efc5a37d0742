package web

import (
	"context"

	"ringbox/firmware/webrtc"
)

// BrowserPhones is the part of *webrtc.Hub the agent page's WebSocket
// uses: attach each open page, pass on every message it sends. Decode
// frames with webrtc.DecodeSignal; ReceiveFrom names the sending page, so
// that the page that accepts a call gets its answer and the agent's other
// pages get cancel.
type BrowserPhones interface {
	Attach(agent string, s webrtc.Session) (detach func())
	Receive(ctx context.Context, agent string, sig webrtc.Signal)
	ReceiveFrom(ctx context.Context, agent string, s webrtc.Session, sig webrtc.Signal)
}

var _ BrowserPhones = (*webrtc.Hub)(nil)
