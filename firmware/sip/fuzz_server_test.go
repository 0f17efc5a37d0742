package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// FuzzServerDatagram sends each input as one UDP datagram to a running
// server, so whatever sipgo's parser makes of it reaches our handlers
// (registrar, INVITE and its SDP, SUBSCRIBE, REFER, in-dialog requests),
// either from a trunk's address (INVITEs are not challenged there, so
// they reach the call handler) or from an unknown source (challenged).
// After each input the server must still answer an OPTIONS, must have
// ended every inbound leg and closed every media stream the input
// opened, and must still hold the registration made before the fuzzing:
// a hostile packet can neither crash the box, nor leak calls or RTP
// ports, nor unregister a phone. Seeds (testdata/fuzz/FuzzServerDatagram)
// are the RFC 4475 torture messages and ordinary requests of each kind.
func FuzzServerDatagram(f *testing.F) {
	f.Add([]byte("OPTIONS sip:box SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5099;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:box>\r\nCall-ID: seed\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"), false)
	// Calls that reach the handler are refused at once: an answered call
	// waits up to 32 s for its ACK, which a fuzzed INVITE never sends.
	env := newEnv(f, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) { in.Hangup(call.Busy) }))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	phone := newRawUA(f, env.addr)
	if r := phone.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:1001@127.0.0.1:%d>", phone.port())}, expires: "3600"}); r.code != 200 {
		f.Fatalf("REGISTER 1001: %d", r.code)
	}
	listen := func(ip net.IP) *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { c.Close() })
		return c
	}
	trunk, stranger, probe := listen(net.IPv4(127, 0, 0, 2)), listen(net.IPv4(127, 0, 0, 3)), listen(net.IPv4(127, 0, 0, 1))
	dst, _ := net.ResolveUDPAddr("udp", env.addr)
	var n int
	f.Fuzz(func(t *testing.T, msg []byte, fromTrunk bool) {
		from := stranger
		if fromTrunk {
			from = trunk
		}
		if _, err := from.WriteToUDP(msg, dst); err != nil && len(msg) < 65000 {
			t.Fatalf("send: %v", err)
		}
		n++
		callID := fmt.Sprintf("fuzz-alive-%d@test", n)
		me := probe.LocalAddr().(*net.UDPAddr)
		opts := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-fz-%d;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			env.addr, me, n, n, env.addr, callID)
		probe.WriteToUDP([]byte(opts), dst)
		buf := make([]byte, 65536)
		deadline := time.Now().Add(5 * time.Second)
		for {
			probe.SetReadDeadline(deadline)
			k, _, err := probe.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("after %q the server no longer answers OPTIONS", msg)
			}
			if bytes.HasPrefix(buf[:k], []byte("SIP/2.0 ")) && strings.Contains(string(buf[:k]), callID) {
				break
			}
		}
		// A call the input started ends (the handler refuses it at once)
		// and gives its RTP port back; waited for, not slept on.
		for !quiet(env) {
			if time.Now().After(deadline) {
				env.s.mu.Lock()
				legs := len(env.s.legs)
				env.s.mu.Unlock()
				t.Fatalf("after %q: %d inbound calls, %d legs, %d media streams still open", msg, env.s.inCalls.Load(), legs, env.s.cfg.Media.Active())
			}
			time.Sleep(time.Millisecond)
		}
		if !slices.ContainsFunc(env.s.Registrations(), func(r Registration) bool { return r.Extension == "1001" }) {
			t.Fatalf("after %q extension 1001 is no longer registered", msg)
		}
	})
}

// quiet reports whether the server has no call and no media stream open.
func quiet(env *testEnv) bool {
	env.s.mu.Lock()
	legs := len(env.s.legs)
	env.s.mu.Unlock()
	return legs == 0 && env.s.inCalls.Load() == 0 && env.s.cfg.Media.Active() == 0
}
