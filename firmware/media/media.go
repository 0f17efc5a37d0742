// Package media anchors the box's RTP: SDP offer/answer, one UDP socket
// pair per call leg, packet-to-packet relay between bridged legs, playback
// of 20 ms audio frames and RFC 4733 DTMF.
//
// An [Engine] owns the RTP port pool, one shared 20 ms pacing clock and one
// inactivity sweeper (both in [Engine.Run]). [Engine.Open] returns a
// [Stream]: one anchored RTP socket (even port) and its RTCP socket (port+1,
// closed again when the peer negotiates rtcp-mux) facing one peer.
//
// # Packets
//
// On Linux no goroutine waits on a socket. The engine's poller keeps every
// stream's sockets in one epoll instance, itself in Go's netpoller, and one
// goroutine handles each wake-up: every socket that became readable gives
// it a packet, read and written with raw non-blocking system calls into a
// buffer the poller owns (sock_linux.go says why: a goroutine per socket
// cost more than the relaying itself). Elsewhere each socket has a reader
// goroutine (sock_other.go). Either way a received packet is handled on
// that goroutine to the end: DTMF events are decoded, and when the stream
// is bridged the packet is rewritten in place (payload type; PCMU<->PCMA
// transcoding by table, G.722<->G.711 by decoding, resampling and encoding;
// SSRC, sequence and timestamp where the box sent audio of its own on the
// outgoing side before or transcodes G.722) and written to the other
// stream's peer. Nothing on that path allocates (a transcoder is built once
// per bridge).
//
// # Hearing, recording, music on hold
//
// [Stream.Hear] taps the reader path: when someone hears (or in-band DTMF
// detection is on, see [Stream.SetInbandDTMF]), each packet is decoded
// before it is relayed and cut into 20 ms frames, gaps filled with silence
// by RTP timestamp and, when packets stop, by the engine's clock. When no
// one hears, the tap costs two atomic loads per packet. [Recorder] uses two
// Hears to write a bridged call to a stereo WAV. [Stream.PlayEncoded]
// sends frames already encoded in G.711 (music on hold: one encoding per
// class, shared by every listener).
//
// Symmetric RTP: a stream sends to the source address of the first RTP
// packet it receives, not to the SDP address (phones behind NAT), and drops
// packets from other sources unless the latched one has been quiet for 2 s.
//
// # Conferences
//
// A [Mixer] (mixer.go) is one conference: its members' streams are heard
// (Hear), and one goroutine per conference mixes a 20 ms frame every 20 ms
// and sends each member the sum of the others in its own codec: G.711
// members summed at 8 kHz, G.722 ones at 16 kHz, the two sums converted
// once a tick for the members of the other rate.
//
// # Time
//
// Playback does not use a timer per stream: every playing stream registers
// with the engine, whose single ticker wakes each of them once per 20 ms
// (and slows to once a second while nothing plays or hears, so relaying
// and idling cost no timer wake-ups). The same loop checks every second each stream's atomic last-packet time
// and closes [Stream.Timeout] after [Config.Timeout] without RTP. The sweeper
// and DTMF end timers are plain Go time, tested under testing/synctest.
package media

import (
	"errors"
	"fmt"

	"ringbox/firmware/call"
)

// Errors.
var (
	// ErrNoPorts means every port of the pool is in use.
	ErrNoPorts = errors.New("media: no free rtp port")
	// ErrClosed is returned by operations on a closed stream.
	ErrClosed = errors.New("media: stream closed")
	// ErrTimeout ends a Bridge when a stream saw no RTP for the configured
	// time; call.CauseOf maps it to call.MediaTimeout.
	ErrTimeout = fmt.Errorf("media: rtp inactivity: %w", call.MediaTimeout)
	// ErrCodecMismatch means the box cannot convert one stream's codec
	// into the other's (it converts between PCMU, PCMA and G.722), or
	// cannot play on a stream's codec.
	ErrCodecMismatch = errors.New("media: codecs differ")
	// ErrBridged means a stream is already in another bridge.
	ErrBridged = errors.New("media: stream already bridged")
	// ErrNoDTMF means the peer did not negotiate telephone-event.
	ErrNoDTMF = errors.New("media: peer has no telephone-event")
	// ErrEngineStopped means the engine's Run has returned, so nothing
	// paces playback any more.
	ErrEngineStopped = errors.New("media: engine stopped")
)

// Streamer is implemented by call legs whose audio is anchored on a
// Stream (SIP legs, browser legs): bridges and recorders relay between
// the streams of any two such legs.
type Streamer interface {
	MediaStream() *Stream
}
