package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
)

// TestTortureMessagesLeaveServerAlive sends the RFC 4475 torture messages
// (testdata/rfc4475, one datagram each) to a running server and checks,
// after every one, that the server still answers an OPTIONS: malformed SIP
// from the network must never crash or wedge the box. Replies to the
// torture messages go to their Via hosts (192.0.2.x documentation
// addresses), so they are not read here.
func TestTortureMessagesLeaveServerAlive(t *testing.T) {
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) { in.Hangup(call.NotFound) }))
	files, _ := filepath.Glob("testdata/rfc4475/*.dat")
	if len(files) < 40 {
		t.Fatalf("found %d torture messages, want the RFC 4475 set", len(files))
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", env.addr)
	me := conn.LocalAddr().(*net.UDPAddr)
	buf := make([]byte, 65536)
	for i, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDP(msg, dst); err != nil {
			t.Fatalf("%s: send: %v", filepath.Base(f), err)
		}
		callID := fmt.Sprintf("alive-%d@test", i)
		opts := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-alive-%d;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			env.addr, me, i, i, env.addr, callID)
		conn.WriteToUDP([]byte(opts), dst)
		deadline := time.Now().Add(3 * time.Second)
		alive := false
		for !alive && time.Now().Before(deadline) {
			conn.SetReadDeadline(deadline)
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				break
			}
			alive = bytes.HasPrefix(buf[:n], []byte("SIP/2.0 ")) && strings.Contains(string(buf[:n]), callID)
		}
		if !alive {
			t.Fatalf("after %s the server no longer answers OPTIONS", filepath.Base(f))
		}
	}
}
