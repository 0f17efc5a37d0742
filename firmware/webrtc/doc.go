// Package webrtc makes an agent's browser a phone: a call leg that the box
// terminates with WebRTC (DTLS-SRTP over ICE) and anchors on a
// *media.Stream like any SIP leg, so bridges, prompts, RFC 4733 digits and
// recording work unchanged.
//
// A [Hub] keeps the pages agents have open ([Hub.Attach]) and is the
// call.Dialer for call.TargetBrowser targets. The web layer owns the
// WebSocket: it implements [Session] on it, decodes each text frame with
// [DecodeSignal] and hands it to [Hub.Receive].
//
// # Protocol
//
// Every message is one JSON [Signal] object. Box to page:
//
//	{"type":"incoming","call_id":"…","caller":"+15551234","caller_name":"Ann","via":"Sales"}
//	{"type":"answer","call_id":"…","sdp":"v=0…"}       reply to accept
//	{"type":"cancel","call_id":"…","reason":"answered_elsewhere"}  stop ringing
//	{"type":"hangup","call_id":"…","reason":"normal"}  the call ended
//
// Page to box:
//
//	{"type":"accept","call_id":"…","sdp":"v=0…"}  answer, with a complete offer
//	{"type":"decline","call_id":"…"}
//	{"type":"hangup","call_id":"…"}
//	{"type":"dtmf","call_id":"…","digit":"5"}
//	{"type":"mute"|"unmute"|"hold"|"unhold","call_id":"…"}
//
// The page makes the offer (it owns the microphone) and does not trickle:
// it waits for ICE gathering to complete before sending accept, so one
// round trip sets up the call. The leg answers when the PeerConnection is
// connected; the first page of the agent to get there wins and the others
// get cancel. Reasons are call.Cause names.
//
// The web layer should call [Hub.ReceiveFrom], naming the page; Receive
// is right only for an agent with one page open.
//
// # Media
//
// Each leg has a media.Stream whose transport is the page: RTP read from
// the browser's track is handed to the stream (media.Stream.Deliver), and
// what the stream sends goes to the browser's track
// (media.Stream.SetTransport). The stream therefore sees an ordinary
// G.711 peer. Mute sends silence; hold sends silence and stops the
// stream's audio to the page.
//
// # Concurrency
//
// The hub's tables are under one mutex. Each answered leg has one
// goroutine reading the browser's track; setup runs on another; both are
// started with Hub.spawn and joined by [Hub.Close]. Signals to pages are
// sent outside every lock.
package webrtc
