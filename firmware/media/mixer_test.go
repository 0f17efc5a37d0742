package media

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

// confPhone is a conference member's phone: it talks a tone of its own
// into a socketless stream and decodes what the mixer sends it.
type confPhone struct {
	s     *Stream
	from  netip.AddrPort
	codec Codec
	hz    float64 // 0: silence
	dc    int16   // a constant level instead of a tone (saturation)
	enc   *g722.Encoder
	seq   uint16
	ts    uint32
	off   int

	mu    sync.Mutex // protects following
	heard []int16    // at the codec's rate
	dec   *g722.Decoder
}

func newConfPhone(t *testing.T, e *Engine, i int, c Codec, hz float64) *confPhone {
	p := &confPhone{
		s:     fakeStream(t, e),
		from:  netip.AddrPortFrom(loopback, uint16(5004+2*i)),
		codec: c,
		hz:    hz,
		enc:   g722.NewEncoder(g722.Rate64000, 0),
		dec:   g722.NewDecoder(g722.Rate64000, 0),
		ts:    uint32(i) * 1000,
	}
	p.s.SetRemote(desc(p.from, c, &TelephoneEvent))
	p.s.SetTransport(p.got)
	return p
}

func (p *confPhone) rate() int {
	if p.codec.Name == "G722" {
		return 16000
	}
	return 8000
}

// got decodes one packet the box sent to the phone.
func (p *confPhone) got(pkt []byte) error {
	start, end, ok := payloadOffset(pkt)
	if !ok || pkt[1]&0x7F != p.codec.PT {
		return nil
	}
	pl := pkt[start:end]
	p.mu.Lock()
	defer p.mu.Unlock()
	f := make([]int16, 2*len(pl))
	switch p.codec.Name {
	case "PCMU":
		f = f[:g711.DecodeUlaw(f, pl)]
	case "PCMA":
		f = f[:g711.DecodeAlaw(f, pl)]
	case "G722":
		f = f[:p.dec.Decode(f, pl)]
	}
	p.heard = append(p.heard, f...)
	return nil
}

// talk sends the phone's next 20 ms packet.
func (p *confPhone) talk() {
	n := p.rate() / 50
	pcm := make([]int16, n)
	switch {
	case p.dc != 0:
		for i := range pcm {
			pcm[i] = p.dc
		}
	case p.hz > 0:
		pcm = tone(n, p.off, p.hz, float64(p.rate()))
	}
	p.off += n
	payload := make([]byte, 160)
	switch p.codec.Name {
	case "PCMU":
		g711.EncodeUlaw(payload, pcm)
	case "PCMA":
		g711.EncodeAlaw(payload, pcm)
	case "G722":
		p.enc.Encode(payload, pcm)
	}
	p.s.receive(rtpPacket(p.codec.PT, p.seq == 0, p.seq, p.ts, 0x1000+uint32(p.from.Port()), payload), p.from)
	p.seq++
	p.ts += 160
}

// last is the last d of what the phone heard.
func (p *confPhone) last(d time.Duration) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(d.Seconds() * float64(p.rate()))
	if n > len(p.heard) {
		n = len(p.heard)
	}
	return append([]int16(nil), p.heard[len(p.heard)-n:]...)
}

// level is the amplitude of the hz component of x (Goertzel).
func level(x []int16, hz float64, rate int) float64 {
	if len(x) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*hz/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(len(x))
}

// conf runs phones in a mixer under synctest: each phone talks every
// 20 ms from one goroutine, and each is a member until its leave is
// called or the test ends.
type conf struct {
	t      *testing.T
	m      *Mixer
	phones []*confPhone
	mu     sync.Mutex
	talk   []*confPhone
	wg     sync.WaitGroup
}

func newConf(t *testing.T, e *Engine) *conf {
	c := &conf{t: t, m: e.NewMixer()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(frameDur)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				c.mu.Lock()
				for _, p := range c.talk {
					p.talk()
				}
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.m.Close()
		c.wg.Wait()
	})
	return c
}

// join makes p talk and join; the returned leave ends its membership and
// returns what Join returned.
func (c *conf) join(p *confPhone) (leave func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		errc <- c.m.JoinStream(ctx, p.s)
	}()
	c.mu.Lock()
	c.talk = append(c.talk, p)
	c.mu.Unlock()
	synctest.Wait()
	return func() error {
		c.mu.Lock()
		for i, x := range c.talk {
			if x == p {
				c.talk = append(c.talk[:i], c.talk[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		cancel()
		return <-errc
	}
}

const (
	present = 2000 // a member's 6000-amplitude tone, heard
	absent  = 300  // codec noise and leakage at most
)

// checkHears asserts p hears the tones of others and not those of
// silenced (its own, a muted member's).
func checkHears(t *testing.T, p *confPhone, others, silenced []*confPhone) {
	t.Helper()
	x := p.last(400 * time.Millisecond)
	for _, o := range others {
		if l := level(x, o.hz, p.rate()); l < present {
			t.Errorf("%s member (%v Hz) hears %v Hz at %.0f, want ≥ %d", p.codec.Name, p.hz, o.hz, l, present)
		}
	}
	for _, o := range silenced {
		if l := level(x, o.hz, p.rate()); l > absent {
			t.Errorf("%s member (%v Hz) hears %v Hz at %.0f, want ≤ %d", p.codec.Name, p.hz, o.hz, l, absent)
		}
	}
}

func others(all []*confPhone, p *confPhone) []*confPhone {
	var o []*confPhone
	for _, x := range all {
		if x != p {
			o = append(o, x)
		}
	}
	return o
}

// TestMixerEachHearsTheOthers: every member hears every other member's
// tone and not its own, G.711 laws mixed, and with a G.722 member (the
// mix then at 16 kHz).
func TestMixerEachHearsTheOthers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		codecs []Codec
	}{
		{"g711", []Codec{PCMU, PCMA, PCMU, PCMU}},
		{"g722 with g711", []Codec{PCMU, G722, PCMA, PCMU}},
		{"all g722", []Codec{G722, G722, G722}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, Config{})
				runEngine(t, e)
				c := newConf(t, e)
				var all []*confPhone
				for i, codec := range tt.codecs {
					p := newConfPhone(t, e, i, codec, 400+300*float64(i))
					all = append(all, p)
					c.join(p)
				}
				if n := c.m.Len(); n != len(all) {
					t.Fatalf("Len = %d, want %d", n, len(all))
				}
				time.Sleep(time.Second)
				for _, p := range all {
					checkHears(t, p, others(all, p), []*confPhone{p})
				}
			})
		})
	}
}

// TestMixerMute: a muted member is not heard by the others but still
// hears them; unmuted, it is heard again.
func TestMixerMute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		c := newConf(t, e)
		a := newConfPhone(t, e, 0, PCMU, 400)
		b := newConfPhone(t, e, 1, PCMA, 700)
		d := newConfPhone(t, e, 2, G722, 1000)
		for _, p := range []*confPhone{a, b, d} {
			c.join(p)
		}
		time.Sleep(500 * time.Millisecond)
		if !c.m.MuteStream(a.s, true) {
			t.Fatal("MuteStream of a member = false")
		}
		time.Sleep(time.Second)
		checkHears(t, b, []*confPhone{d}, []*confPhone{a, b})
		checkHears(t, d, []*confPhone{b}, []*confPhone{a, d})
		checkHears(t, a, []*confPhone{b, d}, []*confPhone{a})
		c.m.MuteStream(a.s, false)
		time.Sleep(time.Second)
		checkHears(t, b, []*confPhone{a, d}, []*confPhone{b})
		if c.m.MuteStream(fakeStream(t, e), true) {
			t.Error("MuteStream of a stream that is not a member = true")
		}
	})
}

// TestMixerJoinLeave: members join and leave while the conference runs;
// a member that left is no longer heard and its Join returns the cause.
func TestMixerJoinLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		c := newConf(t, e)
		a := newConfPhone(t, e, 0, PCMU, 400)
		b := newConfPhone(t, e, 1, PCMU, 700)
		late := newConfPhone(t, e, 2, G722, 1000)
		c.join(a)
		c.join(b)
		time.Sleep(500 * time.Millisecond)
		checkHears(t, a, []*confPhone{b}, []*confPhone{a, late})
		leave := c.join(late)
		time.Sleep(time.Second)
		checkHears(t, a, []*confPhone{b, late}, []*confPhone{a})
		checkHears(t, late, []*confPhone{a, b}, []*confPhone{late})
		if err := leave(); !errors.Is(err, context.Canceled) {
			t.Errorf("Join after leave returned %v, want context.Canceled", err)
		}
		if n := c.m.Len(); n != 2 {
			t.Errorf("Len after a leave = %d, want 2", n)
		}
		sent := len(late.last(time.Hour))
		time.Sleep(200 * time.Millisecond)
		if n := len(late.last(time.Hour)); n != sent {
			t.Errorf("the mixer sent %d samples to a member after its Join returned", n-sent)
		}
		time.Sleep(time.Second)
		checkHears(t, a, []*confPhone{b}, []*confPhone{a, late})
		checkHears(t, b, []*confPhone{a}, []*confPhone{b, late})
	})
}

// TestMixerClose: closing the conference ends every Join with
// ErrMixerClosed, and a Join after Close is refused.
func TestMixerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		m := e.NewMixer()
		errs := make(chan error, 2)
		for i := range 2 {
			p := newConfPhone(t, e, i, PCMU, 400)
			go func() { errs <- m.JoinStream(t.Context(), p.s) }()
		}
		synctest.Wait()
		m.Close()
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrMixerClosed) {
				t.Errorf("Join after Close returned %v, want ErrMixerClosed", err)
			}
		}
		p := newConfPhone(t, e, 3, PCMU, 400)
		if err := m.JoinStream(t.Context(), p.s); !errors.Is(err, ErrMixerClosed) {
			t.Errorf("Join on a closed mixer = %v, want ErrMixerClosed", err)
		}
	})
}

// TestMixerSaturates: two loud members sum past 16 bits; the third hears
// the sum clipped at full scale, not wrapped round to a negative value.
func TestMixerSaturates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		c := newConf(t, e)
		a := newConfPhone(t, e, 0, PCMU, 0)
		b := newConfPhone(t, e, 1, PCMU, 0)
		l := newConfPhone(t, e, 2, PCMU, 0)
		a.dc, b.dc = 24000, 24000
		for _, p := range []*confPhone{a, b, l} {
			c.join(p)
		}
		time.Sleep(500 * time.Millisecond)
		x := l.last(200 * time.Millisecond)
		if len(x) == 0 {
			t.Fatal("listener heard nothing")
		}
		// A frame may be one member short once (a packet late for its
		// tick); what must never show is a sum wrapped round to negative.
		clipped := 0
		for i, v := range x {
			if v < 0 {
				t.Fatalf("sample %d = %d: the sum wrapped round", i, v)
			}
			if v >= 30000 {
				clipped++
			}
		}
		if clipped < len(x)*8/10 {
			t.Errorf("%d of %d samples clipped near +32767, want nearly all", clipped, len(x))
		}
		// Each loud member hears the other alone, unclipped.
		if v := a.last(100 * time.Millisecond); len(v) == 0 || v[0] < 20000 || v[0] > 26000 {
			t.Errorf("loud member hears %v..., want about 24000", v[:min(3, len(v))])
		}
	})
}

// TestMixerAnnounce: an announcement to all is heard by every member; one
// to a member only by that member.
func TestMixerAnnounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		c := newConf(t, e)
		a := newConfPhone(t, e, 0, PCMU, 0)
		b := newConfPhone(t, e, 1, G722, 0)
		c.join(a)
		c.join(b)
		c.m.AnnounceStream(nil, &toneSrc{hz: 600, n: 50})
		time.Sleep(500 * time.Millisecond)
		for _, p := range []*confPhone{a, b} {
			if l := level(p.last(400*time.Millisecond), 600, p.rate()); l < present {
				t.Errorf("%s member hears the announcement at %.0f, want ≥ %d", p.codec.Name, l, present)
			}
		}
		time.Sleep(time.Second) // the announcement ended
		c.m.AnnounceStream(b.s, &toneSrc{hz: 900, n: 50})
		time.Sleep(500 * time.Millisecond)
		if l := level(b.last(400*time.Millisecond), 900, 16000); l < present {
			t.Errorf("addressee hears its announcement at %.0f, want ≥ %d", l, present)
		}
		if l := level(a.last(400*time.Millisecond), 900, 8000); l > absent {
			t.Errorf("other member hears an announcement not for it at %.0f", l)
		}
	})
}

// TestMixerDigits: a member's RFC 4733 digits still reach its stream's
// Digits (the mute key), and are not mixed into what the others hear.
func TestMixerDigits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		c := newConf(t, e)
		a := newConfPhone(t, e, 0, PCMU, 400)
		b := newConfPhone(t, e, 1, PCMU, 700)
		c.join(a)
		c.join(b)
		time.Sleep(200 * time.Millisecond)
		c.mu.Lock()
		a.s.receive(eventPacket(101, true, 900, 77777, 6, false, 160), a.from)
		a.s.receive(eventPacket(101, false, 901, 77777, 6, true, 800), a.from)
		c.mu.Unlock()
		synctest.Wait()
		got := digits(a.s)
		if len(got) != 1 || got[0].Key != '6' {
			t.Errorf("digits of a member = %v, want 6", got)
		}
	})
}

// toneSrc is n frames of a 16 kHz tone.
type toneSrc struct {
	hz  float64
	n   int
	off int
}

func (s *toneSrc) ReadFrame(f []int16) bool {
	if s.n == 0 {
		return false
	}
	s.n--
	copy(f, tone(len(f), s.off, s.hz, 16000))
	s.off += len(f)
	return true
}

// benchMixer measures one 20 ms tick of a conference of n members of
// codec: each member's packet received and decoded (the Hear path), the
// mix, and each member's frame encoded and handed to its transport.
func benchMixer(b *testing.B, n int, codecs ...Codec) {
	e := newEngine(b, Config{})
	m := newMixerUnticked(e)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	type member struct {
		s    *Stream
		from netip.AddrPort
		pkt  []byte
	}
	var ms []member
	for i := range n {
		codec := codecs[i%len(codecs)]
		s := e.newStream(0, netip.AddrPortFrom(loopback, 10000), nil, nil)
		defer s.Close()
		from := netip.AddrPortFrom(loopback, uint16(5004+2*i))
		s.SetRemote(desc(from, codec, &TelephoneEvent))
		s.SetTransport(func([]byte) error { return nil })
		rate := 8000
		if codec.Name == "G722" {
			rate = 16000
		}
		pcm := tone(rate/50, 0, 300+100*float64(i), float64(rate))
		payload := make([]byte, 160)
		switch codec.Name {
		case "PCMU":
			g711.EncodeUlaw(payload, pcm)
		case "PCMA":
			g711.EncodeAlaw(payload, pcm)
		case "G722":
			g722.NewEncoder(g722.Rate64000, 0).Encode(payload, pcm)
		}
		ms = append(ms, member{s, from, rtpPacket(codec.PT, false, 0, 0, uint32(i), payload)})
		wg.Add(1)
		go func() { defer wg.Done(); m.JoinStream(ctx, s) }()
	}
	for m.Len() < n {
		time.Sleep(time.Millisecond)
	}
	for _, x := range ms {
		for !x.s.hear.on.Load() {
			time.Sleep(time.Millisecond)
		}
	}
	seq := uint16(1)
	ts := uint32(160)
	step := func() {
		for _, x := range ms {
			x.pkt[3], x.pkt[2] = byte(seq), byte(seq>>8)
			x.pkt[4], x.pkt[5], x.pkt[6], x.pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			x.s.receive(x.pkt, x.from)
		}
		m.tick()
		seq++
		ts += 160
	}
	for range 50 { // past the filters' start and the first allocations
		step()
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.StopTimer()
	perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(100*perTick/float64(frameDur.Nanoseconds()), "%core")
	// The same share from the CPU time the process used: what a busy
	// host (other processes on the cores) does not inflate.
	cpuPerTick := float64((cpuTime() - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(100*cpuPerTick/float64(frameDur.Nanoseconds()), "%core-cpu")
}

// BenchmarkMixer10 is the conference target: 10 G.711 members cost at
// most 2% of a core (%core: the wall time of one tick over its 20 ms;
// %core-cpu: the same from the CPU time used, steadier on a busy host).
func BenchmarkMixer10(b *testing.B) { benchMixer(b, 10, PCMU, PCMA) }

// BenchmarkMixer10G722: the same with every member on G.722 (16 kHz mix).
func BenchmarkMixer10G722(b *testing.B) { benchMixer(b, 10, G722) }

// BenchmarkMixer10Mixed: one G.722 member among nine G.711 ones: the two
// shared resamplings a tick, and one G.722 decode and encode.
func BenchmarkMixer10Mixed(b *testing.B) {
	benchMixer(b, 10, G722, PCMU, PCMU, PCMU, PCMU, PCMU, PCMU, PCMU, PCMU, PCMU)
}

// TestMixerRefusesLegWithoutStream: a leg whose audio is not on a stream
// is refused as unavailable, not joined into silence.
func TestMixerRefusesLegWithoutStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{})
		runEngine(t, e)
		m := e.NewMixer()
		defer m.Close()
		err := m.Join(t.Context(), calltest.NewLeg("no-stream"))
		if !errors.Is(err, call.Unavailable) {
			t.Errorf("Join of a leg without a stream = %v, want unavailable", err)
		}
		if m.Len() != 0 {
			t.Errorf("Len = %d, want 0", m.Len())
		}
	})
}
