package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/ring"
)

// busyPhone answers every INVITE on port with 486 Busy Here at once, as a
// phone already on a call does, until the test ends.
func busyPhone(t *testing.T, port int) { scriptedPhone(t, port, "486 Busy Here") }

// vanishingPhone answers every INVITE on port with 180 Ringing and then
// never says anything again, not even to a CANCEL: a phone unplugged while
// it rang.
func vanishingPhone(t *testing.T, port int) { scriptedPhone(t, port, "180 Ringing") }

// scriptedPhone answers every INVITE on port with status and nothing else
// to anything (the ACK of a final status, a CANCEL), until the test ends.
func scriptedPhone(t *testing.T, port int, status string) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { c.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if req := string(buf[:n]); strings.HasPrefix(req, "INVITE ") {
				c.WriteToUDP([]byte(reply(parseRaw(req), status, "", "")), from)
			}
		}
	})
}

// TestFastBusyHuntRingsTheNextMember rings a sequential hunt over real SIP
// legs whose first member answers 486 within a millisecond, many times:
// every time the second member must ring at once and take the call (on a
// box here, 1 run in 6 never rang it and the caller got 500 when the first
// member's ring time ran out).
func TestFastBusyHuntRingsTheNextMember(t *testing.T) {
	env := newEnv(t, nil)
	busy, ok := freePort(t, 15000, 19990), freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", busy)
	registerAt(t, env, "1003", "secret1003", ok)
	busyPhone(t, busy)
	const runs = 20
	startSipp(t, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.1", "-p", fmt.Sprint(ok),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort(t)), "-d", "0", "-m", fmt.Sprint(runs))
	time.Sleep(300 * time.Millisecond)
	r := &ring.Ringer{}
	entry := func(ext string, at, until time.Duration) ring.Entry {
		return ring.Entry{Target: call.Target{Kind: call.TargetExtension, Number: ext, From: call.Party{Number: "1001"}},
			Label: "ext:" + ext, At: at, Until: until}
	}
	for i := range runs {
		var wg sync.WaitGroup
		start := time.Now()
		res := r.Ring(context.Background(), ring.Request{Dialer: env.s.Dialer(), Wait: &wg,
			Entries: []ring.Entry{entry("1002", 0, 15*time.Second), entry("1003", 15*time.Second, 30*time.Second)}})
		wg.Wait()
		if res.Answer == nil {
			t.Fatalf("run %d: nobody answered (%v)", i, res.Cause)
		}
		if got := res.Leg.(*Leg).Target(); got != "ext:1003" {
			t.Fatalf("run %d: %s answered, want ext:1003", i, got)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("run %d: the second member answered after %v: it was not rung at once after the 486", i, d)
		}
		res.Leg.Hangup(call.Normal)
		select {
		case <-res.Leg.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d: the answered leg did not end", i)
		}
	}
}

// TestCancelledBranchOfAVanishedPhoneEnds: a phone rings (180) and
// vanishes; when the box gives up on it (a queue offer's ring time), the
// CANCEL goes unanswered. The leg must still end, and free its media
// port, rather than wait for a final response that never comes (past its
// 180 the INVITE transaction has no timer of its own).
func TestCancelledBranchOfAVanishedPhoneEnds(t *testing.T) {
	env := newEnv(t, nil)
	port := freePort(t, 15000, 19990)
	registerAt(t, env, "1002", "secret1002", port)
	vanishingPhone(t, port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leg, err := env.s.Dialer().Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "1002", From: call.Party{Number: "1001"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-leg.(*Leg).ringing:
	case <-time.After(5 * time.Second):
		t.Fatal("the phone never rang")
	}
	cancel() // the offer's ring time is over
	select {
	case <-leg.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the cancelled leg of a vanished phone never ended")
	}
	waitFor(t, 5*time.Second, "its media port to be freed", func() bool { return env.s.cfg.Media.Active() == 0 })
}
