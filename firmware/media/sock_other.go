//go:build !linux || mediagoroutines

package media

import (
	"errors"
	"net"
	"net/netip"
)

// Outside Linux each socket has a reader goroutine: portable, but a
// goroutine wake-up per packet (see sock_linux.go for the appliance's way).

// sock is one UDP socket of a stream and its reader goroutine.
type sock struct {
	c    *net.UDPConn
	done chan struct{} // closed when the reader returns; nil if not watched
}

type engineIO struct{}

func (e *Engine) initIO(slots, procs int) {}

// listen binds one UDP socket on the engine's bind address.
func (e *Engine) listen(port int) (*sock, error) {
	network := "udp4"
	if e.cfg.Bind.Is6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.Bind, uint16(port))))
	if err != nil {
		return nil, err
	}
	// Bursts after a scheduling hiccup must not overflow the default
	// buffer; the kernel caps this at rmem_max, which is fine.
	_ = c.SetReadBuffer(socketBuffer)
	_ = c.SetWriteBuffer(socketBuffer)
	return &sock{c: c}, nil
}

// watch hands k's packets to s (RTP, or RTCP when rtcp) from now on.
func (e *Engine) watch(k *sock, s *Stream, slot int, rtcp bool) error {
	k.done = make(chan struct{})
	go k.read(s, rtcp)
	return nil
}

func (k *sock) read(s *Stream, rtcp bool) {
	defer close(k.done)
	buf := make([]byte, maxPacketSize)
	for {
		n, src, err := k.c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if rtcp {
			s.receiveRTCP(buf[:n], src)
		} else {
			s.receive(buf[:n], src)
		}
	}
}

// close closes k and waits for its reader.
func (k *sock) close() {
	k.c.Close()
	if k.done != nil {
		<-k.done
	}
}

func (k *sock) writeTo(pkt []byte, dst netip.AddrPort) error {
	_, err := k.c.WriteToUDPAddrPort(pkt, dst)
	return err
}
