package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/edge"
)

// A stream of messages (with and without bodies, compact l:, keep-alives
// between them) yields each header block once, in order, however the
// reads split it.
func TestStreamFramesEveryMessageOnce(t *testing.T) {
	body := "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n\r\nnot a header block\r\n\r\n"
	msgs := []string{
		"REGISTER sip:box SIP/2.0\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:100@box SIP/2.0\r\nCSeq: 2 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body,
		"\r\n\r\n", // a keep-alive
		"SIP/2.0 200 OK\r\nCSeq: 9 OPTIONS\r\nl: 5\r\n\r\nHELLO",
		"OPTIONS sip:box SIP/2.0\r\nCSeq: 3 OPTIONS\r\n\r\n", // no Content-Length: no body
		"SUBSCRIBE sip:101@box SIP/2.0\r\nCSeq: 4 SUBSCRIBE\r\ncontent-length:   0  \r\n\r\n",
	}
	stream := strings.Join(msgs, "")
	want := []string{"REGISTER sip:box", "INVITE sip:100@box", "SIP/2.0 200 OK", "OPTIONS sip:box", "SUBSCRIBE sip:101@box"}
	src := netip.MustParseAddrPort("192.0.2.7:5060")
	for a := 0; a <= len(stream); a++ {
		for _, b := range []int{a, a + 1, a + 7, len(stream)} {
			b = min(max(a, b), len(stream))
			var f streamFrames
			var got []string
			judge := func(_ netip.AddrPort, h []byte) bool {
				line, _, _ := strings.Cut(string(h), "\r\n")
				got = append(got, line)
				if !strings.HasSuffix(string(h), "\r\n\r\n") {
					t.Fatalf("split %d/%d: a header block not ending in a blank line: %q", a, b, h)
				}
				return true
			}
			for _, part := range []string{stream[:a], stream[a:b], stream[b:]} {
				if !f.headers(src, []byte(part), judge) {
					t.Fatalf("split %d/%d: refused", a, b)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("split %d/%d: %d messages %q, want %d", a, b, len(got), got, len(want))
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Fatalf("split %d/%d: message %d %q, want %q", a, b, i, got[i], want[i])
				}
			}
			if len(f.conns) != 0 {
				t.Fatalf("split %d/%d: state left after the last message: %+v", a, b, f.conns)
			}
		}
	}
}

func TestStreamFramesRefusals(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.7:5060")
	yes := func(netip.AddrPort, []byte) bool { return true }
	var f streamFrames
	if f.headers(src, []byte("INVITE sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n"), yes) {
		t.Error("a 100 MB body was accepted")
	}
	if f.headers(src, []byte("INVITE sip:x SIP/2.0\r\nContent-Length: lots\r\n\r\n"), yes) {
		t.Error("an unreadable Content-Length was accepted")
	}
	long := []byte("REGISTER sip:x SIP/2.0\r\nX: " + strings.Repeat("a", 70<<10))
	if f.headers(src, long, yes) {
		t.Error("a header block over 64 KiB was accepted")
	}
	f.forget(src)
	second := 0
	judge := func(_ netip.AddrPort, h []byte) bool { second++; return second < 2 }
	if f.headers(src, []byte("OPTIONS sip:x SIP/2.0\r\n\r\nOPTIONS sip:x SIP/2.0\r\n\r\n"), judge) || second != 2 {
		t.Errorf("the second message's refusal: judged %d", second)
	}
}

// TestTCPPipelinedGuessesAreLimited: REGISTERs pipelined into one TCP
// write each spend a token of the source's rate (burst 200): the
// connection is cut, where before the whole batch was read as one.
func TestTCPPipelinedGuessesAreLimited(t *testing.T) {
	f := edge.New(edge.Config{})
	env := newEnv(t, nil, func(c *Config) { c.ReadFilter = f.Allow })
	c, err := net.DialTimeout("tcp", env.addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var batch strings.Builder
	for i := range 300 {
		fmt.Fprintf(&batch, "REGISTER sip:%[1]s SIP/2.0\r\nVia: SIP/2.0/TCP %[2]s;branch=z9hG4bKp%[3]d\r\nFrom: <sip:101@%[1]s>;tag=p\r\n"+
			"To: <sip:101@%[1]s>\r\nCall-ID: pipe@test\r\nCSeq: %[3]d REGISTER\r\nContact: <sip:101@%[2]s;transport=tcp>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			env.addr, c.LocalAddr(), i+1)
	}
	if _, err := c.Write([]byte(batch.String())); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	answers := 0
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		answers += strings.Count(string(buf[:n]), "SIP/2.0 401")
		if err != nil {
			break
		}
	}
	t.Logf("answers: %d", answers)
	if answers > 200 {
		t.Errorf("%d of 300 pipelined REGISTERs answered; the rate's burst is 200", answers)
	}
	if f.Drops(edge.DropRate) == 0 {
		t.Error("no rate drop counted")
	}
}

// FuzzStreamFrames: whatever a TCP peer sends, however the reads split
// it, the framer never panics, judges the same header blocks as when the
// bytes come in one read, and keeps at most the bounded state.
func FuzzStreamFrames(f *testing.F) {
	f.Add([]byte("REGISTER sip:box SIP/2.0\r\nContent-Length: 3\r\n\r\nabcOPTIONS sip:box SIP/2.0\r\n\r\n"), uint16(10), uint16(40))
	f.Add([]byte("\r\n\r\nSIP/2.0 200 OK\r\nl: 0\r\n\r\n"), uint16(1), uint16(2))
	f.Add([]byte("INVITE x\r\nContent-Length: 99999999\r\n\r\n"), uint16(0), uint16(0))
	src := netip.MustParseAddrPort("192.0.2.7:5060")
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		collect := func(parts ...[]byte) ([]string, bool) {
			var fr streamFrames
			var got []string
			for _, p := range parts {
				if !fr.headers(src, p, func(_ netip.AddrPort, h []byte) bool { got = append(got, string(h)); return true }) {
					return got, false
				}
			}
			if st := fr.conns[src]; st != nil && len(st.head) > maxFrameHead {
				t.Fatalf("state holds a %d-byte header", len(st.head))
			}
			return got, true
		}
		i := min(int(a), len(data))
		j := min(max(i, int(b)), len(data))
		whole, okWhole := collect(data)
		split, okSplit := collect(data[:i], data[i:j], data[j:])
		if okWhole != okSplit {
			// A refusal may come at a different read; the blocks judged
			// before it must still agree.
			n := min(len(whole), len(split))
			whole, split = whole[:n], split[:n]
		}
		if len(whole) != len(split) {
			t.Fatalf("one read judged %d blocks, split at %d/%d %d", len(whole), i, j, len(split))
		}
		for k := range whole {
			if whole[k] != split[k] {
				t.Fatalf("block %d differs: %q vs %q", k, whole[k], split[k])
			}
		}
	})
}
