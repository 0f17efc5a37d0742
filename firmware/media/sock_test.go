package media

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestManyStreamsBursts bridges 20 pairs and sends a burst of packets into
// every stream at once, so the sockets are read while packets keep coming:
// every packet must come out at the other side, none stranded in a socket
// until some later packet wakes the reader.
func TestManyStreamsBursts(t *testing.T) {
	e := newEngine(t, Config{})
	const pairs, burst = 20, 30
	type pair struct {
		a, b   *Stream
		pa, pb *peer
	}
	ps := make([]pair, pairs)
	for i := range ps {
		a, b, pa, pb, _ := bridged(t, e, pcmu, pcmu)
		ps[i] = pair{a, b, pa, pb}
	}
	payload := make([]byte, 160)
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range burst {
				ps[i].pa.send(ps[i].a.Local(), rtpPacket(0, false, uint16(j), uint32(160*j), 1, payload))
			}
		}()
		go func() {
			defer wg.Done()
			for j := range burst {
				ps[i].pb.send(ps[i].b.Local(), rtpPacket(0, false, uint16(j), uint32(160*j), 2, payload))
			}
		}()
	}
	wg.Wait()
	for i, p := range ps {
		for _, to := range []*peer{p.pb, p.pa} {
			for j := range burst {
				got := to.recv(time.Second)
				if got == nil {
					t.Fatalf("pair %d: %d of %d packets arrived", i, j, burst)
				}
				if h := parseHeader(got); h.seq != uint16(j) {
					t.Fatalf("pair %d: packet %d has seq %d, want them in order", i, j, h.seq)
				}
			}
		}
	}
}

// TestCloseUnderTraffic closes streams while their peers keep sending and
// the box keeps relaying: Close returns, nothing is relayed from a closed
// stream, the ports are free again, and once every stream is closed the
// engine has no reader left running.
func TestCloseUnderTraffic(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEngine(t, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var senders sync.WaitGroup
	var streams []*Stream
	for range 10 {
		a, b := open(t, e), open(t, e)
		pa, pb := newPeer(t), newPeer(t)
		a.SetRemote(pcmu(pa.addr()))
		b.SetRemote(pcmu(pb.addr()))
		go Bridge(ctx, a, b)
		streams = append(streams, a, b)
		for _, x := range []struct {
			p *peer
			s *Stream
		}{{pa, a}, {pb, b}} {
			senders.Add(1)
			go func() {
				defer senders.Done()
				pkt := rtpPacket(0, false, 1, 160, 1, make([]byte, 160))
				for ctx.Err() == nil {
					x.p.conn.WriteToUDPAddrPort(pkt, x.s.Local())
					time.Sleep(200 * time.Microsecond)
				}
			}()
		}
	}
	time.Sleep(50 * time.Millisecond)
	for _, s := range streams {
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not return under traffic")
		}
		out := s.Stats().PacketsOut
		time.Sleep(time.Millisecond)
		if got := s.Stats().PacketsOut; got != out {
			t.Fatalf("a closed stream sent %d more packets", got-out)
		}
	}
	if e.Active() != 0 {
		t.Errorf("Active = %d, want 0", e.Active())
	}
	// Every port can be bound again.
	for _, s := range streams {
		k, err := e.listen(int(s.Local().Port()))
		if err != nil {
			t.Fatalf("port %d still bound after Close: %v", s.Local().Port(), err)
		}
		k.close()
	}
	cancel()
	senders.Wait()
	waitFor(t, 2*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}

// TestRTCPMuxSwitchUnderTraffic turns rtcp-mux on and off by re-INVITE
// while RTCP keeps arriving on both streams' port+1: a's RTCP socket
// closes and reopens while b's RTCP, relayed toward a, takes a's lock on
// the packet path. Neither SetRemote nor the packet path may block.
func TestRTCPMuxSwitchUnderTraffic(t *testing.T) {
	e := newEngine(t, Config{})
	a, b, pa, pb, _ := bridged(t, e, pcmu, pcmu)
	ctx, cancel := context.WithCancel(t.Context())
	var senders sync.WaitGroup
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 1}
	for _, x := range []struct {
		p *peer
		s *Stream
	}{{pa, a}, {pb, b}} {
		senders.Add(1)
		go func() {
			defer senders.Done()
			rtcp := netip.AddrPortFrom(x.s.Local().Addr(), x.s.Local().Port()+1)
			for ctx.Err() == nil {
				x.p.conn.WriteToUDPAddrPort(rr, rtcp)
				x.p.conn.WriteToUDPAddrPort(rtpPacket(0, false, 1, 160, 1, make([]byte, 160)), x.s.Local())
				time.Sleep(50 * time.Microsecond)
			}
		}()
	}
	switched := make(chan struct{})
	go func() {
		defer close(switched)
		for i := range 100 {
			d := pcmu(pa.addr())
			d.RTCPMux = i%2 == 0
			a.SetRemote(d)
			time.Sleep(500 * time.Microsecond)
		}
	}()
	select {
	case <-switched:
	case <-time.After(10 * time.Second):
		t.Fatal("SetRemote blocked while RTCP was being relayed")
	}
	cancel()
	senders.Wait()
	a.SetRemote(pcmu(pa.addr())) // no mux: the RTCP socket is back
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rtcp == nil {
		t.Error("RTCP socket not reopened when rtcp-mux was dropped")
	}
}

// TestRelayIPv6: an engine on an IPv6 address relays between IPv6 peers.
func TestRelayIPv6(t *testing.T) {
	e := newEngine(t, Config{IP: netip.IPv6Loopback()})
	a, b := open(t, e), open(t, e)
	pa, pb := newPeer6(t), newPeer6(t)
	a.SetRemote(pcmu(pa.addr()))
	b.SetRemote(pcmu(pb.addr()))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go Bridge(ctx, a, b)
	waitFor(t, time.Second, func() bool { return a.peer.Load() == b && b.peer.Load() == a })
	pa.send(a.Local(), rtpPacket(0, false, 1, 160, 1, make([]byte, 160)))
	if got := pb.recv(time.Second); got == nil || parseHeader(got).seq != 1 {
		t.Fatalf("b's peer got %v, want the packet", got)
	}
	pb.send(b.Local(), rtpPacket(0, false, 2, 160, 2, make([]byte, 160)))
	if got := pa.recv(time.Second); got == nil || parseHeader(got).seq != 2 {
		t.Fatalf("a's peer got %v, want the packet", got)
	}
}

func newPeer6(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Loopback(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c}
}

// TestRelayBehindNAT: the announced address (--public-ip, a NAT router's)
// is not one of the box's own; the streams bind to Bind, name the
// announced address in Local (what SDP carries), and relay what arrives on
// the bound address.
func TestRelayBehindNAT(t *testing.T) {
	router := netip.MustParseAddr("203.0.113.5")
	e := newEngine(t, Config{IP: router, Bind: netip.IPv4Unspecified()})
	a, b := open(t, e), open(t, e)
	if a.Local().Addr() != router {
		t.Fatalf("stream's announced address %s, want %s", a.Local(), router)
	}
	pa, pb := newPeer(t), newPeer(t)
	a.SetRemote(pcmu(pa.addr()))
	b.SetRemote(pcmu(pb.addr()))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go Bridge(ctx, a, b)
	waitFor(t, time.Second, func() bool { return a.peer.Load() == b && b.peer.Load() == a })
	// Through the router: the packet reaches the box at its own address.
	at := func(s *Stream) netip.AddrPort { return netip.AddrPortFrom(loopback, s.Local().Port()) }
	pa.send(at(a), rtpPacket(0, false, 1, 160, 1, make([]byte, 160)))
	if got := pb.recv(time.Second); got == nil || parseHeader(got).seq != 1 {
		t.Fatalf("b's peer got %v, want the packet", got)
	}
	pb.send(at(b), rtpPacket(0, false, 2, 160, 2, make([]byte, 160)))
	if got := pa.recv(time.Second); got == nil || parseHeader(got).seq != 2 {
		t.Fatalf("a's peer got %v, want the packet", got)
	}
}
