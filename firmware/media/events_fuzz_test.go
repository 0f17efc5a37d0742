package media

import (
	"bytes"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// FuzzRTPEvents feeds a hostile peer's packet sequence (RTP audio, RFC
// 4733 telephone-events, RTCP, junk; each input is packets framed by a
// length byte) to a stream that negotiated telephone-event, with the
// events' end timers running under synctest: no panic, every digit
// reported is a DTMF key, no more digits than event packets, and none
// more after a long silence than the 1 s end timer allows.
func FuzzRTPEvents(f *testing.F) {
	frame := func(pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = append(b, byte(len(p)))
			b = append(b, p...)
		}
		return b
	}
	f.Add(frame(eventPacket(101, true, 1, 1000, 5, false, 160), eventPacket(101, false, 2, 1000, 5, true, 800),
		eventPacket(101, false, 3, 1000, 5, true, 800)), uint8(0))
	f.Add(frame(eventPacket(101, true, 1, 1000, 10, false, 400), eventPacket(101, true, 2, 3000, 11, true, 400),
		eventPacket(101, false, 3, 1000, 10, true, 400)), uint8(1))
	f.Add(frame(eventPacket(101, true, 1, 1000, 16, true, 400), eventPacket(101, true, 2, 1000, 255, false, 0)), uint8(0))
	f.Add(frame(rtpPacket(0, true, 7, 160, 9, bytes.Repeat([]byte{0xff}, 160)), eventPacket(101, true, 8, 320, 1, false, 65535)), uint8(0))
	f.Add(frame([]byte{0x80, 200, 0, 6, 0, 0, 0, 1}, []byte{0xb0, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0x80, 0, 1}), uint8(2))
	f.Add(frame([]byte{0x90, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0xff, 0xff, 3, 0x80, 0, 1}), uint8(1))
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	f.Fuzz(func(t *testing.T, data []byte, codec uint8) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, Config{})
			s := fakeStream(t, e)
			s.SetRemote(desc(from, []Codec{PCMU, PCMA, G722}[codec%3], &TelephoneEvent))
			events := 0
			for len(data) > 0 {
				n := min(int(data[0]), len(data)-1)
				pkt := bytes.Clone(data[1 : 1+n])
				data = data[1+n:]
				if len(pkt) > 1 && pkt[1]&0x7f == TelephoneEvent.PT {
					events++
				}
				s.receive(pkt, from)
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(2 * time.Second) // past the end timer of an event without end packets
			synctest.Wait()
			got := digits(s)
			if len(got) > events {
				t.Fatalf("%d digits from %d event packets: %v", len(got), events, got)
			}
			for _, d := range got {
				if _, ok := keyEvent(d.Key); !ok || d.Key != eventKeys[bytes.IndexByte([]byte(eventKeys), d.Key)] {
					t.Fatalf("digit %q is not a DTMF key", d.Key)
				}
			}
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if more := digits(s); len(more) > 0 {
				t.Fatalf("digits %v reported long after the last packet", more)
			}
		})
	})
}
