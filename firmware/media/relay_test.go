package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"ringbox/audio/g711"
	"ringbox/firmware/call"
)

// bridged opens two streams facing peers pa and pb, applies their SDP and
// bridges them until the test ends.
func bridged(t *testing.T, e *Engine, da, db func(netip.AddrPort) Desc) (a, b *Stream, pa, pb *peer, done <-chan error) {
	t.Helper()
	a, b = open(t, e), open(t, e)
	pa, pb = newPeer(t), newPeer(t)
	a.SetRemote(da(pa.addr()))
	b.SetRemote(db(pb.addr()))
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	fin := make(chan struct{})
	go func() { ch <- Bridge(ctx, a, b); close(fin) }()
	t.Cleanup(func() { cancel(); <-fin })
	waitFor(t, time.Second, func() bool { return a.peer.Load() == b && b.peer.Load() == a })
	return a, b, pa, pb, ch
}

func pcmu(addr netip.AddrPort) Desc { return desc(addr, PCMU, &TelephoneEvent) }

func TestBridgeRelaysBothWays(t *testing.T) {
	e := newEngine(t, Config{})
	a, b, pa, pb, _ := bridged(t, e, pcmu, pcmu)
	const n = 50
	payload := bytes.Repeat([]byte{0x55}, 160)
	for i := range n {
		pa.send(a.Local(), rtpPacket(0, i == 0, uint16(100+i), uint32(1000+160*i), 0xAAAA, payload))
		pb.send(b.Local(), rtpPacket(0, i == 0, uint16(500+i), uint32(9000+160*i), 0xBBBB, payload))
	}
	for i := range n {
		got := pb.recv(time.Second)
		if got == nil {
			t.Fatalf("b's peer got %d of %d packets", i, n)
		}
		h := parseHeader(got)
		want := header{marker: i == 0, pt: 0, seq: uint16(100 + i), ts: uint32(1000 + 160*i), ssrc: 0xAAAA}
		if h != want || !bytes.Equal(got[12:], payload) {
			t.Fatalf("packet %d at b's peer = %+v, want %+v unchanged", i, h, want)
		}
	}
	for i := range n {
		got := pa.recv(time.Second)
		if got == nil {
			t.Fatalf("a's peer got %d of %d packets", i, n)
		}
		if h := parseHeader(got); h.ssrc != 0xBBBB || h.seq != uint16(500+i) {
			t.Fatalf("packet %d at a's peer = %+v", i, h)
		}
	}
	waitFor(t, time.Second, func() bool { return b.Stats().PacketsOut == n && a.Stats().PacketsOut == n })
	if got, want := a.Stats(), (Stats{PacketsIn: n, PacketsOut: n, BytesIn: n * 172, BytesOut: n * 172}); got != want {
		t.Errorf("a stats = %+v, want %+v", got, want)
	}
	both := Stats{PacketsIn: 2 * n, PacketsOut: 2 * n, BytesIn: 2 * n * 172, BytesOut: 2 * n * 172}
	if got := e.Stats(); got != both {
		t.Errorf("engine stats = %+v, want %+v", got, both)
	}
	a.Close() // a closed stream's packets still count
	if got := e.Stats(); got != both {
		t.Errorf("engine stats after a closed = %+v, want %+v", got, both)
	}
}

// TestLatching: the peer's SDP names one port, its packets come from
// another (NAT); the box answers the real source.
func TestLatching(t *testing.T) {
	e := newEngine(t, Config{})
	pa := newPeer(t)
	nat := newPeer(t) // where the phone's packets really come from
	a, b := open(t, e), open(t, e)
	pb := newPeer(t)
	a.SetRemote(pcmu(pa.addr())) // the SDP says pa
	b.SetRemote(pcmu(pb.addr()))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go Bridge(ctx, a, b)
	waitFor(t, time.Second, func() bool { return a.peer.Load() == b })

	nat.send(a.Local(), rtpPacket(0, true, 1, 160, 7, make([]byte, 160)))
	if pb.recv(time.Second) == nil {
		t.Fatal("first packet not relayed")
	}
	pb.send(b.Local(), rtpPacket(0, true, 1, 160, 8, make([]byte, 160)))
	if got := nat.recv(time.Second); got == nil {
		t.Fatal("reply did not go to the latched source")
	}
	if got := pa.recv(100 * time.Millisecond); got != nil {
		t.Error("reply went to the SDP address, want the latched source only")
	}
	// Another source is ignored while the latched one is active.
	intruder := newPeer(t)
	intruder.send(a.Local(), rtpPacket(0, false, 2, 320, 9, make([]byte, 160)))
	if got := pb.recv(100 * time.Millisecond); got != nil {
		t.Error("packet from an unlatched source was relayed")
	}
}

func TestPayloadTypeRewrite(t *testing.T) {
	e := newEngine(t, Config{})
	te96 := Codec{Name: "telephone-event", PT: 96, Clock: 8000}
	g722a := Codec{Name: "G722", PT: 9, Clock: 8000}
	g722b := Codec{Name: "G722", PT: 109, Clock: 8000} // odd numbering, same codec
	a, b, pa, pb, _ := bridged(t, e,
		func(ap netip.AddrPort) Desc { return desc(ap, g722a, &TelephoneEvent) },
		func(ap netip.AddrPort) Desc { return desc(ap, g722b, &te96) })
	pa.send(a.Local(), rtpPacket(9, false, 1, 160, 1, []byte{1, 2, 3}))
	pa.send(a.Local(), eventPacket(101, true, 2, 320, 5, false, 160))
	pa.send(a.Local(), rtpPacket(13, false, 3, 480, 1, []byte{40})) // comfort noise passes as is
	for _, want := range []uint8{109, 96, 13} {
		got := pb.recv(time.Second)
		if got == nil {
			t.Fatalf("packet with PT %d not relayed", want)
		}
		if h := parseHeader(got); h.pt != want {
			t.Errorf("relayed PT = %d, want %d", h.pt, want)
		}
	}
	pb.send(b.Local(), eventPacket(96, true, 1, 160, 5, true, 800))
	if got := pa.recv(time.Second); got == nil || parseHeader(got).pt != 101 {
		t.Errorf("event toward a = %v, want PT 101", got)
	}
}

func TestBridgeTranscodesG711(t *testing.T) {
	e := newEngine(t, Config{})
	a, _, pa, pb, _ := bridged(t, e, pcmu, func(ap netip.AddrPort) Desc { return desc(ap, PCMA, nil) })
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(i*200 - 16000)
	}
	u := make([]byte, 160)
	g711.EncodeUlaw(u, pcm)
	pa.send(a.Local(), rtpPacket(0, false, 1, 160, 1, u))
	got := pb.recv(time.Second)
	if got == nil {
		t.Fatal("not relayed")
	}
	if h := parseHeader(got); h.pt != 8 {
		t.Errorf("PT = %d, want 8 (PCMA)", h.pt)
	}
	want := make([]byte, 160)
	g711.UlawToAlaw(want, u)
	if !bytes.Equal(got[12:], want) {
		t.Error("payload not transcoded to A-law")
	}
	// Events do not reach a peer without telephone-event.
	pa.send(a.Local(), eventPacket(101, true, 2, 320, 1, false, 160))
	if got := pb.recv(100 * time.Millisecond); got != nil {
		t.Error("event relayed to a peer that did not negotiate telephone-event")
	}
}

func TestBridgeEnds(t *testing.T) {
	e := newEngine(t, Config{})
	t.Run("close", func(t *testing.T) {
		a, _, _, _, done := bridged(t, e, pcmu, pcmu)
		a.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Bridge = %v, want ErrClosed", err)
		}
	})
	t.Run("context cause", func(t *testing.T) {
		a, b := open(t, e), open(t, e)
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(call.Shutdown)
		if err := Bridge(ctx, a, b); call.CauseOf(err) != call.Shutdown {
			t.Errorf("Bridge = %v, want the context's cause", err)
		}
	})
	t.Run("already bridged", func(t *testing.T) {
		a, _, _, _, _ := bridged(t, e, pcmu, pcmu)
		c := open(t, e)
		if err := Bridge(t.Context(), a, c); !errors.Is(err, ErrBridged) {
			t.Errorf("second Bridge = %v, want ErrBridged", err)
		}
	})
}

// TestRTCPMuxPassThrough: a multiplexes RTCP on its RTP port, b uses
// port+1; RTCP goes from each to the other's RTCP destination.
func TestRTCPMuxPassThrough(t *testing.T) {
	e := newEngine(t, Config{})
	pbRTCP := newPeer(t)
	a, b, pa, pb, _ := bridged(t, e,
		func(ap netip.AddrPort) Desc { d := pcmu(ap); d.RTCPMux = true; return d },
		pcmu)
	waitFor(t, time.Second, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.rtcp == nil })
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 1} // an empty receiver report
	// b's phone sends RTCP from its RTCP port to b's port+1 first.
	bRTCP := netip.AddrPortFrom(b.Local().Addr(), b.Local().Port()+1)
	pbRTCP.send(bRTCP, rr)
	if got := pa.recv(time.Second); !bytes.Equal(got, rr) {
		t.Fatalf("a's peer (rtcp-mux) got %v, want the RTCP packet on its RTP port", got)
	}
	sr := []byte{0x80, 200, 0, 1, 0, 0, 0, 2}
	pa.send(a.Local(), sr) // multiplexed on a's RTP port
	if got := pbRTCP.recv(time.Second); !bytes.Equal(got, sr) {
		t.Fatalf("b's peer RTCP port got %v, want the sender report", got)
	}
	if got := pb.recv(50 * time.Millisecond); got != nil {
		t.Error("RTCP leaked onto b's RTP port")
	}
	if s := a.Stats(); s.PacketsIn != 0 {
		t.Errorf("RTCP counted as RTP: %+v", s)
	}
}

func TestPortPool(t *testing.T) {
	e := newEngine(t, Config{PortMin: 43900, PortMax: 43903}) // two pairs
	a, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	if a.Local().Port()%2 != 0 || b.Local().Port()%2 != 0 || a.Local() == b.Local() {
		t.Errorf("ports %v %v, want distinct even ports", a.Local(), b.Local())
	}
	if _, err := e.Open(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third Open = %v, want ErrNoPorts", err)
	}
	if e.Active() != 2 {
		t.Errorf("Active = %d, want 2", e.Active())
	}
	port := a.Local()
	a.Close()
	c, err := e.Open()
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	if c.Local() != port {
		t.Errorf("reopened on %v, want the freed %v", c.Local(), port)
	}
	b.Close()
	c.Close()
	if e.Active() != 0 {
		t.Errorf("Active = %d after closing all, want 0", e.Active())
	}
}

func TestPortPoolSkipsBusyPorts(t *testing.T) {
	e := newEngine(t, Config{PortMin: 43910, PortMax: 43913})
	squatter, err := e.listen(43911) // another program holds 43910's RTCP port
	if err != nil {
		t.Skipf("port busy: %v", err)
	}
	defer squatter.close()
	s := open(t, e)
	if s.Local().Port() != 43912 {
		t.Errorf("opened on %v, want 43912 (43910/43911 busy)", s.Local())
	}
	if _, err := e.Open(); !errors.Is(err, ErrNoPorts) || !bytes.Contains([]byte(err.Error()), []byte("43910-43913")) {
		t.Errorf("Open = %v, want ErrNoPorts naming the range", err)
	}
}

// TestRelayNoAllocs counts allocations on the packet path: receive,
// latch check, PT rewrite, write.
func TestRelayNoAllocs(t *testing.T) {
	e := newEngine(t, Config{})
	a, _, pa, _, _ := bridged(t, e, pcmu, func(ap netip.AddrPort) Desc { return desc(ap, PCMA, nil) })
	pkt := rtpPacket(0, false, 1, 160, 1, make([]byte, 160))
	a.receive(pkt, pa.addr()) // latch
	if n := testing.AllocsPerRun(200, func() { a.receive(pkt, pa.addr()) }); n != 0 {
		t.Errorf("allocs per relayed packet = %v, want 0", n)
	}
}

// BenchmarkRelay measures one RTP packet through the bridge over loopback:
// a phone's socket sends to stream a, the box relays to stream b's phone,
// which reads it. ns/op is the latency of one packet end to end, pps the
// rate one bridge direction sustains on one goroutine pair.
func BenchmarkRelay(b *testing.B) {
	e := newEngine(b, Config{})
	sa, sb := open(b, e), open(b, e)
	pa, pb := newPeer(b), newPeer(b)
	sa.SetRemote(pcmu(pa.addr()))
	sb.SetRemote(pcmu(pb.addr()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Bridge(ctx, sa, sb)
	for sa.peer.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	pkt := rtpPacket(0, false, 1, 160, 1, make([]byte, 160))
	buf := make([]byte, 1500)
	const window = 8 // packets in flight
	for range window {
		pa.conn.WriteToUDPAddrPort(pkt, sa.Local())
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		pb.conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := pb.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(fmt.Errorf("relay stalled: %w", err))
		}
		pa.conn.WriteToUDPAddrPort(pkt, sa.Local())
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packets/s")
}
