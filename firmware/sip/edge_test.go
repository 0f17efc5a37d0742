package sip

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

func TestInboundFromTrunk(t *testing.T) {
	got := make(chan CallInfo, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		got <- info
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
		}
		<-in.Done()
	}))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	// Calls from the trunk's address are not challenged.
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call.xml"), "-s", "+15551230000",
		"-i", "127.0.0.2", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.2", "-mp", itoa(mediaPort(t)), "-d", "300", "-m", "1")
	if rc := caller.wait(t, 20*time.Second); rc != 0 {
		t.Errorf("trunk caller rc %d, want 0", rc)
	}
	select {
	case info := <-got:
		if info.Trunk != "carrier" || info.DID != "+15551230000" || info.Extension != "" {
			t.Errorf("CallInfo = %+v, want trunk carrier, DID +15551230000", info)
		}
	default:
		t.Error("handler never called")
	}
}

func TestShutdownDrains(t *testing.T) {
	answered := make(chan call.Leg, 1)
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err == nil {
			answered <- in
		}
		<-in.Done()
	}))
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_wait_bye.xml"), "-s", "1002",
		"-au", "1001", "-ap", "secret1001", "-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-m", "1")
	var leg call.Leg
	select {
	case leg = <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("call not answered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	shut := make(chan error, 1)
	start := time.Now()
	go func() { shut <- env.s.Shutdown(ctx) }()
	waitFor(t, 2*time.Second, "draining", env.s.draining.Load)

	u := newRawUA(t, env.addr)
	r := u.roundTrip(fmt.Sprintf(`
INVITE sip:1002@%s SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKdrain1
From: <sip:1001@%s>;tag=d1
To: <sip:1002@%s>
Call-ID: drain@test
CSeq: 1 INVITE
Contact: <sip:1001@127.0.0.1:%d>
Max-Forwards: 70
Content-Length: 0

`, env.addr, u.port(), env.addr, env.addr, u.port()))
	if r.code != 503 || r.get("Retry-After") == "" {
		t.Errorf("INVITE while draining: %d Retry-After %q, want 503 with Retry-After", r.code, r.get("Retry-After"))
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("Shutdown returned after %v, before its deadline with a call up", d)
	}
	if c := call.CauseOf(leg.Err()); c != call.Shutdown {
		t.Errorf("call ended with %v, want shutdown", c)
	}
	if rc := caller.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (it got the BYE)", rc)
	}
}

func TestPortInUse(t *testing.T) {
	env := newEnv(t, nil)
	s, err := New(Config{ListenAddr: env.addr})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), env.addr) {
		t.Errorf("Run on a used port: %v, want an error naming %s", err, env.addr)
	}
}

func TestReadFilterAndTCP(t *testing.T) {
	env := newEnv(t, nil, func(c *Config) {
		c.ReadFilter = func(src netipAddrPort, msg []byte) bool {
			return !strings.Contains(string(msg), "User-Agent: friendly-scanner")
		}
	})
	options := func(ua string, port int) string {
		return fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d\r\nFrom: <sip:x@127.0.0.1>;tag=a\r\n"+
			"To: <sip:%s>\r\nCall-ID: o%d@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nUser-Agent: %s\r\nContent-Length: 0\r\n\r\n",
			env.addr, port, time.Now().UnixNano(), env.addr, time.Now().UnixNano(), ua)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	dst, _ := net.ResolveUDPAddr("udp", env.addr)
	read := func() (string, bool) {
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		n, _, err := c.ReadFromUDP(buf)
		return string(buf[:n]), err == nil
	}
	c.WriteToUDP([]byte(options("friendly-scanner", port)), dst)
	if res, ok := read(); ok {
		t.Errorf("filtered OPTIONS got an answer: %q", res)
	}
	c.WriteToUDP([]byte(options("desk-phone", port)), dst)
	if res, ok := read(); !ok || !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Errorf("OPTIONS: %q, want 200", res)
	}

	// TCP: a REGISTER on the same address gets its challenge on the connection.
	tc, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	lp := tc.LocalAddr().(*net.TCPAddr).Port
	fmt.Fprintf(tc, "REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP 10.9.9.9:%d;branch=z9hG4bKtcp1;rport\r\nFrom: <sip:1001@%s>;tag=t\r\n"+
		"To: <sip:1001@%s>\r\nCall-ID: tcp@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@10.9.9.9:%d;transport=tcp>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		env.addr, lp, env.addr, env.addr, lp)
	tc.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, err := tc.Read(buf)
	if err != nil {
		t.Fatalf("no TCP answer: %v", err)
	}
	res := parseRaw(string(buf[:n]))
	if res.code != 401 || !strings.Contains(res.get("Via"), "received=127.0.0.1") {
		t.Errorf("TCP REGISTER: %d Via %q, want 401 with received=127.0.0.1 (NAT)", res.code, res.get("Via"))
	}
}

func TestRTPRelay(t *testing.T) {
	needTool(t, "sox")
	done := make(chan result, 1)
	stats := make(chan [2]mediaStats, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		out, err := ref.Load().s.Dialer().Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "1002", From: info.From})
		if err != nil {
			in.Hangup(call.CauseOf(err))
			return
		}
		if err := out.Answer(ctx); err != nil {
			in.Hangup(call.CauseOf(err))
			return
		}
		if err := in.Answer(ctx); err != nil {
			out.Hangup(call.Normal)
			return
		}
		if c := in.Media().Codec(); c != out.Media().Codec() {
			t.Errorf("codecs differ: caller %s, callee %s (the bridge would need transcoding)", c, out.Media().Codec())
		}
		ref.Load().s.Dialer().Bridge(ctx, in, out)
		stats <- [2]mediaStats{in.(*Leg).Stats(), out.(*Leg).Stats()}
		in.Hangup(call.Normal)
		out.Hangup(call.Normal)
		done <- result{in: in, out: out}
	}))
	ref.Store(env)
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone.wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", wav, "synth", "2", "sine", "1004").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	src, err := os.ReadFile(scenario(t, "uac_call_auth.xml"))
	if err != nil {
		t.Fatal(err)
	}
	scen := strings.Replace(string(src), "  <pause/>\n", "  <nop><action><exec rtp_stream=\""+wav+",1,8\"/></action></nop>\n  <pause/>\n", 1)
	scenFile := filepath.Join(dir, "uac_rtp.xml")
	os.WriteFile(scenFile, []byte(scen), 0o644)

	port := freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", port)
	callee := startSipp(t, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.1", "-p", itoa(port),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-rtp_echo", "-d", "0", "-m", "1")
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenFile, "-s", "1002", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-d", "2500", "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d", rc)
	}
	callee.wait(t, 10*time.Second)
	st := <-stats
	waitResult(t, done)
	in, out := st[0], st[1]
	t.Logf("caller leg %+v, callee leg %+v", in, out)
	// 2 s of 20 ms frames = 100 packets each way, echoed back by the callee.
	if in.PacketsIn < 80 || out.PacketsOut < 80 || out.PacketsIn < 80 || in.PacketsOut < 80 {
		t.Errorf("relay counts caller in/out %d/%d, callee in/out %d/%d; want >= 80 each",
			in.PacketsIn, in.PacketsOut, out.PacketsIn, out.PacketsOut)
	}
}

func TestMediaTimeout(t *testing.T) {
	ended := make(chan call.Leg, 1)
	env := newEnvMedia(t, 1500*time.Millisecond, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err != nil {
			t.Errorf("Answer: %v", err)
		}
		// A short prompt starts media (and the inactivity timer).
		in.Media().Play(ctx, &silence{frames: 5}, false)
		<-in.Done()
		ended <- in
	}))
	// The caller sends no RTP and waits for the box's BYE.
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_wait_bye.xml"), "-s", "1002",
		"-au", "1001", "-ap", "secret1001", "-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-m", "1")
	if rc := caller.wait(t, 20*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (BYE on media timeout)", rc)
	}
	select {
	case l := <-ended:
		if c := call.CauseOf(l.Err()); c != call.MediaTimeout {
			t.Errorf("leg ended with %v, want media_timeout", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("leg did not end")
	}
}

func TestFailoverOn503(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), func(info CallInfo) call.Target {
			return call.Target{Kind: call.TargetExternal, Number: info.To, From: info.From}
		}, done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	failing, live := freePort(t, 15000, 19990), freePort(t, 15000, 19990)
	env.setSite(&site.Site{
		Trunks: []site.Trunk{
			{ID: "failing", Host: "127.0.0.3:" + itoa(failing), OfficeNumber: "+15550000001"},
			{ID: "live", Host: "127.0.0.2:" + itoa(live)},
		},
		Outbound: []site.OutboundRoute{{Pattern: "9.", Strip: 1, Trunks: []string{"failing", "live"}}},
	})
	t503 := startSipp(t, "-sf", scenario(t, "uas_503.xml"), "-i", "127.0.0.3", "-p", itoa(failing), "-m", "1")
	callee := startSipp(t, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.2", "-p", itoa(live),
		"-mi", "127.0.0.2", "-mp", itoa(mediaPort(t)), "-d", "0", "-m", "1")
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth.xml"), "-s", "95551234",
		"-au", "1001", "-ap", "secret1001", "-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-d", "300", "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0", rc)
	}
	if rc := t503.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("503 trunk rc %d", rc)
	}
	if rc := callee.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("live trunk rc %d", rc)
	}
	waitResult(t, done)
}

// silence is a call.Source of n silent frames.
type silence struct{ frames int }

func (s *silence) ReadFrame(f []int16) bool {
	if s.frames == 0 {
		return false
	}
	s.frames--
	clear(f)
	return true
}

// TestUserAgentFollowsTheSite: the Server (and User-Agent) header is the
// site's system.sip_user_agent from the next message after a change,
// without a restart; unset, it is "Ringbox" without a version.
func TestUserAgentFollowsTheSite(t *testing.T) {
	env := newEnv(t, nil)
	u := newRawUA(t, env.addr)
	options := func(n int) string {
		return fmt.Sprintf("OPTIONS sip:%[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=z9hG4bKua%[3]d\r\nFrom: <sip:x@127.0.0.1>;tag=a\r\n"+
			"To: <sip:%[1]s>\r\nCall-ID: ua%[3]d@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			env.addr, u.conn.LocalAddr(), n)
	}
	if got := u.roundTrip(options(1)).get("Server"); got != "Ringbox/test" {
		t.Errorf("Server %q at start, want the configured Ringbox/test", got)
	}
	env.s.Reload(&site.Site{System: site.System{SIPUserAgent: "Office PBX"}})
	if got := u.roundTrip(options(2)).get("Server"); got != "Office PBX" {
		t.Errorf("Server %q after the site change, want Office PBX", got)
	}
	env.s.Reload(&site.Site{})
	if got := u.roundTrip(options(3)).get("Server"); got != "Ringbox" {
		t.Errorf("Server %q with sip_user_agent unset, want Ringbox", got)
	}
}
