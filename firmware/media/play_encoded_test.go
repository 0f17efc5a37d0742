package media

import (
	"bytes"
	"context"
	"math"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
	"ringbox/audio/moh"
)

// lawSource is an EncodedSource of frames frames of a 440 Hz tone, encoded
// as each law asks.
type lawSource struct {
	frames int
	n      int
	pcm    []int16 // one second of the tone, made on the first read
}

func (s *lawSource) next() []int16 {
	if s.pcm == nil {
		s.pcm = tone(8000, 0, 440, 8000)
	}
	f := s.pcm[s.n : s.n+160]
	s.n = (s.n + 160) % len(s.pcm)
	s.frames--
	return f
}

func (s *lawSource) ReadULaw(f []byte) bool {
	if s.frames == 0 {
		return false
	}
	g711.EncodeUlaw(f, s.next())
	return true
}

func (s *lawSource) ReadALaw(f []byte) bool {
	if s.frames == 0 {
		return false
	}
	g711.EncodeAlaw(f, s.next())
	return true
}

func TestPlayEncoded(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA, G722} {
		t.Run(c.Name, func(t *testing.T) {
			s, p := playing(t, c)
			if err := s.PlayEncoded(t.Context(), &lawSource{frames: 5}, false); err != nil {
				t.Fatalf("PlayEncoded = %v, want nil at the source's end", err)
			}
			want := &lawSource{frames: 5}
			dec := g722.NewDecoder(g722.Rate64000, 0)
			var energy float64
			var first header
			for i := range 5 {
				pkt := p.recv(time.Second)
				if pkt == nil {
					t.Fatalf("got %d packets, want 5", i)
				}
				h := parseHeader(pkt)
				if i == 0 {
					first = h
				}
				if h.pt != c.PT || h.marker != (i == 0) || h.seq != first.seq+uint16(i) || h.ts != first.ts+uint32(160*i) || len(pkt) != 172 {
					t.Fatalf("packet %d = %+v, %d bytes", i, h, len(pkt))
				}
				law := make([]byte, 160)
				switch c.Name {
				case "PCMU":
					want.ReadULaw(law)
				case "PCMA":
					want.ReadALaw(law)
				default:
					pcm := make([]int16, 320)
					dec.Decode(pcm, pkt[12:])
					for _, v := range pcm {
						energy += float64(v) * float64(v)
					}
					continue
				}
				if !bytes.Equal(pkt[12:], law) {
					t.Fatalf("packet %d payload is not the source's frame", i)
				}
			}
			if c.Name == "G722" {
				if rms := math.Sqrt(energy / 1600); rms < 2500 {
					t.Errorf("G.722 audio rms %.0f, want the tone (about 4200)", rms)
				}
			}
		})
	}
}

// TestPlayEncodedMOH plays a music-on-hold class to two callers: both get
// the hub's shared frames, and hold ends when the hub stops.
func TestPlayEncodedMOH(t *testing.T) {
	hub := moh.New()
	music := tone(8000, 0, 300, 8000)
	hub.SetClass("default", []moh.Track{{PCM8k: music}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hubDone := make(chan struct{})
	go func() { hub.Run(ctx); close(hubDone) }()

	s, p := playing(t, PCMA)
	l, err := hub.Listen("default", 8000)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.PlayEncoded(t.Context(), l, false) }()
	for i := range 10 {
		pkt := p.recv(time.Second)
		if pkt == nil {
			t.Fatalf("got %d packets of music, want 10", i)
		}
		pcm := make([]int16, 160)
		g711.DecodeAlaw(pcm, pkt[12:])
		if share(pcm, 300, 8000) < 0.5 {
			t.Fatalf("packet %d is not the music", i)
		}
	}
	cancel() // the hub stops: the listener's source ends
	<-hubDone
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("PlayEncoded after the hub stopped = %v, want nil", err)
		}
	case <-time.After(time.Second):
		t.Error("PlayEncoded still playing after the hub stopped")
	}
}

func TestPlayEncodedNoAllocs(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA, G722} {
		e := newEngine(t, Config{})
		s := open(t, e)
		s.SetRemote(desc(netip.AddrPortFrom(loopback, 9), c, nil))
		p := &player{s: s, enc: &lawSource{frames: -1}, codec: c, pkt: make([]byte, 172), pcm: make([]int16, 320), g722: g722.NewEncoder(g722.Rate64000, 0)}
		if n := testing.AllocsPerRun(100, func() { p.frame() }); n != 0 {
			t.Errorf("%s: allocs per encoded frame = %v, want 0", c.Name, n)
		}
	}
}

// countingSource counts the frames read, for the benchmark to know when a
// tick's work is done.
type countingSource struct {
	EncodedSource
	reads  *atomic.Int64
	target *atomic.Int64
	done   chan struct{}
}

func (c *countingSource) ReadULaw(f []byte) bool {
	ok := c.EncodedSource.ReadULaw(f)
	if c.reads.Add(1) == c.target.Load() {
		c.done <- struct{}{}
	}
	return ok
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMOHFanout measures one 20 ms tick of music on hold with 1,000
// callers of one class: the hub renders and encodes the frame once, the
// engine's clock wakes the 1,000 players, each copies the shared µ-law
// frame into its packet and stamps it. "fanout" holds the peers (no send:
// the fan-out alone), "sockets" sends every packet over loopback. %core is
// the process CPU time per tick over the tick's 20 ms.
func BenchmarkMOHFanout(b *testing.B) {
	for _, send := range []bool{false, true} {
		name := "fanout"
		if send {
			name = "sockets"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, Config{PortMin: 30000, PortMax: 39999})
			hub := moh.New()
			hub.SetClass("default", []moh.Track{{PCM8k: tone(8000, 0, 300, 8000)}})
			sink := newPeer(b)
			go func() { // drain the sink
				buf := make([]byte, 1500)
				for {
					if _, _, err := sink.conn.ReadFromUDPAddrPort(buf); err != nil {
						return
					}
				}
			}()
			const n = 1000
			var reads, target atomic.Int64
			target.Store(-1)
			done := make(chan struct{}, 1)
			ctx, cancel := context.WithCancel(context.Background())
			for range n {
				s := open(b, e)
				d := desc(sink.addr(), PCMU, nil)
				if !send {
					d.Direction = "sendonly" // the peer holds: frames are made, not sent
				}
				s.SetRemote(d)
				l, err := hub.Listen("default", 8000)
				if err != nil {
					b.Fatal(err)
				}
				src := &countingSource{EncodedSource: l, reads: &reads, target: &target, done: done}
				p := &player{s: s, enc: src, codec: PCMU, tick: make(chan struct{}, 1), pkt: make([]byte, 172), first: true}
				e.addPlayer(p)
				go func() {
					for {
						select {
						case <-p.tick:
							p.frame()
						case <-ctx.Done():
							return
						}
					}
				}()
			}
			defer cancel()
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				target.Store(reads.Load() + n)
				hub.Tick()
				e.tick()
				<-done
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(100*float64(cpu)/float64(b.N)/float64(frameDur), "%core")
		})
	}
}
