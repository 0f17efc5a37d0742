package sip

import (
	"bytes"
	"net/netip"
	"strconv"
	"sync"
)

// streamFrames finds where each SIP message begins in what a TCP or TLS
// connection reads, so that the read filter (the edge filter) judges every
// request and not only the ones that happen to start a read: a guesser
// pipelining three hundred REGISTERs into one segment would otherwise spend
// one token of its rate, and only the first request's User-Agent would be
// looked at. It follows the stream as the SIP parser does, by the header
// block's end and the Content-Length (mandatory on streams, RFC 3261
// §18.3), and keeps state only for connections whose last read ended
// inside a message.
type streamFrames struct {
	mu    sync.Mutex
	conns map[netip.AddrPort]*frame // protected by mu
}

// frame is where a connection's stream stands between two reads.
type frame struct {
	head []byte // the start of a header block whose end has not come
	skip int    // body bytes of the current message still to come
}

const (
	// maxFrameHead and maxFrameBody bound one message on a stream; past
	// them the connection is ended (no phone or carrier sends such).
	maxFrameHead = 64 << 10
	maxFrameBody = 1 << 20
	// maxFramed bounds the connections with state: a flood of
	// connections each stopping mid-message resets the table rather than
	// growing it.
	maxFramed = 10_000
)

var crlf2 = []byte("\r\n\r\n")

// headers calls judge with src and each header block that ends in data, in order
// (the request or status line and the headers, without the body). It
// returns false as soon as judge does, or when the stream carries a
// message the box would not read (a header block over 64 KiB, a body over
// 1 MiB, an unreadable Content-Length); the caller then ends the
// connection.
func (f *streamFrames) headers(src netip.AddrPort, data []byte, judge func(src netip.AddrPort, header []byte) bool) bool {
	f.mu.Lock()
	var cur frame
	if st, ok := f.conns[src]; ok {
		cur = *st
		delete(f.conns, src)
	}
	f.mu.Unlock()
	for len(data) > 0 {
		if cur.skip > 0 {
			n := min(cur.skip, len(data))
			cur.skip -= n
			data = data[n:]
			continue
		}
		if len(cur.head) == 0 {
			// Keep-alives between messages (RFC 5626: CRLF CRLF, and its
			// CRLF answer) are no message.
			i := 0
			for i < len(data) && (data[i] == '\r' || data[i] == '\n') {
				i++
			}
			if data = data[i:]; len(data) == 0 {
				break
			}
		}
		block, rest := cutHeader(cur.head, data)
		if block == nil {
			cur.head = append(cur.head, data...)
			if len(cur.head) > maxFrameHead {
				return false
			}
			break
		}
		cur.head = nil
		if !judge(src, block) {
			return false
		}
		n, ok := contentLength(block)
		if !ok || n > maxFrameBody {
			return false
		}
		cur.skip = n
		data = rest
	}
	if cur.skip > 0 || len(cur.head) > 0 {
		f.mu.Lock()
		if f.conns == nil || len(f.conns) >= maxFramed {
			f.conns = make(map[netip.AddrPort]*frame)
		}
		f.conns[src] = &cur
		f.mu.Unlock()
	}
	return true
}

// forget drops a connection's state when it closes.
func (f *streamFrames) forget(src netip.AddrPort) {
	f.mu.Lock()
	delete(f.conns, src)
	f.mu.Unlock()
}

// cutHeader finds the end of the header block that began with head (bytes
// of earlier reads, often none) and goes on in data: the whole block, and
// what of data follows it; nil when the block has not ended yet.
func cutHeader(head, data []byte) (block, rest []byte) {
	if len(head) == 0 {
		if end := bytes.Index(data, crlf2); end >= 0 {
			return data[:end+4], data[end+4:]
		}
		return nil, nil
	}
	// The blank line may straddle the reads.
	from := max(0, len(head)-3)
	joined := append(head[:len(head):len(head)], data...)
	if end := bytes.Index(joined[from:], crlf2); end >= 0 {
		end += from + 4
		return joined[:end], data[end-len(head):]
	}
	return nil, nil
}

// contentLength reads a header block's Content-Length (or its compact form
// l); a message without one has no body.
func contentLength(block []byte) (int, bool) {
	for line := range bytes.SplitSeq(block, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
		return n, err == nil && n >= 0
	}
	return 0, true
}
