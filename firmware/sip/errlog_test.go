package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// lockedBuffer is a log sink shared by the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *lockedBuffer) lines(substr string) []string {
	var out []string
	for _, l := range strings.Split(w.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func TestRefusalLogRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf lockedBuffer
		r := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)))
		// A burst: the first refusalBurst are written, the rest counted.
		for i := range 25 {
			r.refused(nil, 503, "Service Unavailable", fmt.Sprintf("burst %d", i))
		}
		if got := len(buf.lines("sip 5xx answered")); got != refusalBurst {
			t.Fatalf("burst of 25 wrote %d lines, want %d", got, refusalBurst)
		}
		// One token comes back per refusalEvery; the next line says how
		// many were left out.
		time.Sleep(refusalEvery)
		r.refused(nil, 500, "Server Internal Error", "after the pause")
		last := buf.lines("after the pause")
		if len(last) != 1 || !strings.Contains(last[0], "suppressed=15") {
			t.Fatalf("line after the pause = %q, want one with suppressed=15", last)
		}
		r.refused(nil, 500, "Server Internal Error", "no token left")
		if len(buf.lines("no token left")) != 0 {
			t.Error("a refusal without a token was written")
		}
		// After a quiet spell the whole burst is available again, no more.
		time.Sleep(time.Minute)
		for i := range 2 * refusalBurst {
			r.refused(nil, 503, "Service Unavailable", fmt.Sprintf("second burst %d", i))
		}
		if got := len(buf.lines("second burst")); got != refusalBurst {
			t.Errorf("second burst wrote %d lines, want %d", got, refusalBurst)
		}
		if got := r.count(); got != 25+1+1+2*refusalBurst {
			t.Errorf("count = %d, want every refusal (%d)", got, 25+1+1+2*refusalBurst)
		}
	})
}

// Every 5xx the server answers is logged with the box's reason: here an
// INVITE refused while draining, and a trunk call the flow could not place
// (its Cause is Congestion: 503).
func TestRefusalsLogged(t *testing.T) {
	var buf lockedBuffer
	logTo := func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		in.Hangup(call.Congestion)
	}), logTo)
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.1"}}})

	u := newRawUA(t, env.addr)
	invite := func(id string) rawRes {
		head := fmt.Sprintf(`INVITE sip:+15551230000@%s SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s
From: <sip:+12125550100@127.0.0.1>;tag=f%s
To: <sip:+15551230000@%s>
Call-ID: %s@test
CSeq: 1 INVITE
Contact: <sip:+12125550100@127.0.0.1:%d>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: %d

`, env.addr, u.port(), id, id, env.addr, id, u.port(), len(testSDP))
		return u.roundTrip(strings.ReplaceAll(head, "\n", "\r\n") + testSDP)
	}
	if r := invite("congested"); r.code != 503 {
		t.Fatalf("INVITE the flow refuses: %d, want 503", r.code)
	}
	waitFor(t, 2*time.Second, "the congestion refusal in the log", func() bool {
		l := buf.lines("call_id=congested@test")
		return len(l) == 1 && strings.Contains(l[0], "sip 5xx answered") && strings.Contains(l[0], "code=503") &&
			strings.Contains(l[0], "congestion")
	})

	env.s.draining.Store(true)
	if r := invite("draining"); r.code != 503 {
		t.Fatalf("INVITE while draining: %d, want 503", r.code)
	}
	l := buf.lines("call_id=draining@test")
	if len(l) != 1 || !strings.Contains(l[0], `why="shutting down"`) {
		t.Errorf("draining refusal logged as %q, want one line with why=\"shutting down\"", l)
	}
	if n := env.s.Refusals(); n != 2 {
		t.Errorf("Refusals() = %d, want 2", n)
	}
}

const testSDP = "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
