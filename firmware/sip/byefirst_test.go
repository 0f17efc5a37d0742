package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// TestByeBeforeAckStillAnswered: a caller's BYE that overtakes its ACK
// proves the 200 arrived, so the call counts as answered (billable), not as
// a failed answer.
func TestByeBeforeAckStillAnswered(t *testing.T) {
	answerErr := make(chan error, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		answerErr <- in.Answer(ctx)
		<-in.Done()
	}))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.LocalAddr().String()
	dst, _ := net.ResolveUDPAddr("udp", env.addr)
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29990 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	invite := fmt.Sprintf("INVITE sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKbf1\r\nFrom: <sip:+12125550100@127.0.0.2>;tag=bf\r\n"+
		"To: <sip:+15551230000@%s>\r\nCall-ID: byefirst@test\r\nCSeq: 1 INVITE\r\nContact: <sip:c@%s>\r\nMax-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", env.addr, me, env.addr, me, len(sdp), sdp)
	c.WriteToUDP([]byte(invite), dst)
	var ok200 rawRes
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 8192)
	for time.Now().Before(deadline) {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatal("no 200 OK for the INVITE")
		}
		if r := parseRaw(string(buf[:n])); r.code == 200 {
			ok200 = r
			break
		}
	}
	to := ok200.get("To")
	if !strings.Contains(to, "tag=") {
		t.Fatalf("200 without a To tag: %q", to)
	}
	bye := fmt.Sprintf("BYE sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKbf2\r\nFrom: <sip:+12125550100@127.0.0.2>;tag=bf\r\n"+
		"To: %s\r\nCall-ID: byefirst@test\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", env.addr, me, to)
	c.WriteToUDP([]byte(bye), dst) // no ACK: it was "lost"
	select {
	case err := <-answerErr:
		if err != nil {
			t.Errorf("Answer = %v, want nil: the BYE proves the caller had the 200", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Answer never returned")
	}
}
