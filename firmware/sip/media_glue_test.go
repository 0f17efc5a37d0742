package sip

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/call"
)

// goertzelShare is the fraction of pcm's energy at hz.
func goertzelShare(pcm []int16, hz, rate float64) float64 {
	c := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+c*s1-s2, s1
		total += x * x
	}
	if total == 0 {
		return 0
	}
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (float64(len(pcm)) * total)
}

// TestBridgeRecordedAndHear: a SIPp caller streams a 1004 Hz tone to a
// SIPp callee that echoes it; the flow hears the caller's leg through
// call.Hearer and bridges with the Dialer's BridgeRecorded. The recording
// holds the tone on both channels for the length of the bridge.
func TestBridgeRecordedAndHear(t *testing.T) {
	needTool(t, "sox")
	dir := t.TempDir()
	recPath := filepath.Join(dir, "call.wav")
	type outcome struct {
		rec   call.Recording
		err   error
		heard int
	}
	done := make(chan outcome, 1)
	ref := new(atomic.Pointer[testEnv])
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		var o outcome
		defer func() { done <- o }()
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
		h, ok := in.Media().(call.Hearer)
		if !ok {
			t.Error("a SIP leg's Media is not a call.Hearer")
		} else {
			hctx, stop := context.WithCancel(ctx)
			var heard atomic.Int64
			go h.Hear(hctx, func(f []int16) {
				if goertzelShare(f, 1004, 8000) > 0.5 {
					heard.Add(1)
				}
			})
			defer func() { stop(); o.heard = int(heard.Load()) }()
		}
		var rb call.RecordingBridger = ref.Load().s.Dialer()
		o.rec, o.err = rb.BridgeRecorded(ctx, in, out, recPath)
		in.Hangup(call.Normal)
		out.Hangup(call.Normal)
	}))
	ref.Store(env)

	tone := filepath.Join(dir, "tone.wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", tone, "synth", "2", "sine", "1004").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	src, err := os.ReadFile(scenario(t, "uac_call_auth.xml"))
	if err != nil {
		t.Fatal(err)
	}
	scen := strings.Replace(string(src), "  <pause/>\n", "  <nop><action><exec rtp_stream=\""+tone+",1,8\"/></action></nop>\n  <pause/>\n", 1)
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
	var o outcome
	select {
	case o = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("call flow did not finish")
	}
	if o.err != nil {
		t.Errorf("BridgeRecorded = %v, want nil when a leg hangs up", o.err)
	}
	if o.heard < 50 {
		t.Errorf("Hear gave %d frames of the caller's tone, want about 100", o.heard)
	}
	if o.rec.Err != nil || o.rec.Path != recPath {
		t.Fatalf("recording = %+v, want %s", o.rec, recPath)
	}
	if o.rec.Duration < 2*time.Second || o.rec.Duration > 4*time.Second {
		t.Errorf("recording lasts %v, want the 2.5 s call", o.rec.Duration)
	}
	f, err := os.Open(recPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := wav.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Channels != 2 || r.Rate != 8000 {
		t.Fatalf("recording format %+v, want 8 kHz stereo", r.Format)
	}
	buf := make([]int16, 2*8000*4)
	n, _ := r.Read(buf)
	var left, right []int16
	for i := 0; i+1 < n; i += 2 {
		left, right = append(left, buf[i]), append(right, buf[i+1])
	}
	// The tone lasts 2 s from the start of the call; the echo comes back
	// later, the more so on a busy machine. Each channel must hold it for
	// a whole second somewhere: the best second, in quarter steps.
	if len(left) < 12000 {
		t.Fatalf("recording has %d frames", len(left))
	}
	for _, ch := range []struct {
		name string
		pcm  []int16
	}{{"left (caller)", left}, {"right (callee's echo)", right}} {
		best := 0.0
		for off := 0; off+8000 <= len(ch.pcm); off += 2000 {
			best = max(best, goertzelShare(ch.pcm[off:off+8000], 1004, 8000))
		}
		if best < 0.5 {
			t.Errorf("%s: 1004 Hz holds at most %.2f of the energy of any second, want the tone", ch.name, best)
		}
	}
}

// encodedSource is how routing code spells the source type of PlayEncoded
// without importing media.
type encodedSource = interface {
	ReadULaw(f []byte) bool
	ReadALaw(f []byte) bool
}

// The method sets routing code finds by type assertion on call.Media.
var (
	_ interface {
		PlayEncoded(ctx context.Context, src encodedSource, bargeIn bool) error
	} = legMedia{}
	_ interface{ SetInbandDTMF(on bool) } = legMedia{}
)
