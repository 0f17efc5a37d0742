package sip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// The edge filter's hooks into the transport (issue 15, docs/security.md):
// the read filter's source bookkeeping, sipgo's parse-error lines turned
// into counted and sampled reports, and the TCP listener that bounds
// connections per source and closes idle ones.

// EdgeHooks connect the SIP edge to the edge filter (package edge).
// Every field may be nil.
type EdgeHooks struct {
	// AuthResult is told of every checked password: ok, or a wrong one
	// (unknown user, wrong password, an address off the allow list).
	// user is the username the peer gave. Challenges, stale nonces and
	// unreadable credentials are not guesses and are not reported.
	AuthResult func(src netip.Addr, user string, ok bool)
	// Permitted says whether ext may authenticate from src (its allow
	// list); false refuses with the 403 of a wrong password.
	Permitted func(ext string, src netip.Addr) bool
	// Unparseable is told of each packet the SIP parser refused, instead
	// of the parser's own ERROR line with the whole packet.
	Unparseable func(src netip.Addr, err error, data []byte)
	// AdmitConn is asked for each accepted TCP connection; false closes
	// it at once. release is called when it closes.
	AdmitConn func(src netip.Addr) (release func(), ok bool)
	// TCPIdle closes a TCP connection that has carried nothing for this
	// long; default the longest registration the box grants plus Timer
	// B's 32 s, so a phone that refreshes its registration on its
	// connection keeps it. TCPFirst is the shorter limit before the first
	// bytes; default 30 s.
	TCPIdle, TCPFirst time.Duration
}

func (s *Server) authResult(src netip.Addr, user string, ok bool) {
	if f := s.cfg.Edge.AuthResult; f != nil {
		f(src, user, ok)
	}
}

// lastSource remembers the source of the last read of each transport, so
// that a parse error logged by sipgo right after (on the same goroutine
// for UDP, whose one listener reads in turn) can be put to its sender.
// For TCP, whose connections read concurrently, it is the latest sender
// and may be another connection's.
type lastSource struct {
	mu       sync.Mutex // protects following
	udp, tcp netip.Addr
}

func (l *lastSource) set(reliable bool, a netip.Addr) {
	l.mu.Lock()
	if reliable {
		l.tcp = a
	} else {
		l.udp = a
	}
	l.mu.Unlock()
}

func (l *lastSource) get(reliable bool) netip.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reliable {
		return l.tcp
	}
	return l.udp
}

// quietHandler wraps the transport layer's log handler. sipgo logs every
// unparseable packet at ERROR with its whole content, one line per packet:
// junk on the SIP port would be copied into the log one to one. Those
// lines go to EdgeHooks.Unparseable (counted, sampled) instead, and the
// routine ends of connections (a read filter refusing one, an idle
// timeout) go down to DEBUG.
type quietHandler struct {
	slog.Handler
	s   *Server
	tcp bool // the logger of sipgo's TCP transport
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "failed to parse":
		var data string
		var perr error
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "data":
				data = a.Value.String()
			case "error":
				if e, ok := a.Value.Any().(error); ok {
					perr = e
				}
			}
			return true
		})
		src := h.s.lastSrc.get(h.tcp)
		if f := h.s.cfg.Edge.Unparseable; f != nil {
			f(src, perr, []byte(data))
			return nil
		}
		r = slog.NewRecord(r.Time, slog.LevelWarn, "sip unparseable packet", r.PC)
		r.AddAttrs(slog.String("src", src.String()), slog.Int("bytes", len(data)))
		if perr != nil {
			r.AddAttrs(slog.String("err", perr.Error()))
		}
	case "Read filter error", "Read error":
		r.Level = slog.LevelDebug
		if !h.Handler.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	tcp := h.tcp
	for _, a := range attrs {
		if a.Key == "caller" && (a.Value.String() == "Transport<TCP>" || a.Value.String() == "Transport<TLS>") {
			tcp = true
		}
	}
	return quietHandler{Handler: h.Handler.WithAttrs(attrs), s: h.s, tcp: tcp}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{Handler: h.Handler.WithGroup(name), s: h.s, tcp: h.tcp}
}

// edgeListener bounds the TCP connections of each source (EdgeHooks.
// AdmitConn) and gives each accepted connection the idle timeouts.
type edgeListener struct {
	net.Listener
	admit       func(netip.Addr) (func(), bool)
	closed      func(netip.AddrPort) // told of each connection's end
	idle, first time.Duration
}

func (s *Server) wrapTCP(l net.Listener) net.Listener {
	e := s.cfg.Edge
	return &edgeListener{Listener: l, admit: e.AdmitConn, closed: s.frames.forget,
		idle: cmpDur(e.TCPIdle, MaxExpires*time.Second+32*time.Second), first: cmpDur(e.TCPFirst, 30*time.Second)}
}

func cmpDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (l *edgeListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var src netip.AddrPort
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			src = a.AddrPort()
			src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		}
		release := func() {}
		if l.admit != nil {
			r, ok := l.admit(src.Addr())
			if !ok {
				c.Close() // over the per-source limit, or banned
				continue
			}
			release = r
		}
		if l.closed != nil {
			admitted := release
			release = func() { admitted(); l.closed(src) }
		}
		return &idleConn{Conn: c, idle: l.idle, first: l.first, release: release}, nil
	}
}

// idleConn is a TCP connection that ends when it stays silent too long:
// each Read waits at most first (before any byte came) or idle.
type idleConn struct {
	net.Conn
	idle, first time.Duration
	started     bool
	release     func()
	once        sync.Once
}

func (c *idleConn) Read(b []byte) (int, error) {
	d := c.idle
	if !c.started {
		d = c.first
	}
	if err := c.Conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.started = true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Seen by sipgo as the end of the connection.
		return n, net.ErrClosed
	}
	return n, err
}

func (c *idleConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
