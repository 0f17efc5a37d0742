package sip

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

// streamLeg is a leg of another technology (a browser) that has a stream.
type streamLeg struct {
	call.Leg // nil: only what Bridge uses is implemented
	st       *media.Stream
	ctx      context.Context
	end      context.CancelFunc
}

func (l *streamLeg) MediaStream() *media.Stream { return l.st }
func (l *streamLeg) Context() context.Context   { return l.ctx }
func (l *streamLeg) Done() <-chan struct{}      { return l.ctx.Done() }
func (l *streamLeg) Err() error                 { return nil }

// TestBridgeAnyStreamer: Dialer.Bridge relays between legs that are not
// SIP legs when they expose their media.Stream, ends when one leg ends,
// and refuses a leg without a stream.
func TestBridgeAnyStreamer(t *testing.T) {
	eng, err := media.NewEngine(media.Config{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 47600, PortMax: 47699, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() { eng.Run(rctx); close(ran) }()
	defer func() { stop(); <-ran }()
	newLeg := func() (*streamLeg, *net.UDPConn) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		st, err := eng.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		st.SetRemote(media.Desc{Addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), Codecs: []media.Codec{media.PCMU}})
		ctx, cancel := context.WithCancel(t.Context())
		return &streamLeg{st: st, ctx: ctx, end: cancel}, c
	}
	a, ca := newLeg()
	b, cb := newLeg()
	d := &Dialer{}
	res := make(chan error, 1)
	go func() { res <- d.Bridge(t.Context(), a, b) }()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	buf := make([]byte, 1500)
	for i := 0; ; i++ {
		if i == 60 {
			t.Fatal("nothing relayed from a to b")
		}
		if _, err := ca.WriteToUDPAddrPort(pkt, a.st.Local()); err != nil {
			t.Fatal(err)
		}
		cb.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, err := cb.Read(buf); err == nil && n == len(pkt) {
			break
		}
		select {
		case err := <-res:
			t.Fatalf("bridge ended: %v", err)
		default:
		}
	}
	a.end()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("bridge ended by a leg: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("bridge outlived its leg")
	}
	if err := d.Bridge(t.Context(), b, &streamLeg{ctx: t.Context()}); err == nil {
		t.Fatal("bridged a leg without a stream")
	}
}
