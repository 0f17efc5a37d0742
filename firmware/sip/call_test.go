package sip

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/dialplan"
	"ringbox/firmware/site"
)

// result is what the test flow saw of one call.
type result struct {
	info    CallInfo
	dialErr error
	in, out call.Leg
}

// bridgeFlow is a minimal routing flow: dial the target, let the caller
// hear the callee ring, answer when the callee answers, bridge, and hang up
// the other side when one ends.
func bridgeFlow(env *testEnv, target func(CallInfo) call.Target, done chan<- result) Handler {
	return HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		r := result{info: info, in: in}
		defer func() { done <- r }()
		d := env.s.Dialer()
		// Outside numbers go through the site's outbound routes, as the
		// flow sends them.
		st := env.s.cfg.Site()
		plan, err := dialplan.NewPlan(st.Outbound)
		if err != nil {
			panic(err)
		}
		router := &dialplan.Router{Plan: plan, Site: st, Next: d, Forbidden: func(_ context.Context, t call.Target, dec dialplan.Decision) {
			env.audits <- "call.forbidden: " + t.Number
		}}
		out, err := router.Dial(ctx, target(info))
		if err != nil {
			r.dialErr = err
			in.Hangup(call.CauseOf(err))
			<-in.Done()
			return
		}
		r.out = out
		go func() {
			select {
			case <-out.(Ringer).Ringing():
				in.Progress(ctx)
			case <-out.Done():
			case <-in.Done():
			}
		}()
		if err := out.Answer(ctx); err != nil {
			in.Hangup(call.CauseOf(err))
			<-in.Done()
			<-out.Done()
			return
		}
		if err := in.Answer(ctx); err != nil {
			out.Hangup(call.Normal)
			<-out.Done()
			return
		}
		d.Bridge(ctx, in, out)
		in.Hangup(call.Normal)
		out.Hangup(call.Normal)
		<-in.Done()
		<-out.Done()
	})
}

func extTarget(ext string) func(CallInfo) call.Target {
	return func(info CallInfo) call.Target {
		return call.Target{Kind: call.TargetExtension, Number: ext, From: info.From}
	}
}

// registerAt registers ext with a contact on port, sending from port so the
// registrar sees no NAT; the port is then free for a SIPp UAS.
func registerAt(t *testing.T, env *testEnv, ext, pass string, port int) {
	t.Helper()
	u := newRawUAOn(t, env.addr, port)
	r := u.authRegister(regOpts{ext: ext, pass: pass, cseq: 1, callID: fmt.Sprintf("reg%d", port),
		contacts: []string{fmt.Sprintf("<sip:%s@127.0.0.1:%d>", ext, port)}, expires: "300"})
	if r.code != 200 {
		t.Fatalf("register %s at %d: %d", ext, port, r.code)
	}
	u.conn.Close()
}

func waitResult(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("call flow did not finish")
		return result{}
	}
}

func legCause(l call.Leg) call.Cause {
	if l == nil {
		return -1
	}
	return call.CauseOf(l.Err())
}

func TestForkFirstAnswerWins(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), extTarget("1002"), done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)

	winPort, losePort := freePort(t, 15000, 19990), freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", winPort)
	registerAt(t, env, "1002", "secret1002", losePort)
	if n := len(env.s.reg.contacts("1002")); n != 2 {
		t.Fatalf("1002 has %d contacts, want 2", n)
	}
	winner := startSipp(t, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.1", "-p", itoa(winPort),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-d", "500", "-m", "1")
	loser := startSipp(t, "-sf", scenario(t, "uas_ring_cancel.xml"), "-i", "127.0.0.1", "-p", itoa(losePort), "-m", "1")
	time.Sleep(300 * time.Millisecond)

	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth.xml"), "-s", "1002", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)),
		"-d", "1000", "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0", rc)
	}
	if rc := winner.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("answering phone rc %d, want 0", rc)
	}
	if rc := loser.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("ringing phone rc %d, want 0 (CANCEL with Reason cause=200)", rc)
	}
	r := waitResult(t, done)
	if r.info.Extension != "1001" || r.info.From.Number != "1001" || r.info.To != "1002" {
		t.Errorf("CallInfo = %+v, want extension 1001 dialling 1002", r.info)
	}
	if c := legCause(r.in); c != call.Normal {
		t.Errorf("inbound leg cause %v, want normal", c)
	}
	if l, ok := r.in.(*Leg); ok {
		if l.HangupBy() != "remote" {
			t.Errorf("inbound hangup by %q, want remote (caller sent BYE)", l.HangupBy())
		}
		start, ans, end := l.Times()
		if ans.IsZero() || ans.Before(start) || end.Before(ans) {
			t.Errorf("inbound times start %v answer %v end %v", start, ans, end)
		}
	}
}

func TestCallerCancel(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), extTarget("1002"), done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	port := freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", port)
	callee := startSipp(t, "-sf", scenario(t, "uas_ring_cancel.xml"), "-i", "127.0.0.1", "-p", itoa(port), "-m", "1")
	_ = callee
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_cancel.xml"), "-s", "1002", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)),
		"-d", "500", "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (200 to CANCEL, 487)", rc)
	}
	r := waitResult(t, done)
	if c := legCause(r.in); c != call.Cancelled {
		t.Errorf("inbound cause %v, want cancelled", c)
	}
	if c := legCause(r.out); c != call.Cancelled {
		t.Errorf("outbound cause %v, want cancelled", c)
	}
	// The callee's CANCEL carries no "answered elsewhere" Reason here, so
	// the ring-cancel scenario (which demands one) fails: a caller giving up
	// is a missed call.
	if rc := callee.wait(t, 10*time.Second); rc != 1 {
		t.Errorf("callee rc %d, want 1 (no Reason cause=200 on a caller's cancel)", rc)
	}
}

func TestCalleeBusy(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), extTarget("1002"), done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	port := freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", port)
	callee := startSipp(t, "-sf", scenario(t, "uas_busy.xml"), "-i", "127.0.0.1", "-p", itoa(port), "-m", "1")
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_busy.xml"), "-s", "1002", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (486)", rc)
	}
	if rc := callee.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("callee rc %d, want 0", rc)
	}
	r := waitResult(t, done)
	if c := legCause(r.out); c != call.Busy {
		t.Errorf("outbound cause %v, want busy", c)
	}
}

func TestCalleeHangsUp(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), extTarget("1002"), done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	port := freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", port)
	callee := startSipp(t, "-sf", scenario(t, "uas_answer_bye.xml"), "-i", "127.0.0.1", "-p", itoa(port),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-d", "1000", "-m", "1")
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_wait_bye.xml"), "-s", "1002", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-m", "1")
	if rc := callee.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("callee rc %d, want 0", rc)
	}
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (BYE from the box)", rc)
	}
	r := waitResult(t, done)
	if l := r.out.(*Leg); l.HangupBy() != "remote" || legCause(l) != call.Normal {
		t.Errorf("outbound ended %v by %q, want normal by remote", legCause(l), l.HangupBy())
	}
	if l := r.in.(*Leg); l.HangupBy() != "local" {
		t.Errorf("inbound ended by %q, want local (the box sent BYE)", l.HangupBy())
	}
}

func TestHoldAnsweredLocally(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), extTarget("1002"), done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	port := freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", port)
	// The callee must see no re-INVITE: uas_answer.xml fails on anything
	// but the BYE after its ACK.
	callee := startSipp(t, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.1", "-p", itoa(port),
		"-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-d", "0", "-m", "1")
	time.Sleep(300 * time.Millisecond)
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_hold.xml"), "-s", "1002", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (recvonly to sendonly, sendrecv to sendrecv)", rc)
	}
	if rc := callee.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("callee rc %d, want 0", rc)
	}
	waitResult(t, done)
}

func TestUnregisteredExtension(t *testing.T) {
	env := newEnv(t, nil)
	_, err := env.s.Dialer().Dial(context.Background(), call.Target{Kind: call.TargetExtension, Number: "1002"})
	if call.CauseOf(err) != call.Unavailable {
		t.Errorf("Dial unregistered extension: %v, want unavailable", err)
	}
}

func TestOutboundFailoverAndReordering(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), func(info CallInfo) call.Target {
			return call.Target{Kind: call.TargetExternal, Number: info.To, From: info.From, Class: site.PermNational}
		}, done).HandleCall(ctx, in, info)
	}), func(c *Config) { c.TrunkTimeout = 1500 * time.Millisecond })
	ref.Store(env)
	dead := freePort(t, 15000, 19990) // nobody listens here
	live := freePort(t, 15000, 19990)
	env.setSite(&site.Site{
		System: site.System{OfficeNumber: "+15551230000"},
		Trunks: []site.Trunk{
			{ID: "dead", Host: "127.0.0.3:" + itoa(dead)},
			{ID: "fxo", FXO: 1},
			// Not 127.0.0.1: the caller there must stay an extension.
			{ID: "live", Host: "127.0.0.2:" + itoa(live)},
		},
		Outbound: []site.OutboundRoute{{Pattern: "+1NXXNXXXXXX", Trunks: []string{"dead", "fxo", "live"}}},
	})
	callee := startSipp(t, "-sf", scenario(t, "uas_200_then_180.xml"), "-i", "127.0.0.2", "-p", itoa(live),
		"-mi", "127.0.0.2", "-mp", itoa(mediaPort(t)), "-m", "1")
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth.xml"), "-s", "+15559870000", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)),
		"-d", "1000", "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0", rc)
	}
	if rc := callee.wait(t, 10*time.Second); rc != 0 {
		t.Errorf("live trunk rc %d, want 0 (180 after 200 tolerated)", rc)
	}
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("call finished in %v: the dead trunk was not waited for", d)
	}
	r := waitResult(t, done)
	if c := legCause(r.out); c != call.Normal {
		t.Errorf("outbound cause %v, want normal", c)
	}
	if l := call.Unwrap(r.out).(*Leg); l.Target() != "trunk:live" {
		t.Errorf("answered on %q, want trunk:live", l.Target())
	}
}

func TestOutboundForbidden(t *testing.T) {
	done := make(chan result, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		bridgeFlow(ref.Load(), func(info CallInfo) call.Target {
			return call.Target{Kind: call.TargetExternal, Number: info.To, From: info.From, Class: site.PermNational}
		}, done).HandleCall(ctx, in, info)
	}))
	ref.Store(env)
	env.setSite(&site.Site{
		Trunks:   []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}},
		Outbound: []site.OutboundRoute{{Pattern: "011.", Trunks: []string{"carrier"}, Permission: site.PermInternational}},
	})
	caller := startSipp(t, env.addr, "-sf", scenario(t, "uac_call_auth_forbidden.xml"), "-s", "011442079460000", "-au", "1001", "-ap", "secret1001",
		"-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)), "-mi", "127.0.0.1", "-mp", itoa(mediaPort(t)), "-m", "1")
	if rc := caller.wait(t, 30*time.Second); rc != 0 {
		t.Errorf("caller rc %d, want 0 (403)", rc)
	}
	r := waitResult(t, done)
	if call.CauseOf(r.dialErr) != call.Forbidden {
		t.Errorf("Dial error %v, want forbidden", r.dialErr)
	}
	select {
	case a := <-env.audits:
		t.Logf("audit: %s", a)
	case <-time.After(time.Second):
		t.Error("no audit entry for the forbidden call")
	}
}
