package media

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/firmware/call"
)

// Stats counts a stream's RTP traffic (RTCP is not counted).
type Stats struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut uint64
}

// remoteState is what SetRemote learnt about the peer. It is replaced
// whole, never modified, so the packet path reads it with one atomic load.
type remoteState struct {
	addr    netip.AddrPort // from SDP
	codec   Codec
	dtmf    Codec
	hasDTMF bool
	rtcpMux bool
	send    bool // the peer wants our media and has an address
	held    bool // the peer does not send: inactivity is not counted
}

// Stream is one anchored RTP socket facing one peer (one call leg). All
// methods are safe for concurrent use.
type Stream struct {
	e     *Engine
	slot  int
	local netip.AddrPort
	rtp   *sock // nil only in tests

	remote      atomic.Pointer[remoteState]
	latched     atomic.Pointer[netip.AddrPort] // symmetric RTP destination
	latchedRTCP atomic.Pointer[netip.AddrPort]
	lastRx      atomic.Int64 // engine clock of the last accepted RTP packet
	armed       atomic.Bool  // inactivity counts once media started (see Timeout)
	peer        atomic.Pointer[Stream]

	pktIn, pktOut, bytesIn, bytesOut atomic.Uint64

	timeout     chan struct{}
	timeoutOnce sync.Once
	closed      chan struct{}
	closeOnce   sync.Once

	digits    chan call.Digit
	digitNote chan struct{} // a digit was queued (barge-in)
	rx        dtmfReceiver
	dedup     digitDedup
	inband    atomic.Int32 // inbandAuto, inbandOn or inbandOff
	hear      hearState
	xc        *transcoder // used by the RTP reader only

	transport atomic.Pointer[func(pkt []byte) error] // SetTransport; nil: the socket
	srtp      atomic.Pointer[srtpState]              // SetSRTP; nil: plain RTP

	mu   sync.Mutex // protects following; serialises SetRemote and Close
	rtcp *sock      // nil under rtcp-mux

	out sender
}

const digitQueue = 32

func (e *Engine) newStream(slot int, local netip.AddrPort, rtp, rtcp *sock) *Stream {
	s := &Stream{
		e:         e,
		slot:      slot,
		local:     local,
		rtp:       rtp,
		rtcp:      rtcp,
		timeout:   make(chan struct{}),
		closed:    make(chan struct{}),
		digits:    make(chan call.Digit, digitQueue),
		digitNote: make(chan struct{}, 1),
	}
	s.remote.Store(&remoteState{codec: PCMU})
	s.lastRx.Store(e.now())
	s.out.init()
	e.track(s)
	return s
}

// watchSockets starts reading the stream's sockets.
func (s *Stream) watchSockets() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.e.watch(s.rtp, s, s.slot, false); err != nil {
		return err
	}
	if s.rtcp != nil {
		return s.e.watch(s.rtcp, s, s.slot, true)
	}
	return nil
}

// Local is the address to put in the box's SDP toward this peer.
func (s *Stream) Local() netip.AddrPort { return s.local }

// Codec is the negotiated audio codec (PCMU until SetRemote says otherwise).
func (s *Stream) Codec() Codec { return s.remote.Load().codec }

// Stats returns the RTP counters.
func (s *Stream) Stats() Stats {
	return Stats{
		PacketsIn:  s.pktIn.Load(),
		PacketsOut: s.pktOut.Load(),
		BytesIn:    s.bytesIn.Load(),
		BytesOut:   s.bytesOut.Load(),
	}
}

// Timeout is closed when no RTP arrived for the engine's Timeout. Time is
// counted only once media has started on the stream (the first packet
// received, or a Play, Bridge or SendDigit), so a leg that rings for longer
// than the timeout is not cut at answer, and never while the peer holds
// (sendonly, recvonly, inactive or c=0.0.0.0).
func (s *Stream) Timeout() <-chan struct{} { return s.timeout }

// Touch restarts the inactivity time, e.g. when the leg is answered.
func (s *Stream) Touch() { s.lastRx.Store(s.e.now()) }

// arm starts counting inactivity, from now if nothing was received yet.
func (s *Stream) arm() {
	if s.armed.CompareAndSwap(false, true) {
		s.lastRx.Store(s.e.now())
	}
}

func (s *Stream) expire() {
	s.timeoutOnce.Do(func() {
		s.e.log.Info("rtp timeout", "local", s.local, "remote", s.dest0())
		close(s.timeout)
	})
}

// Done is closed by Close.
func (s *Stream) Done() <-chan struct{} { return s.closed }

// SetRemote applies the peer's SDP (offer or answer): remote address,
// negotiated codec d.Codecs[0], DTMF payload type and direction. It may be
// called again on re-INVITE; a new address drops the latched one.
func (s *Stream) SetRemote(d Desc) {
	s.mu.Lock()
	drop := s.setRemoteLocked(d)
	s.mu.Unlock()
	if drop != nil {
		// Closing waits until no packet is being handled, and the packet
		// path takes s.mu (RTCP toward this stream): not under s.mu.
		drop.close()
	}
}

// setRemoteLocked is SetRemote under s.mu; it returns the RTCP socket to
// close when the peer moved to rtcp-mux.
func (s *Stream) setRemoteLocked(d Desc) (drop *sock) {
	old := s.remote.Load()
	addr := netip.AddrPortFrom(d.Addr.Addr().Unmap(), d.Addr.Port())
	r := &remoteState{addr: addr, codec: old.codec, rtcpMux: d.RTCPMux}
	if len(d.Codecs) > 0 {
		r.codec = d.Codecs[0]
	}
	if d.DTMF != nil {
		r.dtmf, r.hasDTMF = *d.DTMF, true
	}
	reachable := addr.Addr().IsValid() && !addr.Addr().IsUnspecified() && addr.Port() != 0
	switch d.Direction {
	case "", "sendrecv":
		r.send, r.held = reachable, !reachable
	case "recvonly":
		r.send, r.held = reachable, true
	default: // sendonly, inactive
		r.held = true
	}
	if addr != old.addr {
		s.latched.Store(nil)
		s.latchedRTCP.Store(nil)
	}
	if old.held && !r.held {
		s.lastRx.Store(s.e.now()) // back from hold: count from now
	}
	s.remote.Store(r)

	if s.isClosed() {
		return nil
	}
	switch {
	case r.rtcpMux && s.rtcp != nil:
		drop = s.rtcp // RTCP now shares the RTP socket (RFC 5761)
		s.rtcp = nil
	case !r.rtcpMux && s.rtcp == nil && s.rtp != nil:
		c, err := s.e.listen(int(s.local.Port()) + 1)
		if err != nil {
			s.e.log.Warn("rtcp socket", "port", s.local.Port()+1, "err", err)
			break
		}
		if err := s.e.watch(c, s, s.slot, true); err != nil {
			s.e.log.Warn("rtcp socket", "port", s.local.Port()+1, "err", err)
			c.close()
			break
		}
		s.rtcp = c
	}
	return drop
}

func (s *Stream) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Close releases the stream's ports at once and stops reading them. It is
// idempotent. It must not be called from the packet path (a Hear sink).
func (s *Stream) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.mu.Lock()
		rtp, rtcp := s.rtp, s.rtcp
		s.rtcp = nil
		s.mu.Unlock()
		// Closing waits until no packet of the stream is being handled;
		// that path takes s.mu, so it is not held here.
		if rtp != nil {
			rtp.close()
		}
		if rtcp != nil {
			rtcp.close()
		}
		s.rx.stop()
		if rtp != nil {
			s.e.release(s.slot)
		}
		s.e.untrack(s)
	})
}

// dest0 is where the stream sends, for logs.
func (s *Stream) dest0() netip.AddrPort {
	d, _ := s.dest(s.remote.Load())
	return d
}

// dest is the latched source of the peer's RTP, else its SDP address.
func (s *Stream) dest(r *remoteState) (netip.AddrPort, bool) {
	if l := s.latched.Load(); l != nil {
		return *l, true
	}
	return r.addr, r.send
}

// isRTCP tells RTCP from RTP on a multiplexed port (RFC 5761 §4): RTCP packet
// types 192-223 occupy the byte that RTP uses for marker and payload type
// 64-95, which RTP must then not use.
func isRTCP(pkt []byte) bool { return pkt[1] >= 192 && pkt[1] <= 223 }

// receive handles one datagram from the RTP socket. It runs on the reader
// goroutine and must not allocate.
func (s *Stream) receive(pkt []byte, src netip.AddrPort) {
	if len(pkt) < 8 || pkt[0]>>6 != 2 {
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if isRTCP(pkt) {
		s.receiveRTCP(pkt, src)
		return
	}
	if len(pkt) < 12 {
		return
	}
	if sp := s.srtp.Load(); sp != nil {
		// Before the latch: a packet that does not authenticate neither
		// moves the latch nor counts as media.
		if pkt = sp.decryptRTP(pkt); pkt == nil {
			return
		}
	}
	now := s.e.now()
	if !s.accept(src, now) {
		return
	}
	s.lastRx.Store(now)
	s.armed.Store(true)
	s.pktIn.Add(1)
	s.bytesIn.Add(uint64(len(pkt)))
	r := s.remote.Load()
	if r.hasDTMF && pkt[1]&0x7F == r.dtmf.PT {
		s.rx.packet(s, pkt, r.dtmf.Clock)
	}
	if s.hear.on.Load() || s.inbandActive(r) {
		s.hearPacket(pkt, r, now) // before relay rewrites the packet
	}
	if p := s.peer.Load(); p != nil {
		s.relay(p, r, pkt)
	}
}

// accept latches the first source and drops packets from any other, unless
// the latched source has gone quiet (the phone's NAT binding changed).
func (s *Stream) accept(src netip.AddrPort, now int64) bool {
	l := s.latched.Load()
	if l != nil && *l == src {
		return true
	}
	if l != nil && time.Duration(now-s.lastRx.Load()) < relatchQuiet {
		return false
	}
	p := new(netip.AddrPort) // once per latch, not per packet
	*p = src
	s.latched.Store(p)
	return true
}

// receiveRTCP passes RTCP through to the bridged peer's RTCP destination.
// The box generates no RTCP of its own.
func (s *Stream) receiveRTCP(pkt []byte, src netip.AddrPort) {
	if len(pkt) < 8 || pkt[0]>>6 != 2 {
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if sp := s.srtp.Load(); sp != nil {
		if pkt = sp.decryptRTCP(pkt); pkt == nil {
			return
		}
	}
	if l := s.latchedRTCP.Load(); l == nil || *l != src {
		if l != nil && s.latched.Load() != nil && s.latched.Load().Addr() != src.Addr() {
			return // not from the peer
		}
		p := new(netip.AddrPort)
		*p = src
		s.latchedRTCP.Store(p)
	}
	p := s.peer.Load()
	if p == nil {
		return
	}
	r := p.remote.Load()
	if !r.send {
		return
	}
	if r.rtcpMux {
		if dst, ok := p.dest(r); ok && p.rtp != nil {
			p.sendRTCP(p.rtp, pkt, dst)
		}
		return
	}
	dst := netip.AddrPortFrom(r.addr.Addr(), r.addr.Port()+1)
	if l := p.latchedRTCP.Load(); l != nil {
		dst = *l
	} else if l := p.latched.Load(); l != nil {
		dst = netip.AddrPortFrom(l.Addr(), l.Port()+1)
	}
	p.mu.Lock() // the RTCP socket comes and goes with rtcp-mux
	c := p.rtcp
	p.mu.Unlock()
	if c != nil {
		p.sendRTCP(c, pkt, dst) // c may be closing: writeTo then fails
	}
}

// sendRTCP writes one RTCP packet on c, as SRTCP when the stream speaks
// SRTP.
func (s *Stream) sendRTCP(c *sock, pkt []byte, dst netip.AddrPort) {
	if sp := s.srtp.Load(); sp != nil {
		_ = sp.encrypt(pkt, true, c, dst)
		return
	}
	_ = c.writeTo(pkt, dst)
}

// SetTransport makes the stream hand every RTP packet it sends (relayed,
// played, DTMF) to w instead of writing it to its socket: for a peer that
// is not plain RTP over UDP, such as a WebRTC leg, which encrypts and
// sends it itself. w runs on the sending goroutine (another stream's
// reader, the playback clock), must not block, and must not keep pkt
// past its return. The stream's SDP address must still be set (any
// reachable address: packets go to w) so that the stream sends at all.
// RTCP passed through a bridge still goes to the socket.
func (s *Stream) SetTransport(w func(pkt []byte) error) {
	s.transport.Store(&w)
}

// Deliver handles pkt as if it had arrived on the stream's RTP socket from
// src: the other half of SetTransport. Calls must not overlap, and src
// should be the SDP address, so that the latch keeps stray packets on the
// socket out (they would be handled concurrently with Deliver).
func (s *Stream) Deliver(pkt []byte, src netip.AddrPort) {
	s.receive(pkt, src)
}

// write sends one RTP packet to the peer and counts it.
func (s *Stream) write(pkt []byte, dst netip.AddrPort) {
	if w := s.transport.Load(); w != nil {
		if (*w)(pkt) != nil {
			return
		}
		s.pktOut.Add(1)
		s.bytesOut.Add(uint64(len(pkt)))
		return
	}
	if s.rtp == nil {
		return // a test's stream without sockets
	}
	var err error
	if sp := s.srtp.Load(); sp != nil {
		err = sp.encrypt(pkt, false, s.rtp, dst)
	} else {
		err = s.rtp.writeTo(pkt, dst)
	}
	if err != nil {
		return // the peer may be gone; inactivity or signalling ends the call
	}
	s.pktOut.Add(1)
	s.bytesOut.Add(uint64(len(pkt)))
}

// payloadOffset returns where the payload of an RTP packet starts and
// ends, skipping CSRCs, the header extension and padding.
func payloadOffset(pkt []byte) (start, end int, ok bool) {
	start = 12 + 4*int(pkt[0]&0x0F)
	end = len(pkt)
	if pkt[0]&0x10 != 0 { // extension
		if len(pkt) < start+4 {
			return 0, 0, false
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(pkt[start+2:]))
	}
	if pkt[0]&0x20 != 0 && end > 0 { // padding
		end -= int(pkt[end-1])
	}
	if start > end {
		return 0, 0, false
	}
	return start, end, true
}

// sender is the state of what the box itself sends on a stream: its own
// SSRC, sequence and timestamp, and the mapping applied to relayed packets
// once the box has sent on the stream.
type sender struct {
	boxed atomic.Bool // the box has sent its own packets: relayed ones are rewritten

	mu       sync.Mutex // protects following
	ssrc     uint32
	nextSeq  uint16
	lastTS   uint32
	lastSend int64 // engine clock
	sent     bool  // lastTS and lastSend are meaningful
	mapped   bool  // relaySSRC, seqOff and tsOff hold
	relaySSR uint32
	seqOff   uint16
	tsOff    uint32
}

func (o *sender) init() {
	o.ssrc = rand.Uint32()
	o.nextSeq = uint16(rand.Uint32())
	o.lastTS = rand.Uint32()
}

// spurtTSLocked is the timestamp of the first packet of a new talkspurt:
// the last one advanced by the wall time since, in whole frames, so the
// receiver's jitter buffer sees the silence as silence.
func (o *sender) spurtTSLocked(now int64) uint32 {
	if !o.sent {
		return o.lastTS
	}
	frames := (time.Duration(now-o.lastSend) + frameDur/2) / frameDur
	return o.lastTS + 160*uint32(max(frames, 1))
}

// rewriteRelayed puts a relayed packet on the box's SSRC/seq/ts timeline
// when the box sent audio of its own on this stream before, so the peer
// sees one continuous stream. Pure relay (the box never sent) leaves SSRC,
// sequence and timestamp untouched.
func (o *sender) rewriteRelayed(pkt []byte, now int64) {
	if !o.boxed.Load() {
		return
	}
	seq := binary.BigEndian.Uint16(pkt[2:])
	ts := binary.BigEndian.Uint32(pkt[4:])
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.mapped || ssrc != o.relaySSR {
		o.seqOff = o.nextSeq - seq
		o.tsOff = o.spurtTSLocked(now) - ts
		o.relaySSR, o.mapped = ssrc, true
		pkt[1] |= 0x80 // a new source starts here
	}
	seq += o.seqOff
	ts += o.tsOff
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], o.ssrc)
	if int16(seq-o.nextSeq) >= 0 {
		o.nextSeq = seq + 1
		o.lastTS = ts
	}
	o.lastSend, o.sent = now, true
}

// stampLocked writes the header of a box-originated packet and advances
// the sequence number. ts is the packet's timestamp.
func (o *sender) stampLocked(hdr []byte, pt uint8, marker bool, ts uint32, now int64) {
	hdr[0] = 0x80
	hdr[1] = pt & 0x7F
	if marker {
		hdr[1] |= 0x80
	}
	binary.BigEndian.PutUint16(hdr[2:], o.nextSeq)
	binary.BigEndian.PutUint32(hdr[4:], ts)
	binary.BigEndian.PutUint32(hdr[8:], o.ssrc)
	o.nextSeq++
	o.lastTS = ts
	o.lastSend, o.sent = now, true
}

// beginLocked starts a talkspurt of box-originated packets and returns its
// first timestamp. Relayed packets after it get a fresh mapping.
func (o *sender) beginLocked(now int64) uint32 {
	o.boxed.Store(true)
	o.mapped = false
	return o.spurtTSLocked(now)
}
