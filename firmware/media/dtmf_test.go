package media

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
)

// fakeStream is a stream without sockets, for logic tests under synctest.
func fakeStream(t *testing.T, e *Engine) *Stream {
	s := e.newStream(0, netip.AddrPortFrom(loopback, 10000), nil, nil)
	t.Cleanup(s.Close)
	return s
}

func digits(s *Stream) []call.Digit {
	var got []call.Digit
	for {
		select {
		case d := <-s.Digits():
			got = append(got, d)
		default:
			return got
		}
	}
}

func TestDTMFReceive(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	type pkt struct {
		after time.Duration // since the previous packet
		ts    uint32
		event uint8
		end   bool
		dur   uint16
	}
	tests := []struct {
		name string
		pkts []pkt
		want []call.Digit
		wait time.Duration // after the last packet
	}{
		{
			name: "start, updates, three ends",
			pkts: []pkt{
				{0, 1000, 5, false, 160}, {50 * time.Millisecond, 1000, 5, false, 560},
				{50 * time.Millisecond, 1000, 5, false, 960}, {20 * time.Millisecond, 1000, 5, true, 1120},
				{0, 1000, 5, true, 1120}, {0, 1000, 5, true, 1120},
			},
			want: []call.Digit{{Key: '5', Duration: 140 * time.Millisecond}},
		},
		{
			name: "late retransmitted end after the next digit started",
			pkts: []pkt{
				{0, 1000, 1, true, 800}, {100 * time.Millisecond, 3000, 2, false, 160},
				{0, 1000, 1, true, 800}, {20 * time.Millisecond, 3000, 2, true, 800},
			},
			want: []call.Digit{{Key: '1', Duration: 100 * time.Millisecond}, {Key: '2', Duration: 100 * time.Millisecond}},
		},
		{
			name: "same key twice is two digits",
			pkts: []pkt{
				{0, 1000, 9, true, 400}, {0, 1000, 9, true, 400}, {200 * time.Millisecond, 4000, 9, true, 400},
			},
			want: []call.Digit{{Key: '9', Duration: 50 * time.Millisecond}, {Key: '9', Duration: 50 * time.Millisecond}},
		},
		{
			name: "end packets lost: reported on the next event",
			pkts: []pkt{{0, 1000, 10, false, 400}, {100 * time.Millisecond, 3000, 11, true, 400}},
			want: []call.Digit{{Key: '*', Duration: 50 * time.Millisecond}, {Key: '#', Duration: 50 * time.Millisecond}},
		},
		{
			name: "end packets lost: reported after 1 s",
			pkts: []pkt{{0, 1000, 0, false, 400}, {50 * time.Millisecond, 1000, 0, false, 800}},
			want: []call.Digit{{Key: '0', Duration: 100 * time.Millisecond}},
			wait: 1100 * time.Millisecond,
		},
		{
			name: "flash is not a digit",
			pkts: []pkt{{0, 1000, 16, true, 400}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, Config{})
				s := fakeStream(t, e)
				s.SetRemote(pcmu(from))
				for i, p := range tt.pkts {
					time.Sleep(p.after)
					s.receive(eventPacket(101, i == 0, uint16(i), p.ts, p.event, p.end, p.dur), from)
				}
				got := digits(s)
				if tt.wait == 0 && len(got) != len(tt.want) {
					t.Fatalf("digits at once = %v, want %v", got, tt.want)
				}
				time.Sleep(tt.wait)
				synctest.Wait()
				// Nothing more after a long quiet time.
				time.Sleep(3 * time.Second)
				synctest.Wait()
				got = append(got, digits(s)...)
				if len(got) != len(tt.want) {
					t.Fatalf("digits = %v, want %v", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("digit %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
			})
		})
	}
}

// TestDTMFTimeoutWaitsForLastPacket: the 1 s counts from the last packet,
// not the first.
func TestDTMFTimeoutWaitsForLastPacket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		from := netip.MustParseAddrPort("127.0.0.1:5004")
		e := newEngine(t, Config{})
		s := fakeStream(t, e)
		s.SetRemote(pcmu(from))
		start := time.Now()
		for i := range 30 { // a 1.5 s key press without end packets
			s.receive(eventPacket(101, i == 0, uint16(i), 1000, 3, false, uint16(400*(i+1))), from)
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case d := <-s.Digits():
			t.Fatalf("digit %+v reported while the key was still down", d)
		default:
		}
		d := <-s.Digits()
		if el := time.Since(start); el != 2450*time.Millisecond {
			t.Errorf("reported after %v, want 1 s after the last packet (2.45s)", el)
		}
		if d.Key != '3' || d.Duration != 1500*time.Millisecond {
			t.Errorf("digit = %+v, want 3 for 1.5s", d)
		}
	})
}

func TestSendDigit(t *testing.T) {
	e := newEngine(t, Config{})
	s := open(t, e)
	p := newPeer(t)
	te := Codec{Name: "telephone-event", PT: 96, Clock: 8000}
	s.SetRemote(desc(p.addr(), PCMU, &te))
	start := time.Now()
	if err := s.SendDigit('#', 120*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("SendDigit returned after %v, want about the digit's duration", d)
	}
	var pkts [][]byte
	for {
		b := p.recv(100 * time.Millisecond)
		if b == nil {
			break
		}
		pkts = append(pkts, b)
	}
	// Updates at 0, 50, 100 ms, then three end packets.
	if len(pkts) != 6 {
		t.Fatalf("got %d packets, want 3 updates + 3 ends", len(pkts))
	}
	first := parseHeader(pkts[0])
	var lastDur uint16
	for i, b := range pkts {
		h := parseHeader(b)
		if h.pt != 96 || h.ts != first.ts || h.seq != first.seq+uint16(i) || h.marker != (i == 0) || len(b) != 16 {
			t.Errorf("packet %d = %+v, want PT 96, ts %d, seq %d, marker only first", i, h, first.ts, first.seq+uint16(i))
		}
		ev, end, dur := b[12], b[13]&0x80 != 0, binary.BigEndian.Uint16(b[14:])
		if ev != 11 || end != (i >= 3) || dur < lastDur {
			t.Errorf("packet %d: event %d end %v duration %d", i, ev, end, dur)
		}
		lastDur = dur
	}
	if lastDur != 960 {
		t.Errorf("final duration %d, want 960 (120 ms)", lastDur)
	}
	if err := s.SendDigit('x', time.Second); err == nil {
		t.Error("SendDigit('x') succeeded")
	}
}

func TestSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, Config{Timeout: 10 * time.Second})
		runEngine(t, e)
		from := netip.MustParseAddrPort("127.0.0.1:5004")
		idle, talking, held, unarmed := fakeStream(t, e), fakeStream(t, e), fakeStream(t, e), fakeStream(t, e)
		for _, s := range []*Stream{idle, talking, held} {
			s.SetRemote(pcmu(from))
			s.arm()
		}
		h := pcmu(from)
		h.Direction = "sendonly"
		held.SetRemote(h)
		start := time.Now()
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Second):
					talking.receive(rtpPacket(0, false, 1, 1, 1, make([]byte, 160)), from)
				}
			}
		}()
		<-idle.Timeout()
		defer close(done)
		if d := time.Since(start); d < 10*time.Second || d > 11*time.Second {
			t.Errorf("idle stream timed out after %v, want 10-11 s", d)
		}
		time.Sleep(time.Minute)
		for name, s := range map[string]*Stream{"talking": talking, "held": held, "not started": unarmed} {
			select {
			case <-s.Timeout():
				t.Errorf("%s stream timed out", name)
			default:
			}
		}
		// Off hold: counted again, from the resume.
		held.SetRemote(pcmu(from))
		resumed := time.Now()
		<-held.Timeout()
		if d := time.Since(resumed); d < 10*time.Second || d > 11*time.Second {
			t.Errorf("resumed stream timed out after %v, want 10-11 s", d)
		}
	})
}

// TestTimeoutRealSockets: a bridged call whose phones stop sending ends
// with ErrTimeout.
func TestTimeoutRealSockets(t *testing.T) {
	e := newEngine(t, Config{Timeout: 200 * time.Millisecond})
	runEngine(t, e)
	_, _, _, _, done := bridged(t, e, pcmu, pcmu)
	select {
	case err := <-done:
		if call.CauseOf(err) != call.MediaTimeout {
			t.Errorf("Bridge = %v, want media timeout", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no timeout")
	}
}
