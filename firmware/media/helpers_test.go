package media

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPorts hands each test its own slice of the port range, so tests (and
// other packages' tests) rarely compete for ports; when they do, Open moves on.
var testPorts atomic.Int32

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if !cfg.IP.IsValid() {
		cfg.IP = loopback
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PortMin == 0 {
		base := 41000 + int(testPorts.Add(1)%100)*200
		cfg.PortMin, cfg.PortMax = base, base+199
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// runEngine runs e until the test ends.
func runEngine(t testing.TB, e *Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func open(t testing.TB, e *Engine) *Stream {
	t.Helper()
	s, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// peer is a phone's RTP socket.
type peer struct {
	t    testing.TB
	conn *net.UDPConn
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *peer) send(to netip.AddrPort, pkt []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(pkt, to); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next datagram, or nil after d.
func (p *peer) recv(d time.Duration) []byte {
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// desc is an SDP description of a peer at addr with codec c.
func desc(addr netip.AddrPort, c Codec, dtmf *Codec) Desc {
	return Desc{Addr: addr, Codecs: []Codec{c}, DTMF: dtmf, Direction: "sendrecv"}
}

func rtpPacket(pt uint8, marker bool, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b := make([]byte, 12+len(payload))
	b[0] = 0x80
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	copy(b[12:], payload)
	return b
}

type header struct {
	marker bool
	pt     uint8
	seq    uint16
	ts     uint32
	ssrc   uint32
}

func parseHeader(b []byte) header {
	return header{
		marker: b[1]&0x80 != 0,
		pt:     b[1] & 0x7F,
		seq:    binary.BigEndian.Uint16(b[2:]),
		ts:     binary.BigEndian.Uint32(b[4:]),
		ssrc:   binary.BigEndian.Uint32(b[8:]),
	}
}

func eventPacket(pt uint8, marker bool, seq uint16, ts uint32, event uint8, end bool, dur uint16) []byte {
	p := []byte{event, eventVolume, 0, 0}
	if end {
		p[1] |= eventEnd
	}
	binary.BigEndian.PutUint16(p[2:], dur)
	return rtpPacket(pt, marker, seq, ts, 0x1234, p)
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}
