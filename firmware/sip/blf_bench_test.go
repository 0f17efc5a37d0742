package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/events"
	"ringbox/firmware/presence"
	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

// benchPhone is a BLF phone on its own UDP socket: it subscribes once,
// then answers every NOTIFY with 200 and reports when it got one.
type benchPhone struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	ext    string
	res    chan rawRes   // responses to its SUBSCRIBE
	got    chan struct{} // one per NOTIFY received
}

func (p *benchPhone) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// run reads until the socket is closed.
func (p *benchPhone) run() {
	buf := make([]byte, 65535)
	for {
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		s := string(buf[:n])
		if strings.HasPrefix(s, "SIP/2.0") {
			p.res <- parseRaw(s)
			continue
		}
		if !strings.HasPrefix(s, "NOTIFY ") {
			continue
		}
		m := parseRaw(s)
		var b strings.Builder
		b.WriteString("SIP/2.0 200 OK\r\n")
		for _, v := range m.hdrs["via"] {
			fmt.Fprintf(&b, "Via: %s\r\n", v)
		}
		fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
			m.get("From"), m.get("To"), m.get("Call-ID"), m.get("CSeq"))
		p.conn.WriteToUDP([]byte(b.String()), p.server)
		p.got <- struct{}{}
	}
}

func (p *benchPhone) subscribe(tb testing.TB, server, watch string) {
	tb.Helper()
	uri := fmt.Sprintf("sip:%s@%s", watch, server)
	msg := func(cseq int, auth string) string {
		return fmt.Sprintf("SUBSCRIBE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bKb%s%d\r\n"+
			"From: <sip:%s@%s>;tag=k%s\r\nTo: <%s>\r\nCall-ID: blf-bench-%s\r\nCSeq: %d SUBSCRIBE\r\nMax-Forwards: 70\r\n"+
			"Contact: <sip:%s@127.0.0.1:%d>\r\nEvent: dialog\r\nAccept: application/dialog-info+xml\r\nExpires: 3600\r\n%sContent-Length: 0\r\n\r\n",
			uri, p.port(), p.ext, cseq, p.ext, server, p.ext, uri, p.ext, cseq, p.ext, p.port(), auth)
	}
	p.conn.WriteToUDP([]byte(msg(1, "")), p.server)
	r := p.final(tb)
	m := nonceRe.FindStringSubmatch(r.get("WWW-Authenticate"))
	if r.code != 401 || m == nil {
		tb.Fatalf("SUBSCRIBE %s: %d, want a challenge", p.ext, r.code)
	}
	ha1 := digest.HA1(digest.MD5, p.ext, testRealm, "pw")
	resp := digest.Response(digest.MD5, ha1, "SUBSCRIBE", uri, m[1], "00000001", "c0ffee", "auth")
	auth := fmt.Sprintf("Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"\r\n",
		p.ext, testRealm, m[1], uri, resp)
	p.conn.WriteToUDP([]byte(msg(2, auth)), p.server)
	if r := p.final(tb); r.code != 200 {
		tb.Fatalf("SUBSCRIBE %s with auth: %d", p.ext, r.code)
	}
	select {
	case <-p.got: // the immediate NOTIFY
	case <-time.After(5 * time.Second):
		tb.Fatalf("phone %s: no first NOTIFY", p.ext)
	}
}

func (p *benchPhone) final(tb testing.TB) rawRes {
	for {
		select {
		case r := <-p.res:
			if r.code >= 200 {
				return r
			}
		case <-time.After(5 * time.Second):
			tb.Fatalf("phone %s: no response", p.ext)
		}
	}
}

// blfBench is a server on loopback with 200 phones watching ext:102.
type blfBench struct {
	s      *Server
	got    chan struct{}
	phones int
}

func newBLFBench(b *testing.B, lamps LampSource) *blfBench {
	const phones = 200
	port := freePort(b, 15000, 19990)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	st := &site.Site{Extensions: []site.Extension{{Number: "102"}}}
	s, err := New(Config{
		ListenAddr: addr,
		Realm:      testRealm,
		Lookup: func(ext string) (Account, bool) {
			return Account{Extension: ext, HA1MD5: digest.HA1(digest.MD5, ext, testRealm, "pw")}, true
		},
		Site:   func() *site.Site { return st },
		Lamps:  lamps,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-runErr
	})
	server, _ := net.ResolveUDPAddr("udp", addr)
	waitUDP(b, server)

	got := make(chan struct{}, phones*4)
	for i := range phones {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		p := &benchPhone{conn: c, server: server, ext: fmt.Sprint(2000 + i), res: make(chan rawRes, 4), got: make(chan struct{}, 4)}
		go p.run()
		p.subscribe(b, addr, "102")
		p.got = got // from now on, every phone reports to the one channel
	}
	return &blfBench{s: s, got: got, phones: phones}
}

// all waits until every phone has read a NOTIFY.
func (bb *blfBench) all(b *testing.B) {
	for range bb.phones {
		select {
		case <-bb.got:
		case <-time.After(10 * time.Second):
			b.Fatal("a phone got no NOTIFY")
		}
	}
}

// BenchmarkBLFFanout200 measures one lamp change reaching 200 phones: from
// Server.LampChanged (what presence.Lamps calls on a state change) until
// the 200th phone has read its NOTIFY, over real UDP loopback sockets,
// one per phone. ns/op is that fan-out time; the target is 100 ms.
func BenchmarkBLFFanout200(b *testing.B) {
	lamps := &fakeLamps{}
	bb := newBLFBench(b, lamps)
	lamp := presence.LampOff
	for b.Loop() {
		lamp = (lamp + 1) % 3
		lamps.set(bb.s, "ext:102", lamp)
		bb.all(b)
	}
}

// BenchmarkBLFFanout200FromCall is BenchmarkBLFFanout200 from the call
// path's side: from the presence mark of extension 102 going on a call
// (what package flow does when a call is connected), through the event
// bus and presence.Lamps, to the 200th phone's NOTIFY. Only that change
// is timed; the lamp going off again (held presence.DefaultSettle) is
// not.
func BenchmarkBLFFanout200FromCall(b *testing.B) {
	bus := events.New()
	lamps := &presence.Lamps{Bus: bus, Tracker: presence.New(bus)}
	bb := newBLFBench(b, lamps)
	lamps.Notify = bb.s.LampChanged
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lamps.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	<-lamps.Started()
	for b.Loop() {
		end := lamps.Tracker.Begin("ext:102")
		bb.all(b)
		b.StopTimer()
		end()
		bb.all(b)
		b.StartTimer()
	}
}

// waitUDP waits until the server answers an OPTIONS on addr.
func waitUDP(tb testing.TB, addr *net.UDPAddr) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	for i := range 50 {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKwait%d\r\nFrom: <sip:w@x>;tag=w\r\nTo: <sip:%s>\r\nCall-ID: wait%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			addr, c.LocalAddr(), i, addr, i)
		c.WriteToUDP([]byte(msg), addr)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := c.ReadFromUDP(buf); err == nil {
			return
		}
	}
	tb.Fatal("sip server not answering")
}
