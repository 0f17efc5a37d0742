package webrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

var testPorts atomic.Int32

// newTestHub is a hub on a running media engine bound to 127.0.0.1.
func newTestHub(t testing.TB) (*Hub, *media.Engine) {
	t.Helper()
	base := 36000 + int(testPorts.Add(1)%50)*100
	eng, err := media.NewEngine(media.Config{
		IP: netip.MustParseAddr("127.0.0.1"), PortMin: base, PortMax: base + 99,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	lg := slog.New(slog.DiscardHandler)
	if os.Getenv("WEBRTC_TEST_LOG") != "" {
		lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := NewHub(Config{Media: eng, Logger: lg, loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		cancel()
		<-done
	})
	return h, eng
}

// fakePage is an attached browser page: what the box sends it is queued.
type fakePage struct {
	c      chan Signal
	broken atomic.Bool
}

func newPage() *fakePage { return &fakePage{c: make(chan Signal, 32)} }

func (p *fakePage) Send(s Signal) error {
	if p.broken.Load() {
		return errors.New("page gone")
	}
	select {
	case p.c <- s:
		return nil
	default:
		return errors.New("page queue full")
	}
}

// next waits for the next signal and checks its type.
func (p *fakePage) next(t testing.TB, typ string) Signal {
	t.Helper()
	select {
	case s := <-p.c:
		if s.Type != typ {
			t.Fatalf("page got %+v, want type %q", s, typ)
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatalf("page got no %q signal", typ)
	}
	return Signal{}
}

// quiet checks that nothing more arrives for a moment.
func (p *fakePage) quiet(t testing.TB) {
	t.Helper()
	select {
	case s := <-p.c:
		t.Fatalf("page got unexpected %+v", s)
	case <-time.After(100 * time.Millisecond):
	}
}

// browser is the page's side of the call: a pion PeerConnection offering
// G.711 and telephone-event, as Chrome does (minus Opus).
type browser struct {
	t     testing.TB
	pc    *pion.PeerConnection
	track *pion.TrackLocalStaticRTP

	mu       sync.Mutex // protects following
	received []*rtp.Packet

	got     chan *rtp.Packet // every received packet, when not full
	first   chan struct{}
	firstMu sync.Once
	count   atomic.Int64
	wg      sync.WaitGroup
	seq     uint16
	ts      uint32
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	me := &pion.MediaEngine{}
	for _, c := range []pion.RTPCodecParameters{
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: 126},
	} {
		if err := me.RegisterCodec(c, pion.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	api := pion.NewAPI(pion.WithMediaEngine(me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000}, "mic", "page")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, track: track, got: make(chan *rtp.Packet, 256), first: make(chan struct{})}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			b.count.Add(1)
			b.firstMu.Do(func() { close(b.first) })
			select {
			case b.got <- p:
			default:
			}
		}
	})
	t.Cleanup(func() { pc.Close() })
	return b
}

// offer makes a complete (non-trickle) offer.
func (b *browser) offer() string {
	b.t.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	g := pion.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		b.t.Fatal(err)
	}
	<-g
	return b.pc.LocalDescription().SDP
}

func (b *browser) answer(sdp string) {
	b.t.Helper()
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: sdp}); err != nil {
		b.t.Fatal(err)
	}
}

// send writes one PCMU packet of 160 bytes of payload.
func (b *browser) send(payload []byte) {
	b.seq++
	b.ts += 160
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: b.seq, Timestamp: b.ts}, Payload: payload}
	if err := b.track.WriteRTP(p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		b.t.Logf("browser send: %v", err)
	}
}

// talk sends payload every 20 ms until ctx ends (the microphone).
func (b *browser) talk(ctx context.Context, payload []byte) {
	b.wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			b.send(payload)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	})
	b.t.Cleanup(b.wg.Wait)
}

// phone is a SIP phone's RTP socket facing a stream of the same engine.
type phone struct {
	t    testing.TB
	conn *net.UDPConn
	st   *media.Stream
}

func newPhone(t testing.TB, eng *media.Engine) *phone {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := eng.Open()
	if err != nil {
		t.Fatal(err)
	}
	st.SetRemote(media.Desc{
		Addr:   c.LocalAddr().(*net.UDPAddr).AddrPort(),
		Codecs: []media.Codec{media.PCMU}, DTMF: &media.TelephoneEvent, RTCPMux: true,
	})
	t.Cleanup(func() { c.Close(); st.Close() })
	return &phone{t: t, conn: c, st: st}
}

// send sends one PCMU packet to the phone's stream.
func (p *phone) send(seq uint16, payload []byte) {
	pkt := make([]byte, 12+len(payload))
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	copy(pkt[12:], payload)
	if _, err := p.conn.WriteToUDPAddrPort(pkt, p.st.Local()); err != nil {
		p.t.Fatal(err)
	}
}

// read returns the next packet the phone receives.
func (p *phone) read(d time.Duration) (*rtp.Packet, error) {
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(d))
	n, err := p.conn.Read(buf)
	if err != nil {
		return nil, err
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return nil, err
	}
	return &pkt, nil
}

// ring dials agent's browser and returns the leg with its call id checked
// on page's incoming signal.
func ring(t testing.TB, h *Hub, ctx context.Context, agent string, pages ...*fakePage) *Leg {
	t.Helper()
	l, err := h.Dial(ctx, call.Target{Kind: call.TargetBrowser, Number: agent, From: call.Party{Number: "+15550100", Name: "Ann"}, Via: "Sales"})
	if err != nil {
		t.Fatal(err)
	}
	leg := l.(*Leg)
	for _, p := range pages {
		s := p.next(t, TypeIncoming)
		if s.CallID != leg.ID() {
			t.Fatalf("incoming for %q, leg is %q", s.CallID, leg.ID())
		}
	}
	return leg
}

// pattern is a recognisable 160-byte payload.
func pattern(seed byte) []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// answerCall accepts leg on page from browser b, completes the exchange,
// starts b talking and waits for the leg to answer.
func answerCall(t testing.TB, h *Hub, leg *Leg, p *fakePage, b *browser, ctx context.Context) {
	t.Helper()
	h.ReceiveFrom(ctx, leg.agent, p, Signal{Type: TypeAccept, CallID: leg.ID(), SDP: b.offer()})
	ans := p.next(t, TypeAnswer)
	b.answer(ans.SDP)
	b.talk(ctx, pattern(7))
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := leg.Answer(actx); err != nil {
		t.Fatalf("answer: %v", err)
	}
}
