package media

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
	"ringbox/firmware/call"
)

// sine is a call.Source of frames frames of a 440 Hz tone; frames < 0 is
// endless.
type sine struct {
	frames int
	n      int
	sent   [][]int16 // copies of what was read, when record is set
	record bool
	rate   float64
}

func (s *sine) ReadFrame(f []int16) bool {
	if s.frames >= 0 && s.frames == 0 {
		return false
	}
	s.frames--
	rate := s.rate
	if rate == 0 {
		rate = 8000
	}
	for i := range f {
		f[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(s.n)/rate))
		s.n++
	}
	if s.record {
		s.sent = append(s.sent, append([]int16(nil), f...))
	}
	return true
}

func playing(t *testing.T, c Codec) (*Stream, *peer) {
	t.Helper()
	e := newEngine(t, Config{})
	runEngine(t, e)
	s := open(t, e)
	p := newPeer(t)
	s.SetRemote(desc(p.addr(), c, &TelephoneEvent))
	return s, p
}

func TestPlayPacketsAndAudio(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		t.Run(c.Name, func(t *testing.T) {
			s, p := playing(t, c)
			src := &sine{frames: 10, record: true}
			start := time.Now()
			if err := s.Play(t.Context(), src, false); err != nil {
				t.Fatalf("Play = %v", err)
			}
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("10 frames played in %v, want paced at 20 ms", d)
			}
			var first header
			for i := range 10 {
				pkt := p.recv(time.Second)
				if pkt == nil {
					t.Fatalf("got %d packets, want 10", i)
				}
				h := parseHeader(pkt)
				if i == 0 {
					first = h
				}
				want := header{marker: i == 0, pt: c.PT, seq: first.seq + uint16(i), ts: first.ts + uint32(160*i), ssrc: first.ssrc}
				if h != want || len(pkt) != 12+160 {
					t.Fatalf("packet %d = %+v (%d bytes), want %+v (172 bytes)", i, h, len(pkt), want)
				}
				pcm := make([]int16, 160)
				if c.Name == "PCMU" {
					g711.DecodeUlaw(pcm, pkt[12:])
				} else {
					g711.DecodeAlaw(pcm, pkt[12:])
				}
				for j, v := range pcm {
					// 8000 peak: segment step at most 256, so error <= 256.
					if d := int(v) - int(src.sent[i][j]); d > 256 || d < -256 {
						t.Fatalf("packet %d sample %d = %d, source %d", i, j, v, src.sent[i][j])
					}
				}
			}
			// A second Play continues seq and timestamp on the same SSRC
			// and marks the new talkspurt.
			if err := s.Play(t.Context(), &sine{frames: 1}, false); err != nil {
				t.Fatal(err)
			}
			h := parseHeader(p.recv(time.Second))
			if !h.marker || h.ssrc != first.ssrc || h.seq != first.seq+10 || h.ts-first.ts < 160*10 {
				t.Errorf("next Play's first packet = %+v, want marker, same SSRC, seq %d, ts >= %d", h, first.seq+10, first.ts+1600)
			}
			if st := s.Stats(); st.PacketsOut != 11 {
				t.Errorf("PacketsOut = %d, want 11", st.PacketsOut)
			}
		})
	}
}

func TestPlayG722(t *testing.T) {
	s, p := playing(t, G722)
	if err := s.Play(t.Context(), &sine{frames: 5, rate: 16000}, false); err != nil {
		t.Fatal(err)
	}
	dec := g722.NewDecoder(g722.Rate64000, 0)
	var first header
	var energy float64
	for i := range 5 {
		pkt := p.recv(time.Second)
		if pkt == nil {
			t.Fatalf("got %d packets, want 5", i)
		}
		h := parseHeader(pkt)
		if i == 0 {
			first = h
		}
		if h.pt != 9 || len(pkt) != 12+160 || h.ts != first.ts+uint32(160*i) {
			t.Fatalf("packet %d = %+v (%d bytes), want PT 9, 160 bytes, ts +160", i, h, len(pkt))
		}
		pcm := make([]int16, 320)
		if n := dec.Decode(pcm, pkt[12:]); n != 320 {
			t.Fatalf("decoded %d samples, want 320", n)
		}
		for _, v := range pcm {
			energy += float64(v) * float64(v)
		}
	}
	if rms := math.Sqrt(energy / 1600); rms < 2000 {
		t.Errorf("decoded G.722 rms %.0f, want the tone (about 5600)", rms)
	}
}

func TestPlayBargeIn(t *testing.T) {
	s, p := playing(t, PCMU)
	errc := make(chan error, 1)
	go func() { errc <- s.Play(t.Context(), &sine{frames: -1}, true) }()
	if p.recv(time.Second) == nil {
		t.Fatal("no audio")
	}
	p.send(s.Local(), eventPacket(101, true, 1, 8000, 11, false, 160)) // '#'
	start := time.Now()
	p.send(s.Local(), eventPacket(101, false, 2, 8000, 11, true, 800))
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Play = %v, want nil on barge-in", err)
		}
		if d := time.Since(start); d > 40*time.Millisecond {
			t.Errorf("Play returned %v after the digit, want within a frame", d)
		}
	case <-time.After(time.Second):
		t.Fatal("Play did not stop for the digit")
	}
	select {
	case d := <-s.Digits():
		if d.Key != '#' || d.Duration != 100*time.Millisecond {
			t.Errorf("digit = %+v, want # for 100ms", d)
		}
	default:
		t.Fatal("digit not left in Digits")
	}
	// Without barge-in a digit does not stop the prompt.
	go func() { errc <- s.Play(t.Context(), &sine{frames: 10}, false) }()
	time.Sleep(50 * time.Millisecond)
	s.InjectDigit(call.Digit{Key: '1'})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.PacketsOut < 10 {
		t.Errorf("only %d packets out: the prompt was cut", st.PacketsOut)
	}
	// Type-ahead: a digit waiting when a barge-in Play starts skips it.
	if err := s.Play(t.Context(), &sine{frames: -1}, true); err != nil {
		t.Errorf("Play with a digit waiting = %v", err)
	}
}

func TestPlayEnds(t *testing.T) {
	s, _ := playing(t, PCMU)
	ctx, cancel := context.WithTimeoutCause(t.Context(), 50*time.Millisecond, call.Normal)
	defer cancel()
	if err := s.Play(ctx, &sine{frames: -1}, false); call.CauseOf(err) != call.Normal {
		t.Errorf("Play = %v, want the context cause", err)
	}
	go func() { time.Sleep(30 * time.Millisecond); s.Close() }()
	if err := s.Play(t.Context(), &sine{frames: -1}, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Play on closing stream = %v, want ErrClosed", err)
	}
}

// TestPlayHeldSendsNothing: the peer put the box on hold (sendonly).
func TestPlayHeldSendsNothing(t *testing.T) {
	s, p := playing(t, PCMU)
	d := desc(p.addr(), PCMU, nil)
	d.Direction = "sendonly"
	s.SetRemote(d)
	if err := s.Play(t.Context(), &sine{frames: 3}, false); err != nil {
		t.Fatal(err)
	}
	if got := p.recv(50 * time.Millisecond); got != nil {
		t.Error("audio sent to a peer that holds")
	}
}

// TestRelayAfterPlayContinues: the box played to b's phone, then bridges;
// relayed packets continue the box's SSRC, seq and timestamp.
func TestRelayAfterPlayContinues(t *testing.T) {
	e := newEngine(t, Config{})
	runEngine(t, e)
	a, b := open(t, e), open(t, e)
	pa, pb := newPeer(t), newPeer(t)
	a.SetRemote(pcmu(pa.addr()))
	b.SetRemote(pcmu(pb.addr()))
	if err := b.Play(t.Context(), &sine{frames: 2}, false); err != nil {
		t.Fatal(err)
	}
	pb.recv(time.Second)
	last := parseHeader(pb.recv(time.Second))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go Bridge(ctx, a, b)
	waitFor(t, time.Second, func() bool { return a.peer.Load() == b })
	for i := range 3 {
		pa.send(a.Local(), rtpPacket(0, false, uint16(7000+i), uint32(50000+160*i), 0xCAFE, make([]byte, 160)))
	}
	for i := range 3 {
		h := parseHeader(pb.recv(time.Second))
		if h.ssrc != last.ssrc || h.seq != last.seq+1+uint16(i) || h.marker != (i == 0) {
			t.Errorf("relayed %d = %+v, want box SSRC %#x seq %d marker %v", i, h, last.ssrc, last.seq+1+uint16(i), i == 0)
		}
		if d := h.ts - last.ts; d < 160 || d > 160*uint32(i+1)+160*50 {
			t.Errorf("relayed %d ts jumps %d from the prompt", i, d)
		}
	}
}

// TestPlayFrameNoAllocs counts allocations on the per-tick path of Play.
func TestPlayFrameNoAllocs(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA, G722} {
		e := newEngine(t, Config{})
		s := open(t, e)
		s.SetRemote(desc(netip.AddrPortFrom(loopback, 9), c, nil)) // discard port
		p, err := s.newPlayer(&sine{frames: -1})
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { p.frame() }); n != 0 {
			t.Errorf("%s: allocs per frame = %v, want 0", c.Name, n)
		}
	}
}

// BenchmarkPlayTick measures one tick of the shared pacing clock with 1000
// streams playing: the tick itself, and the whole frame work it triggers
// (1000 frames encoded and sent over loopback) until every stream has sent.
func BenchmarkPlayTick(b *testing.B) {
	e := newEngine(b, Config{PortMin: 20000, PortMax: 29999})
	sink := newPeer(b)
	const n = 1000
	var sent = make(chan struct{}, n)
	for range n {
		s := open(b, e)
		s.SetRemote(desc(sink.addr(), PCMU, nil))
		p, err := s.newPlayer(&sine{frames: -1})
		if err != nil {
			b.Fatal(err)
		}
		e.addPlayer(p)
		go func() {
			for {
				select {
				case <-p.tick:
					p.frame()
					sent <- struct{}{}
				case <-s.closed:
					return
				}
			}
		}()
	}
	go func() { // drain the sink
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.conn.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	var tickTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		e.tick()
		tickTime += time.Since(t0)
		for range n {
			<-sent
		}
	}
	b.ReportMetric(float64(tickTime.Nanoseconds())/float64(b.N), "ns-fanout/tick")
}

// TestPacingClock: the 20 ms clock gives a new player its first frame at
// once and then one every 20 ms, and starts again the same way after the
// engine was idle (when it wakes only once a second, for the sweeper).
func TestPacingClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		for round := range 2 {
			time.Sleep(3 * time.Second) // idle
			p := &player{tick: make(chan struct{}, 1)}
			start := time.Now()
			e.addPlayer(p)
			var at []time.Duration
			for range 4 {
				<-p.tick
				at = append(at, time.Since(start))
			}
			e.removePlayer(p)
			want := []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}
			if !slices.Equal(at, want) {
				t.Errorf("round %d: ticks at %v, want %v", round, at, want)
			}
		}
	})
}
