package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

func TestRecentSet(t *testing.T) {
	now := time.Unix(1000, 0)
	r := newRecentSet(32*time.Second, 3)
	r.add("bye-a", 200, now)
	r.add("inv-b", 0, now.Add(time.Second))
	if code, ok := r.get("bye-a", now.Add(31*time.Second)); !ok || code != 200 {
		t.Errorf("get bye-a within 32 s = %d %v, want 200 true", code, ok)
	}
	if _, ok := r.get("unknown", now); ok {
		t.Error("an unknown key was found")
	}
	if _, ok := r.get("bye-a", now.Add(32*time.Second)); ok {
		t.Error("bye-a still known 32 s after it was added")
	}
	// The bound drops the oldest first.
	r.add("c", 200, now.Add(2*time.Second))
	r.add("d", 481, now.Add(3*time.Second))
	if _, ok := r.get("bye-a", now.Add(3*time.Second)); ok {
		t.Error("bye-a kept past the bound of 3 (it was the oldest)")
	}
	if _, ok := r.get("inv-b", now.Add(3*time.Second)); !ok {
		t.Error("inv-b dropped, but only the oldest had to go")
	}
	if code, ok := r.get("d", now.Add(3*time.Second)); !ok || code != 481 {
		t.Errorf("get d = %d %v, want 481 true", code, ok)
	}
	if n := r.len(); n != 3 {
		t.Errorf("len = %d, want 3", n)
	}
}

// A burst's entries expire and their memory is given back even when no
// request comes after it.
func TestRecentSetSweepReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecentSet(recentKeep, recentMax)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.sweep(ctx); close(done) }()
		for i := range 5000 {
			r.add(fmt.Sprintf("key-%d", i), 200, time.Now())
		}
		time.Sleep(recentKeep + 2*time.Second)
		r.mu.Lock()
		m, q := r.m, r.q
		r.mu.Unlock()
		if m != nil || q != nil {
			t.Errorf("after expiry the set keeps a map of %d and a queue of cap %d, want both released", len(m), cap(q))
		}
		cancel()
		<-done
	})
}

// A few keys added after a burst (calls still draining) do not keep the
// burst's map alive once its keys expire.
func TestRecentSetStragglersDoNotHoldTheBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecentSet(recentKeep, recentMax)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.sweep(ctx); close(done) }()
		for i := range 20000 {
			r.add(fmt.Sprintf("burst-%d", i), 200, time.Now())
		}
		time.Sleep(10 * time.Second)
		for i := range 10 {
			r.add(fmt.Sprintf("late-%d", i), 200, time.Now())
		}
		time.Sleep(recentKeep - 8*time.Second) // the burst expired, the late keys not
		r.mu.Lock()
		live, peak, qcap := len(r.m), r.peak, cap(r.q)
		r.mu.Unlock()
		if live != 10 {
			t.Fatalf("%d keys known, want the 10 late ones", live)
		}
		if peak > 1024 || qcap > 1024 {
			t.Errorf("10 live keys keep a map sized for %d and a queue of cap %d", peak, qcap)
		}
		for i := range 10 {
			if _, ok := r.get(fmt.Sprintf("late-%d", i), time.Now()); !ok {
				t.Errorf("late-%d forgotten by the rebuild", i)
			}
		}
		cancel()
		<-done
	})
}

// trunkUA is a hand-driven peer on 127.0.0.2, the address of trunk
// "carrier", so its INVITEs are taken without a challenge.
type trunkUA struct {
	*rawUA
	me string
}

func newTrunkUA(t *testing.T, env *testEnv) *trunkUA {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &trunkUA{rawUA: &rawUA{t: t, conn: c, server: env.addr}, me: c.LocalAddr().String()}
}

func (u *trunkUA) invite(id string) string {
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29990 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	return fmt.Sprintf("INVITE sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%si\r\nFrom: <sip:+12125550100@127.0.0.2>;tag=%s\r\n"+
		"To: <sip:+15551230000@%s>\r\nCall-ID: %s@test\r\nCSeq: 1 INVITE\r\nContact: <sip:c@%s>\r\nMax-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", u.server, u.me, id, id, u.server, id, u.me, len(sdp), sdp)
}

func (u *trunkUA) inDialog(method, id, branch, to string, cseq int) string {
	return fmt.Sprintf("%s sip:c@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:+12125550100@127.0.0.2>;tag=%s\r\n"+
		"To: %s\r\nCall-ID: %s@test\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", method, u.server, u.me, branch, id, to, id, cseq, method)
}

// answered sends an INVITE and returns the 200's To header, then ACKs it.
func (u *trunkUA) answered(id string) string {
	u.t.Helper()
	r := u.roundTrip(u.invite(id))
	if r.code != 200 {
		u.t.Fatalf("INVITE %s: %d, want 200", id, r.code)
	}
	to := r.get("To")
	u.send(u.inDialog("ACK", id, id+"a", to, 1))
	return to
}

func answerAndWait(calls *atomic.Int32) Handler {
	return HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		calls.Add(1)
		if err := in.Answer(ctx); err != nil {
			return
		}
		<-in.Done()
	})
}

// A BYE's transaction is not kept after it is answered; a retransmission of
// it (same branch) still gets 200, a new BYE for the ended dialog 481.
func TestRetransmittedByeAnsweredAgain(t *testing.T) {
	var calls atomic.Int32
	env := newEnv(t, answerAndWait(&calls))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	u := newTrunkUA(t, env)
	to := u.answered("rbye")
	bye := u.inDialog("BYE", "rbye", "b1", to, 2)
	if r := u.roundTrip(bye); r.code != 200 {
		t.Fatalf("BYE: %d, want 200", r.code)
	}
	if r := u.roundTrip(bye); r.code != 200 {
		t.Errorf("retransmitted BYE: %d, want 200 again", r.code)
	}
	if r := u.roundTrip(u.inDialog("BYE", "rbye", "b2", to, 3)); r.code != 481 {
		t.Errorf("new BYE for the ended dialog: %d, want 481", r.code)
	}
}

// The INVITE's transaction is kept only briefly after the 2xx (Timer L); a
// retransmission arriving later, during or after the call, is absorbed and
// never taken for a new call.
func TestRetransmittedInviteIsNotANewCall(t *testing.T) {
	var calls atomic.Int32
	env := newEnv(t, answerAndWait(&calls))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	u := newTrunkUA(t, env)
	to := u.answered("rinv")
	time.Sleep(sipgosip.Timer_L + 300*time.Millisecond)
	u.send(u.invite("rinv"))
	time.Sleep(500 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("a retransmitted INVITE during the call made %d calls, want 1", n)
	}
	if r := u.roundTrip(u.inDialog("BYE", "rinv", "b1", to, 2)); r.code != 200 {
		t.Fatalf("BYE: %d, want 200", r.code)
	}
	u.send(u.invite("rinv"))
	time.Sleep(500 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("a retransmitted INVITE after the call made %d calls, want 1", n)
	}
}

// A 2xx the far end retransmits after the client transaction is gone
// (Timer M) is ACKed again from the dialog.
func TestLate2xxRetransmissionReAcked(t *testing.T) {
	env := newEnv(t, nil)
	uas := newRawUA(t, "")
	env.setSite(&site.Site{
		System:   site.System{OfficeNumber: "+15551230000"},
		Trunks:   []site.Trunk{{ID: "far", Host: fmt.Sprintf("127.0.0.1:%d", uas.port())}},
		Outbound: []site.OutboundRoute{{Pattern: "+1NXXNXXXXXX", Trunks: []string{"far"}}},
	})
	ctx := context.Background()
	leg, err := env.s.Dialer().Dial(ctx, call.Target{Kind: call.TargetTrunk, Trunk: "far", Number: "+12125550199", From: call.Party{Number: "+15551230000"}})
	if err != nil {
		t.Fatal(err)
	}
	inv, from := uas.read(t, "INVITE")
	defer func() {
		leg.Hangup(call.Normal)
		bye, _ := uas.read(t, "BYE")
		uas.conn.WriteToUDP([]byte(fmt.Sprintf("SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
			bye.get("Via"), bye.get("From"), bye.get("To"), bye.get("Call-ID"), bye.get("CSeq"))), from)
		<-leg.Done()
	}()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 29992 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	ok := fmt.Sprintf("SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=far1\r\nCall-ID: %s\r\nCSeq: %s\r\nContact: <sip:far@%s>\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		inv.get("Via"), inv.get("From"), inv.get("To"), inv.get("Call-ID"), inv.get("CSeq"), uas.conn.LocalAddr(), len(sdp), sdp)
	uas.conn.WriteToUDP([]byte(ok), from)
	if err := leg.Answer(ctx); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	uas.read(t, "ACK")
	time.Sleep(sipgosip.Timer_M + 300*time.Millisecond)
	uas.conn.WriteToUDP([]byte(ok), from) // our ACK was "lost"
	uas.read(t, "ACK")
}

// read waits for a request with method and returns it with its source.
func (u *rawUA) read(t *testing.T, method string) (rawRes, *net.UDPAddr) {
	t.Helper()
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no %s (%v)", method, err)
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, method+" ") {
			return parseRaw(strings.Replace(msg, method+" ", "SIP/2.0 0 ", 1)), from
		}
	}
}

// After a call ends nothing of it stays reachable from the SIP layer:
// the legs (and their media streams) can be collected once the brief
// Timer L/M windows are over.
func TestCallStateReleased(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), func(info CallInfo) call.Target {
			return call.Target{Kind: call.TargetExternal, Number: "+12125550199", From: info.From, Class: site.PermNational}
		}, done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	far := freePort(t, 15000, 19990)
	env.setSite(&site.Site{
		System:   site.System{OfficeNumber: "+15551230000"},
		Trunks:   []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}, {ID: "far", Host: "127.0.0.3:" + itoa(far)}},
		Outbound: []site.OutboundRoute{{Pattern: "+1NXXNXXXXXX", Trunks: []string{"far"}}},
	})
	callee := startSipp(t, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.3", "-p", itoa(far),
		"-mi", "127.0.0.3", "-mp", itoa(mediaPort(t)), "-d", "100", "-m", "1")
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call.xml"), "-s", "+15551230000",
		"-i", "127.0.0.2", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.2", "-mp", itoa(mediaPort(t)), "-d", "300", "-m", "1")
	if rc := caller.wait(t, 20*time.Second); rc != 0 {
		t.Fatalf("caller rc %d, want 0", rc)
	}
	if rc := callee.wait(t, 10*time.Second); rc != 0 {
		t.Fatalf("callee rc %d, want 0", rc)
	}
	r := waitResult(t, done)
	in, out := weak.Make(r.in.(*Leg)), weak.Make(call.Unwrap(r.out).(*Leg))
	r = result{}
	// Timer L and M are 1 s (timers.go); sipgo's 32 s kept the
	// outbound leg reachable through its retransmission callback.
	time.Sleep(2 * time.Second)
	for range 3 {
		runtime.GC()
	}
	if in.Value() != nil || out.Value() != nil {
		t.Errorf("legs still reachable after the call (inbound %v, outbound %v)", in.Value() != nil, out.Value() != nil)
	}
	env.s.mu.Lock()
	nd, nl := len(env.s.dialogs), len(env.s.legs)
	env.s.mu.Unlock()
	if nd != 0 || nl != 0 || env.s.inCalls.Load() != 0 {
		t.Errorf("after the call: %d dialogs, %d legs, %d inbound calls; want none", nd, nl, env.s.inCalls.Load())
	}
}

// Past MaxCalls, or when Admit says no, a new call gets 503 with the reason
// in the log.
func TestAdmission(t *testing.T) {
	var buf lockedBuffer
	var calls atomic.Int32
	full := errors.New("memory: 900 MB held of a 1000 MB limit")
	var refuse atomic.Bool
	env := newEnv(t, answerAndWait(&calls), func(c *Config) {
		c.MaxCalls = 1
		c.Admit = func() error {
			if refuse.Load() {
				return full
			}
			return nil
		}
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	u := newTrunkUA(t, env)
	to := u.answered("adm1")
	if r := u.roundTrip(u.invite("adm2")); r.code != 503 || r.get("Retry-After") == "" {
		t.Errorf("second call with MaxCalls 1: %d Retry-After %q, want 503 with Retry-After", r.code, r.get("Retry-After"))
	}
	if l := buf.lines("call_id=adm2@test"); len(l) != 1 || !strings.Contains(l[0], "MaxCalls") {
		t.Errorf("refusal logged as %q, want one line naming MaxCalls", l)
	}
	if r := u.roundTrip(u.inDialog("BYE", "adm1", "b1", to, 2)); r.code != 200 {
		t.Fatalf("BYE: %d", r.code)
	}
	waitFor(t, 2*time.Second, "the first call to end", func() bool { return env.s.inCalls.Load() == 0 })
	refuse.Store(true)
	if r := u.roundTrip(u.invite("adm3")); r.code != 503 {
		t.Errorf("call while Admit refuses: %d, want 503", r.code)
	}
	if l := buf.lines("call_id=adm3@test"); len(l) != 1 || !strings.Contains(l[0], "900 MB held") {
		t.Errorf("refusal logged as %q, want Admit's reason", l)
	}
	refuse.Store(false)
	u.answered("adm4")
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls reached the handler, want 2 (adm1, adm4)", n)
	}
}

// The box's 2xx is retransmitted (T1, doubling) until the ACK arrives,
// although sipgo's transaction is kept only briefly after it.
func TestAnswerRetransmittedUntilAck(t *testing.T) {
	var calls atomic.Int32
	env := newEnv(t, answerAndWait(&calls))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	u := newTrunkUA(t, env)
	first := u.roundTrip(u.invite("rexmit"))
	if first.code != 200 {
		t.Fatalf("INVITE: %d, want 200", first.code)
	}
	start := time.Now()
	// T1 = 500 ms, then 1 s, 2 s: three more by 4 s, the last ones after
	// Timer L has ended the transaction.
	for i := range 3 {
		r := u.roundTrip("")
		if r.code != 200 || r.get("To") != first.get("To") {
			t.Fatalf("retransmission %d: %d To %q, want the same 200", i+1, r.code, r.get("To"))
		}
	}
	if d := time.Since(start); d < 3*time.Second || d > 5*time.Second {
		t.Errorf("three retransmissions took %v, want about 3.5 s (T1 doubling)", d)
	}
	to := first.get("To")
	u.send(u.inDialog("ACK", "rexmit", "rexmita", to, 1))
	u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			break // nothing more: the ACK stopped them
		}
		if r := parseRaw(string(buf[:n])); r.code == 200 && time.Since(start) > 4500*time.Millisecond {
			t.Fatal("the 2xx was retransmitted after the ACK")
		}
	}
	if r := u.roundTrip(u.inDialog("BYE", "rexmit", "b1", to, 2)); r.code != 200 {
		t.Errorf("BYE: %d, want 200", r.code)
	}
}

// A refused INVITE costs no goroutine once its ACK is in: sipgo would park
// each unread ACK in a goroutine for 5 s (Timer I), thousands of them
// while the box sheds load.
func TestRefusedInvitesLeaveNoGoroutines(t *testing.T) {
	env := newEnv(t, nil, func(c *Config) {
		c.Admit = func() error { return errors.New("test: refusing everything") }
	})
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	u := newTrunkUA(t, env)
	time.Sleep(300 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 100
	for i := range n {
		id := fmt.Sprintf("ref%d", i)
		r := u.roundTrip(u.invite(id))
		if r.code != 503 {
			t.Fatalf("INVITE %d: %d, want 503", i, r.code)
		}
		// The ACK of a non-2xx final response reuses the INVITE's branch.
		u.send(strings.Replace(u.inDialog("ACK", id, id+"i", r.get("To"), 1), "ACK sip:c@", "ACK sip:+15551230000@", 1))
	}
	time.Sleep(500 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+n/10 {
		t.Errorf("%d goroutines after %d refused INVITEs, %d before: their ACKs are parked", after, n, before)
	}
}
