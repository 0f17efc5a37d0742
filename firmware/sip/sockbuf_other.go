//go:build !linux

package sip

import "net"

const sipSocketBuffer = 8 << 20

// growBuffers enlarges the socket's buffers as far as the system allows.
func growBuffers(c *net.UDPConn) {
	c.SetReadBuffer(sipSocketBuffer)
	c.SetWriteBuffer(sipSocketBuffer)
}
