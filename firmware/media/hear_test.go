package media

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotranspile/g722"

	"ringbox/audio/dtmf"
	"ringbox/audio/g711"
	"ringbox/firmware/call"
)

// heard collects the frames a Hear delivers.
type heard struct {
	mu     sync.Mutex
	frames [][]int16
}

func (h *heard) sink(f []int16) {
	h.mu.Lock()
	h.frames = append(h.frames, slices.Clone(f))
	h.mu.Unlock()
}

func (h *heard) get() [][]int16 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.frames)
}

// hearing starts a Hear on s that stops when the test ends.
func hearing(t *testing.T, s *Stream) *heard {
	t.Helper()
	h := &heard{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Hear(ctx, h.sink); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, time.Second, func() bool { return s.hear.on.Load() })
	return h
}

func silent(f []int16) bool {
	for _, v := range f {
		if v != 0 {
			return false
		}
	}
	return true
}

// tone is n samples of a sine at hz, rate Hz, starting at sample off.
func tone(n, off int, hz, rate float64) []int16 {
	f := make([]int16, n)
	for i := range f {
		f[i] = int16(6000 * math.Sin(2*math.Pi*hz*float64(off+i)/rate))
	}
	return f
}

func TestHearDecodes(t *testing.T) {
	tests := []struct {
		codec   Codec
		samples int // per 20 ms frame
		encode  func(pcm []int16) []byte
		decode  func(payload []byte) []int16
	}{
		{PCMU, 160,
			func(pcm []int16) []byte { b := make([]byte, len(pcm)); g711.EncodeUlaw(b, pcm); return b },
			func(p []byte) []int16 { f := make([]int16, len(p)); g711.DecodeUlaw(f, p); return f }},
		{PCMA, 160,
			func(pcm []int16) []byte { b := make([]byte, len(pcm)); g711.EncodeAlaw(b, pcm); return b },
			func(p []byte) []int16 { f := make([]int16, len(p)); g711.DecodeAlaw(f, p); return f }},
		{G722, 320, g722Encoder(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.codec.Name, func(t *testing.T) {
			e := newEngine(t, Config{})
			runEngine(t, e)
			s := open(t, e)
			p := newPeer(t)
			s.SetRemote(desc(p.addr(), tt.codec, &TelephoneEvent))
			h := hearing(t, s)
			rate := 8000.0
			if tt.samples == 320 {
				rate = 16000
			}
			var payloads [][]byte
			for i := range 10 {
				pl := tt.encode(tone(tt.samples, i*tt.samples, 440, rate))
				payloads = append(payloads, pl)
				p.send(s.Local(), rtpPacket(tt.codec.PT, i == 0, uint16(100+i), uint32(1000+160*i), 7, pl))
			}
			waitFor(t, 2*time.Second, func() bool { return len(h.get()) >= 10 })
			got := h.get()[:10]
			for i, f := range got {
				if len(f) != tt.samples {
					t.Fatalf("frame %d has %d samples, want %d", i, len(f), tt.samples)
				}
				if tt.decode != nil && !slices.Equal(f, tt.decode(payloads[i])) {
					t.Fatalf("frame %d differs from the decoded packet", i)
				}
				if silent(f) {
					t.Fatalf("frame %d is silence, want the tone", i)
				}
			}
			if tt.decode == nil { // G.722: the decoder's delay; check the level of the tone
				var sum float64
				for _, v := range got[5] {
					sum += float64(v) * float64(v)
				}
				if rms := math.Sqrt(sum / float64(len(got[5]))); rms < 2000 || rms > 6000 {
					t.Errorf("G.722 frame rms = %.0f, want the tone's ~4200", rms)
				}
			}
		})
	}
}

// g722Encoder encodes successive frames of one stream.
func g722Encoder() func([]int16) []byte {
	enc := g722.NewEncoder(g722.Rate64000, 0)
	return func(pcm []int16) []byte {
		b := make([]byte, len(pcm)/2)
		enc.Encode(b, pcm)
		return b
	}
}

// TestHearTimeline feeds packets straight to the stream's receive path and
// checks the frames: gaps by timestamp filled, 10 ms packets joined, late
// and duplicate ones dropped, a new SSRC not taken for a gap.
func TestHearTimeline(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	type pkt struct {
		ts    uint32
		ssrc  uint32
		level int16 // payload decodes to about this
		size  int
	}
	const S = 0 // silence
	tests := []struct {
		name string
		pkts []pkt
		want []int16 // level of each frame heard
	}{
		{"steady", []pkt{{0, 1, 1000, 160}, {160, 1, 2000, 160}}, []int16{1000, 2000}},
		{"one lost", []pkt{{0, 1, 1000, 160}, {320, 1, 3000, 160}}, []int16{1000, S, 3000}},
		{"silence suppressed", []pkt{{0, 1, 1000, 160}, {800, 1, 2000, 160}}, []int16{1000, S, S, S, S, 2000}},
		{"10 ms packets", []pkt{{0, 1, 1000, 80}, {80, 1, 1000, 80}, {160, 1, 2000, 80}, {240, 1, 2000, 80}}, []int16{1000, 2000}},
		{"duplicate", []pkt{{0, 1, 1000, 160}, {0, 1, 5000, 160}, {160, 1, 2000, 160}}, []int16{1000, 2000}},
		{"late", []pkt{{0, 1, 1000, 160}, {320, 1, 3000, 160}, {160, 1, 2000, 160}, {480, 1, 4000, 160}}, []int16{1000, S, 3000, 4000}},
		{"new ssrc", []pkt{{0, 1, 1000, 160}, {90000, 2, 2000, 160}}, []int16{1000, 2000}},
		{"jump over a second", []pkt{{0, 1, 1000, 160}, {160 * 100, 1, 2000, 160}}, []int16{1000, 2000}},
		{"timestamp wraps", []pkt{{math.MaxUint32 - 159, 1, 1000, 160}, {0, 1, 2000, 160}, {320, 1, 3000, 160}}, []int16{1000, 2000, S, 3000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			s := fakeStream(t, e)
			s.SetRemote(desc(from, PCMU, &TelephoneEvent))
			h := &heard{}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { s.Hear(ctx, h.sink); close(done) }()
			waitFor(t, time.Second, func() bool { return s.hear.on.Load() })
			for i, p := range tt.pkts {
				pl := make([]byte, p.size)
				for j := range pl {
					pl[j] = g711.EncodeUlawSample(p.level)
				}
				s.receive(rtpPacket(0, false, uint16(i), p.ts, p.ssrc, pl), from)
			}
			cancel()
			<-done
			var got []int16
			for _, f := range h.get() {
				got = append(got, f[0])
			}
			// µ-law is not exact: compare levels within 3%.
			ok := len(got) == len(tt.want)
			for i := 0; ok && i < len(got); i++ {
				ok = math.Abs(float64(got[i]-tt.want[i])) <= 0.03*float64(tt.want[i])
			}
			if !ok {
				t.Errorf("heard frames at levels %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHearWallClock: with no packets, hearers get silence at 50 frames a
// second; when packets resume, the silence already given is not given again.
func TestHearWallClock(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		s := fakeStream(t, e)
		s.SetRemote(desc(from, PCMU, &TelephoneEvent))
		h := &heard{}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Hear(ctx, h.sink)
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if n := len(h.get()); n != 50 {
			t.Fatalf("after 1 s without packets heard %d frames, want 50", n)
		}
		speech := make([]byte, 160)
		for i := range speech {
			speech[i] = g711.EncodeUlawSample(1000)
		}
		s.receive(rtpPacket(0, true, 1, 0, 9, speech), from)
		time.Sleep(time.Second) // the peer stops again (silence suppression)
		// It resumes: the timestamp says 1 s of silence passed, as it did.
		s.receive(rtpPacket(0, true, 2, 8160, 9, speech), from)
		synctest.Wait()
		got := h.get()
		if n := len(got); n < 100 || n > 103 {
			t.Errorf("after 2 s heard %d frames, want about 102", n)
		}
		if last := got[len(got)-1]; silent(last) {
			t.Errorf("last frame is silence, want the resumed speech")
		}
	})
}

// TestHearBridged: a bridged stream is heard as it relays, the relay
// unchanged by the tap; after Hear returns, the sink is not called again.
func TestHearBridged(t *testing.T) {
	e := newEngine(t, Config{})
	runEngine(t, e)
	// a speaks PCMU, b PCMA: the relay transcodes in place after the tap.
	a, _, pa, pb, _ := bridged(t, e, pcmu, func(ap netip.AddrPort) Desc { return desc(ap, PCMA, nil) })
	h := &heard{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Hear(ctx, h.sink) }()
	waitFor(t, time.Second, func() bool { return a.hear.on.Load() })
	pcm := tone(160, 0, 1000, 8000)
	pl := make([]byte, 160)
	g711.EncodeUlaw(pl, pcm)
	pa.send(a.Local(), rtpPacket(0, false, 1, 160, 1, pl))
	got := pb.recv(time.Second)
	if got == nil || parseHeader(got).pt != PCMA.PT {
		t.Fatalf("b's phone got %v, want the packet as PCMA", got)
	}
	waitFor(t, time.Second, func() bool { return len(h.get()) == 1 })
	want := make([]int16, 160)
	g711.DecodeUlaw(want, pl)
	if !slices.Equal(h.get()[0], want) {
		t.Errorf("heard frame differs from what a's phone sent")
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Hear = %v, want context.Canceled", err)
	}
	n := len(h.get())
	pa.send(a.Local(), rtpPacket(0, false, 2, 320, 1, pl))
	pb.recv(time.Second)
	time.Sleep(150 * time.Millisecond) // past the wall-clock slack
	if m := len(h.get()); m != n {
		t.Errorf("sink called %d times after Hear returned", m-n)
	}
}

func TestHearEnds(t *testing.T) {
	e := newEngine(t, Config{})
	runEngine(t, e)
	s := open(t, e)
	done := make(chan error, 1)
	go func() { done <- s.Hear(context.Background(), func([]int16) {}) }()
	waitFor(t, time.Second, func() bool { return s.hear.on.Load() })
	s.Close()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Errorf("Hear on a closed stream = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Hear did not return when the stream closed")
	}
}

// TestInbandDTMF sends keys as tones in PCMU RTP over a socket: a peer
// without telephone-event gets them as digits; with telephone-event
// negotiated (detection off by default), tones are only audio; forced on,
// a key sent both as tones and as an event is one digit.
func TestInbandDTMF(t *testing.T) {
	tests := []struct {
		name   string
		dtmf   *Codec
		force  *bool
		events bool // also send each key as an RFC 4733 event
		want   string
	}{
		{"no telephone-event", nil, nil, false, "123#"},
		{"telephone-event negotiated", &TelephoneEvent, nil, false, ""},
		{"forced off", nil, ptr(false), false, ""},
		{"forced on, both ways", &TelephoneEvent, ptr(true), true, "123#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			s := open(t, e)
			p := newPeer(t)
			s.SetRemote(desc(p.addr(), PCMU, tt.dtmf))
			if tt.force != nil {
				s.SetInbandDTMF(*tt.force)
			}
			src := dtmf.Sequence("123#", 100*time.Millisecond, 100*time.Millisecond, -10)
			pcm := make([]int16, 160)
			pl := make([]byte, 160)
			for i := 0; src.ReadFrame(pcm); i++ {
				g711.EncodeUlaw(pl, pcm)
				p.send(s.Local(), rtpPacket(0, false, uint16(i), uint32(160*i), 3, pl))
				if tt.events && i%10 == 5 { // the key's tone has ended
					key := "123#"[i/10]
					ev, _ := keyEvent(key)
					p.send(s.Local(), eventPacket(101, true, uint16(i), uint32(160*i), ev, true, 800))
				}
				time.Sleep(2 * time.Millisecond) // keep the socket buffer from overflowing
			}
			time.Sleep(100 * time.Millisecond)
			var got []byte
			for _, d := range digits(s) {
				got = append(got, d.Key)
			}
			if string(got) != tt.want {
				t.Errorf("digits = %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestHearNoAllocs counts allocations per received packet with nobody
// hearing (the tap check only), with a Hear, and with in-band detection.
func TestHearNoAllocs(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	for _, c := range []Codec{PCMU, G722} {
		e := newEngine(t, Config{})
		s := fakeStream(t, e)
		s.SetRemote(desc(from, c, &TelephoneEvent))
		pkt := rtpPacket(c.PT, false, 1, 0, 1, make([]byte, 160))
		next := func() {
			seq := uint16(pkt[2])<<8 | uint16(pkt[3])
			ts := uint32(seq) * 160
			pkt[2], pkt[3] = byte((seq+1)>>8), byte(seq+1)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			s.receive(pkt, from)
		}
		next()
		if n := testing.AllocsPerRun(200, next); n != 0 {
			t.Errorf("%s unheard: allocs per packet = %v, want 0", c.Name, n)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		var frames int
		go func() { s.Hear(ctx, func([]int16) { frames++ }); close(done) }()
		waitFor(t, time.Second, func() bool { return s.hear.on.Load() })
		s.SetInbandDTMF(true)
		next()
		if n := testing.AllocsPerRun(200, next); n != 0 {
			t.Errorf("%s heard, in-band on: allocs per packet = %v, want 0", c.Name, n)
		}
		cancel()
		<-done
		if frames < 200 {
			t.Errorf("%s: heard %d frames of 200 packets", c.Name, frames)
		}
	}
}

// BenchmarkHearPacket measures one received 20 ms packet through the tap:
// decode, frame assembly and the sink call, without the socket read.
func BenchmarkHearPacket(b *testing.B) {
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	for _, tt := range []struct {
		c      Codec
		inband bool
	}{{PCMU, false}, {PCMU, true}, {G722, false}} {
		name := tt.c.Name
		if tt.inband {
			name += "+inband"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, Config{})
			s := e.newStream(0, netip.AddrPortFrom(loopback, 10000), nil, nil)
			defer s.Close()
			s.SetRemote(desc(from, tt.c, &TelephoneEvent))
			s.SetInbandDTMF(tt.inband)
			s.hear.taps = []*tap{{sink: func([]int16) {}}}
			s.hear.on.Store(true)
			pkt := rtpPacket(tt.c.PT, false, 1, 0, 1, make([]byte, 160))
			var ts uint32
			b.ReportAllocs()
			for b.Loop() {
				ts += 160
				pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
				s.receive(pkt, from)
			}
		})
	}
}

var _ call.Hearer = (*Stream)(nil)

// FuzzHearPacket feeds arbitrary datagrams, as a hostile peer could send,
// through the receive path with a Hear and in-band detection running: no
// panic, and every frame heard is a whole 20 ms frame.
func FuzzHearPacket(f *testing.F) {
	f.Add(rtpPacket(0, false, 1, 160, 1, make([]byte, 160)), uint8(0))
	f.Add(rtpPacket(9, true, 1, 0, 1, make([]byte, 80)), uint8(2))
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff}, uint8(1))
	f.Add([]byte{0xA0, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 200}, uint8(1))
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	f.Fuzz(func(t *testing.T, pkt []byte, codec uint8) {
		e := newEngine(t, Config{})
		s := fakeStream(t, e)
		s.SetRemote(desc(from, []Codec{PCMU, PCMA, G722}[codec%3], nil))
		bad := 0
		s.hear.taps = []*tap{{sink: func(fr []int16) {
			if len(fr) != 160 && len(fr) != 320 {
				bad++
			}
		}}}
		s.hear.on.Store(true)
		for i := range 3 { // also as its own successor: a duplicate, a gap
			if len(pkt) > 7 {
				pkt[7] += byte(i * 160)
			}
			s.receive(slices.Clone(pkt), from)
		}
		s.fillSilence()
		if bad > 0 {
			t.Errorf("%d frames of the wrong size", bad)
		}
	})
}
