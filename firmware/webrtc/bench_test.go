package webrtc

import (
	"context"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"ringbox/firmware/media"
)

// cpuNow is the process's user+system CPU time.
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// side labels the calling goroutine, and the goroutines it starts, for
// the CPU profile: "box" is what the appliance runs (media engine, hub,
// the box's peer connection), "harness" the phones, the test browser
// and the benchmark loop. go test -cpuprofile, then go tool pprof -tags,
// splits the CPU between them.
func side(name string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("side", name)))
}

// BenchmarkRelayCPU compares the CPU one relayed packet costs, each way
// in turn, between two SIP-like legs (sip) and between a SIP-like leg and
// a browser leg (browser). Each iteration sends one packet each way and
// waits for it, so the CPU per packet is the process's CPU over 2N. The
// browser case includes the test's own browser (pion receiving and
// sending SRTP), which a real box does not pay: read it as an upper bound.
func BenchmarkRelayCPU(b *testing.B) {
	payload := pattern(3)
	b.Run("sip", func(b *testing.B) {
		side("box")
		_, eng := newTestHub(b)
		pa, pb := newPhone(b, eng), newPhone(b, eng)
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan struct{})
		go func() { media.Bridge(ctx, pa.st, pb.st); close(done) }()
		side("harness")
		defer func() { cancel(); <-done }()
		warm := func(seq uint16) {
			pa.send(seq, payload)
			if _, err := pb.read(2 * time.Second); err != nil {
				b.Fatal(err)
			}
			pb.send(seq, payload)
			if _, err := pa.read(2 * time.Second); err != nil {
				b.Fatal(err)
			}
		}
		warm(1)
		start := cpuNow(b)
		seq := uint16(2)
		for b.Loop() {
			warm(seq)
			seq++
		}
		b.ReportMetric(float64(cpuNow(b)-start)/float64(2*b.N), "cpu-ns/pkt")
	})
	b.Run("browser", func(b *testing.B) {
		side("box")
		h, eng := newTestHub(b)
		p := newPage()
		defer h.Attach("bob", p)()
		leg := ring(b, h, b.Context(), "bob", p)
		side("harness")
		br := newBrowser(b)
		offer := br.offer()
		side("box")
		h.ReceiveFrom(b.Context(), "bob", p, Signal{Type: TypeAccept, CallID: leg.ID(), SDP: offer})
		ans := p.next(b, TypeAnswer)
		side("harness")
		br.answer(ans.SDP)
		tctx, stopTalk := context.WithCancel(b.Context())
		br.talk(tctx, pattern(7))
		if err := leg.Answer(b.Context()); err != nil {
			b.Fatal(err)
		}
		stopTalk()
		br.wg.Wait()
		ph := newPhone(b, eng)
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan struct{})
		side("box")
		go func() { media.Bridge(ctx, leg.MediaStream(), ph.st); close(done) }()
		side("harness")
		defer func() { cancel(); <-done }()
		drain(ph)
		for len(br.got) > 0 {
			<-br.got
		}
		step := func(seq uint16) {
			ph.send(seq, payload)
			if !waitPayload(br.got, payload) {
				b.Fatal("browser got nothing")
			}
			br.send(payload)
			if _, err := ph.read(2 * time.Second); err != nil {
				b.Fatal(err)
			}
		}
		step(1)
		start := cpuNow(b)
		seq := uint16(2)
		for b.Loop() {
			step(seq)
			seq++
		}
		b.ReportMetric(float64(cpuNow(b)-start)/float64(2*b.N), "cpu-ns/pkt")
	})
}

func drain(ph *phone) {
	for {
		if _, err := ph.read(50 * time.Millisecond); err != nil {
			return
		}
	}
}

func waitPayload(c <-chan *rtp.Packet, _ []byte) bool {
	select {
	case <-c:
		return true
	case <-time.After(2 * time.Second):
		return false
	}
}

// BenchmarkAcceptToAudio measures, on loopback, the time from the page's
// accept to the first packet of the far end's audio at the browser: the
// answer, ICE, DTLS, the browser's first packet (the leg answers), the
// bridge. The browser's offer (ICE gathering) is made before the clock
// starts, as a page does while it shows the call.
func BenchmarkAcceptToAudio(b *testing.B) {
	h, eng := newTestHub(b)
	p := newPage()
	defer h.Attach("bob", p)()
	ph := newPhone(b, eng)
	// The far end talks all the time.
	pctx, stopPhone := context.WithCancel(b.Context())
	phoneDone := make(chan struct{})
	go func() {
		defer close(phoneDone)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for seq := uint16(1); ; seq++ {
			ph.send(seq, pattern(5))
			select {
			case <-t.C:
			case <-pctx.Done():
				return
			}
		}
	}()
	defer func() { stopPhone(); <-phoneDone }()
	var total, worst time.Duration
	for b.Loop() {
		b.StopTimer()
		ctx, cancel := context.WithCancel(b.Context())
		leg := ring(b, h, ctx, "bob", p)
		br := newBrowser(b)
		offer := br.offer()
		b.StartTimer()
		t0 := time.Now()
		h.ReceiveFrom(ctx, "bob", p, Signal{Type: TypeAccept, CallID: leg.ID(), SDP: offer})
		br.answer(p.next(b, TypeAnswer).SDP)
		br.talk(ctx, pattern(7))
		if err := leg.Answer(ctx); err != nil {
			b.Fatal(err)
		}
		bctx, stopBridge := context.WithCancel(ctx)
		bridged := make(chan struct{})
		go func() { media.Bridge(bctx, leg.MediaStream(), ph.st); close(bridged) }()
		select {
		case <-br.first:
		case <-time.After(5 * time.Second):
			b.Fatal("no audio at the browser")
		}
		d := time.Since(t0)
		b.StopTimer()
		total += d
		worst = max(worst, d)
		stopBridge()
		<-bridged
		leg.Hangup(0)
		p.next(b, TypeHangup)
		cancel()
		br.wg.Wait()
		br.pc.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/accept")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
