package analog

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"ringbox/board/line"
	"ringbox/firmware/call"
	"ringbox/firmware/media"
	"ringbox/firmware/site"
)

// benchAudio paces a port by the benchmark: ReadFrame waits for a tick,
// WriteFrame reports the frame done.
type benchAudio struct {
	tick chan struct{}
	done *sync.WaitGroup
	mic  []int16
}

func (a *benchAudio) ReadFrame(f []int16) error {
	if _, ok := <-a.tick; !ok {
		return line.ErrClosed
	}
	copy(f, a.mic)
	return nil
}

func (a *benchAudio) WriteFrame([]int16) error { a.done.Done(); return nil }

type benchPort struct {
	kind line.Kind
	n    int
	a    *benchAudio
	ev   chan line.Event
}

func (p *benchPort) Kind() line.Kind           { return p.kind }
func (p *benchPort) N() int                    { return p.n }
func (p *benchPort) Events() <-chan line.Event { return p.ev }
func (p *benchPort) Audio() line.Audio         { return p.a }
func (p *benchPort) Close() error              { return nil }
func (p *benchPort) SetFeed(line.Feed) error   { return nil }
func (p *benchPort) Ring(bool) error           { return nil }
func (p *benchPort) OffHook() bool             { return p.kind == line.FXS }
func (p *benchPort) SetHook(bool) error        { return nil }
func (p *benchPort) Status() line.FXOStatus    { return line.FXOStatus{Voltage: 48} }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBoardInCalls: 8 FXS and 4 FXO ports, all in calls (each FXS
// phone talks to another port through bridged media streams, as two
// analog phones or a phone and the exchange line do), every port's 20 ms
// frame handled once per op: line DSP (DTMF detection on the phones,
// call-progress detection and the silence check on the lines), G.711, RTP
// into the streams, the relay between them and back to the ports.
// %core is ns/op over 20 ms: the share of one core the board takes.
func BenchmarkBoardInCalls(b *testing.B) {
	med, err := media.NewEngine(media.Config{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41000, PortMax: 41998})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go med.Run(ctx)
	var done sync.WaitGroup
	speech := make([]int16, line.FrameSamples)
	for i := range speech {
		speech[i] = int16(6000 * math.Sin(2*math.Pi*float64(i)*523/8000) * math.Sin(2*math.Pi*float64(i)*3/8000))
	}
	var ports []line.Port
	var audios []*benchAudio
	s := &site.Site{System: site.System{ToneZone: "us"}}
	for i := 1; i <= 12; i++ {
		a := &benchAudio{tick: make(chan struct{}, 1), done: &done, mic: speech}
		k, n := line.FXS, i
		if i > 8 {
			k, n = line.FXO, i-8
			s.Trunks = append(s.Trunks, site.Trunk{ID: "line" + string(rune('0'+n)), FXO: n})
		}
		audios = append(audios, a)
		ports = append(ports, &benchPort{kind: k, n: n, a: a, ev: make(chan line.Event)})
	}
	e := New(Config{Ports: ports, Site: func() *site.Site { return s }, Media: med,
		Handle: func(ctx context.Context, in call.Leg, info CallInfo) { <-in.Done() }})
	runDone := make(chan struct{})
	go func() { e.Run(ctx); close(runDone) }()
	// Put every port in a call: legs made directly, bridged in pairs.
	var legs []*Leg
	for n, p := range e.fxs {
		l, err := e.newLeg(p.name, call.Party{Number: "x"})
		if err != nil {
			b.Fatal(err)
		}
		l.markAnswered()
		p.addLeg(&fxsLeg{l: l, role: roleActive})
		_ = n
		legs = append(legs, l)
	}
	for _, p := range e.fxo {
		l, err := e.newLeg(p.name, call.Party{Number: "x"})
		if err != nil {
			b.Fatal(err)
		}
		l.markAnswered()
		p.connect(l, true)
		legs = append(legs, l)
	}
	for i := 0; i+1 < len(legs); i += 2 {
		go media.Bridge(ctx, legs[i].st, legs[i+1].st)
	}
	time.Sleep(100 * time.Millisecond)
	frame := func() {
		done.Add(len(audios))
		for _, a := range audios {
			a.tick <- struct{}{}
		}
		done.Wait()
	}
	for range 50 {
		frame()
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		frame()
	}
	b.StopTimer()
	// The process's CPU time, not the elapsed time: the ports run in
	// parallel on this machine's cores.
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/frame")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(20*time.Millisecond)*100, "%core")
	for _, a := range audios {
		close(a.tick)
	}
	cancel()
	<-runDone
}
