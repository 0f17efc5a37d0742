package sip

import (
	"net"
	"syscall"
)

// sipSocketBuffer is the receive buffer of the SIP UDP socket. A burst of
// calls (or a short GC pause) must not overflow it: a lost 200 OK costs a
// retransmission and, under load, a failed call (docs/benchmarks.md).
const sipSocketBuffer = 8 << 20

// growBuffers enlarges the socket's buffers. SO_RCVBUFFORCE passes the
// kernel's rmem_max when the box runs as root (it does, as the appliance's
// service); otherwise the plain setting, capped by rmem_max, is used.
func growBuffers(c *net.UDPConn) {
	c.SetReadBuffer(sipSocketBuffer)
	c.SetWriteBuffer(sipSocketBuffer)
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, sipSocketBuffer)
		})
	}
}
