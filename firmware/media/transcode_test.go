package media

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
)

// codecIO encodes and decodes one codec's 20 ms frames the way a phone
// does, keeping the codec's state across frames.
type codecIO struct {
	rate   float64
	encode func(pcm []int16) []byte
	decode func(payload []byte) []int16
}

func newCodecIO(c Codec) codecIO {
	switch c.Name {
	case "PCMU":
		return codecIO{8000,
			func(pcm []int16) []byte { b := make([]byte, len(pcm)); g711.EncodeUlaw(b, pcm); return b },
			func(p []byte) []int16 { f := make([]int16, len(p)); g711.DecodeUlaw(f, p); return f }}
	case "PCMA":
		return codecIO{8000,
			func(pcm []int16) []byte { b := make([]byte, len(pcm)); g711.EncodeAlaw(b, pcm); return b },
			func(p []byte) []int16 { f := make([]int16, len(p)); g711.DecodeAlaw(f, p); return f }}
	}
	enc := g722.NewEncoder(g722.Rate64000, 0)
	dec := g722.NewDecoder(g722.Rate64000, 0)
	return codecIO{16000,
		func(pcm []int16) []byte { b := make([]byte, len(pcm)/2); enc.Encode(b, pcm); return b },
		func(p []byte) []int16 { f := make([]int16, 2*len(p)); return f[:dec.Decode(f, p)] }}
}

// sineWave is n samples of a sine of amplitude amp at hz, rate Hz, from sample off.
func sineWave(n, off int, hz, amp, rate float64) []int16 {
	f := make([]int16, n)
	for i := range f {
		f[i] = int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(off+i)/rate)))
	}
	return f
}

func rmsDB(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return 10 * math.Log10(sum/float64(len(pcm))/(32768*32768))
}

// TestBridgeTranscodesG722 bridges a G.722 phone with a G.711 one over
// real sockets and sends a test tone each way: it must arrive at the same
// frequency and level, on the box's own SSRC with a continuous sequence
// and timeline, and with nothing at the mirror frequency the resampler
// should have filtered out.
func TestBridgeTranscodesG722(t *testing.T) {
	const (
		hz      = 1004.0 // the usual test tone: not a divisor of the sample rates
		amp     = 8000.0 // peak -12.3 dBFS, rms -15.3
		packets = 50
		skip    = 5 // the codecs' and the filter's start-up
	)
	wantDB := 20 * math.Log10(amp/math.Sqrt2/32768)
	for _, narrow := range []Codec{PCMU, PCMA} {
		for _, dir := range []string{"G722 to " + narrow.Name, narrow.Name + " to G722"} {
			t.Run(dir, func(t *testing.T) {
				e := newEngine(t, Config{})
				a, b, pa, pb, _ := bridged(t, e,
					func(ap netip.AddrPort) Desc { return desc(ap, G722, &TelephoneEvent) },
					func(ap netip.AddrPort) Desc { return desc(ap, narrow, &TelephoneEvent) })
				// from sends, to receives.
				from, fromPeer, fromCodec := a, pa, G722
				toPeer, toCodec := pb, narrow
				if dir != "G722 to "+narrow.Name {
					from, fromPeer, fromCodec = b, pb, narrow
					toPeer, toCodec = pa, G722
				}
				src, dst := newCodecIO(fromCodec), newCodecIO(toCodec)
				n := int(src.rate / 50)
				for i := range packets {
					pl := src.encode(sineWave(n, i*n, hz, amp, src.rate))
					fromPeer.send(from.Local(), rtpPacket(fromCodec.PT, i == 0, uint16(7000+i), uint32(90000+160*i), 0xCAFE, pl))
				}
				var pcm []int16
				var first header
				for i := range packets {
					got := toPeer.recv(time.Second)
					if got == nil {
						t.Fatalf("got %d of %d packets", i, packets)
					}
					h := parseHeader(got)
					if i == 0 {
						first = h
						if !h.marker {
							t.Error("first transcoded packet has no marker bit")
						}
					}
					if h.pt != toCodec.PT || h.ssrc == 0xCAFE || h.ssrc != first.ssrc ||
						h.seq != first.seq+uint16(i) || h.ts != first.ts+uint32(160*i) {
						t.Fatalf("packet %d header %+v, want PT %d on the box's SSRC, seq and ts continuing from %+v",
							i, h, toCodec.PT, first)
					}
					if len(got) != 12+160 {
						t.Fatalf("packet %d has %d bytes, want 12+160 (20 ms either way)", i, len(got))
					}
					f := dst.decode(got[12:])
					if i >= skip {
						pcm = append(pcm, f...)
					}
				}
				if s := share(pcm, hz, dst.rate); s < 0.95 {
					t.Errorf("%.0f Hz holds %.3f of the energy, want the tone (> 0.95)", hz, s)
				}
				if got := rmsDB(pcm); math.Abs(got-wantDB) > 1 {
					t.Errorf("level %.1f dBFS, want %.1f ± 1", got, wantDB)
				}
				if dst.rate == 16000 {
					// Upsampling leaves an image at 8000-hz unless filtered.
					if s := share(pcm, 8000-hz, dst.rate); s > 1e-3 {
						t.Errorf("image at %.0f Hz holds %.4f of the energy, want < 0.001", 8000-hz, s)
					}
				}
			})
		}
	}
}

// TestTranscodedDTMF: events from the G.722 side reach the G.711 side with
// its payload type, on the same box timeline as the transcoded audio; and
// the stream's digits are still reported.
func TestTranscodedDTMF(t *testing.T) {
	e := newEngine(t, Config{})
	te96 := Codec{Name: "telephone-event", PT: 96, Clock: 8000}
	a, _, pa, pb, _ := bridged(t, e,
		func(ap netip.AddrPort) Desc { return desc(ap, G722, &TelephoneEvent) },
		func(ap netip.AddrPort) Desc { return desc(ap, PCMU, &te96) })
	g := newCodecIO(G722)
	pa.send(a.Local(), rtpPacket(9, true, 10, 1600, 0x1234, g.encode(make([]int16, 320))))
	audio := pb.recv(time.Second)
	if audio == nil {
		t.Fatal("audio not relayed")
	}
	pa.send(a.Local(), eventPacket(101, true, 11, 1760, 5, false, 160)) // same SSRC 0x1234
	pa.send(a.Local(), eventPacket(101, false, 12, 1760, 5, true, 800))
	ah := parseHeader(audio)
	for i, end := range []bool{false, true} {
		got := pb.recv(time.Second)
		if got == nil {
			t.Fatalf("event packet %d not relayed", i)
		}
		h := parseHeader(got)
		if h.pt != 96 || h.ssrc != ah.ssrc || h.seq != ah.seq+1+uint16(i) || h.ts != ah.ts+160 {
			t.Errorf("event packet %d header %+v, want PT 96 following the audio %+v", i, h, ah)
		}
		if got[12] != 5 || (got[13]&eventEnd != 0) != end {
			t.Errorf("event packet %d payload %v changed", i, got[12:])
		}
	}
	select {
	case d := <-a.Digits():
		if d.Key != '5' {
			t.Errorf("digit %q, want 5", d.Key)
		}
	case <-time.After(time.Second):
		t.Error("the digit was not reported on the G.722 stream")
	}
}

// TestTranscodeCodecChange: a re-INVITE turning the G.711 side into G.722
// mid-bridge stops the transcoding (plain relay again, the payload as
// sent), and turning it back starts a fresh transcoder.
func TestTranscodeCodecChange(t *testing.T) {
	e := newEngine(t, Config{})
	a, b, pa, pb, _ := bridged(t, e,
		func(ap netip.AddrPort) Desc { return desc(ap, G722, nil) },
		func(ap netip.AddrPort) Desc { return desc(ap, PCMA, nil) })
	pl := newCodecIO(G722).encode(sineWave(320, 0, 440, 6000, 16000))
	pa.send(a.Local(), rtpPacket(9, false, 1, 160, 1, pl))
	if got := pb.recv(time.Second); got == nil || parseHeader(got).pt != 8 {
		t.Fatalf("packet at the PCMA side = %v, want PT 8", got)
	}
	b.SetRemote(desc(pb.addr(), G722, nil))
	pa.send(a.Local(), rtpPacket(9, false, 2, 320, 1, pl))
	got := pb.recv(time.Second)
	if got == nil || parseHeader(got).pt != 9 || string(got[12:]) != string(pl) {
		t.Fatalf("after the codec change got %v, want the G.722 packet as sent", got)
	}
	b.SetRemote(desc(pb.addr(), PCMU, nil))
	pa.send(a.Local(), rtpPacket(9, false, 3, 480, 1, pl))
	if got := pb.recv(time.Second); got == nil || parseHeader(got).pt != 0 {
		t.Fatalf("after the change back got %v, want PT 0", got)
	}
}

// TestBridgeRefusesUnknownCodec: a codec the box cannot decode is relayed
// only to a peer with the same codec.
func TestBridgeRefusesUnknownCodec(t *testing.T) {
	e := newEngine(t, Config{})
	g729 := Codec{Name: "G729", PT: 18, Clock: 8000}
	a, b := open(t, e), open(t, e)
	a.SetRemote(desc(netip.MustParseAddrPort("127.0.0.1:4000"), g729, nil))
	b.SetRemote(desc(netip.MustParseAddrPort("127.0.0.1:4002"), G722, nil))
	if err := Bridge(t.Context(), a, b); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("Bridge = %v, want ErrCodecMismatch", err)
	}
}

// TestTranscodeNoAllocs counts allocations on the transcoding packet path
// once the bridge's transcoder exists, both ways.
func TestTranscodeNoAllocs(t *testing.T) {
	e := newEngine(t, Config{})
	a, b, pa, pb, _ := bridged(t, e,
		func(ap netip.AddrPort) Desc { return desc(ap, G722, nil) },
		func(ap netip.AddrPort) Desc { return desc(ap, PCMU, nil) })
	wide := rtpPacket(9, false, 1, 160, 1, newCodecIO(G722).encode(sineWave(320, 0, 440, 6000, 16000)))
	narrow := rtpPacket(0, false, 1, 160, 1, newCodecIO(PCMU).encode(sineWave(160, 0, 440, 6000, 8000)))
	a.receive(wide, pa.addr())
	b.receive(narrow, pb.addr())
	if n := testing.AllocsPerRun(200, func() { a.receive(wide, pa.addr()) }); n != 0 {
		t.Errorf("allocs per G.722 to PCMU packet = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { b.receive(narrow, pb.addr()) }); n != 0 {
		t.Errorf("allocs per PCMU to G.722 packet = %v, want 0", n)
	}
}

// BenchmarkTranscode measures the transcoding of one call: per op one
// 20 ms packet G.722 to G.711 and one G.711 to G.722, which is what a
// transcoded call costs every 20 ms. "%core/10calls" is the share of one
// core that ten such calls take (500 ops a second); socket I/O, the same
// as for a relayed call, is not included (see BenchmarkRelay).
func BenchmarkTranscode(b *testing.B) {
	for _, narrow := range []Codec{PCMU, PCMA} {
		b.Run("G722-"+narrow.Name, func(b *testing.B) {
			var s Stream
			down := s.transcoderFor(&s, "G722", narrow.Name)
			var s2 Stream
			up := s2.transcoderFor(&s2, narrow.Name, "G722")
			wide := newCodecIO(G722).encode(sineWave(320, 0, 440, 6000, 16000))
			nb := newCodecIO(narrow).encode(sineWave(160, 0, 440, 6000, 8000))
			p1, p2 := make([]byte, 160), make([]byte, 160)
			b.ReportAllocs()
			for b.Loop() {
				copy(p1, wide)
				down.convert(p1)
				copy(p2, nb)
				up.convert(p2)
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perOp*500/1e9*100, "%core/10calls")
		})
	}
}
