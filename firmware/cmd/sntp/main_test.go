package main

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// fakeServer answers SNTP requests with a clock skew ahead of ours.
func fakeServer(t *testing.T, skew time.Duration) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 128)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			resp := make([]byte, 48)
			resp[0] = 0<<6 | 4<<3 | 4 // server
			resp[1] = 2
			copy(resp[24:32], buf[40:48])
			now := ntpTime(time.Now().Add(skew))
			binary.BigEndian.PutUint64(resp[32:], now)
			binary.BigEndian.PutUint64(resp[40:], now)
			pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestQueryOffset(t *testing.T) {
	for _, skew := range []time.Duration{0, 90 * time.Second, -3 * time.Hour} {
		off, err := query(fakeServer(t, skew), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if d := off - skew; d > 50*time.Millisecond || d < -50*time.Millisecond {
			t.Errorf("skew %v: offset %v", skew, off)
		}
	}
}

func TestOffsetTriesTheNextServer(t *testing.T) {
	// Nothing listens on the first address: the second one answers.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	live := fakeServer(t, time.Minute)
	off, server, err := offset([]string{deadAddr, live}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if server != live || off < 59*time.Second || off > 61*time.Second {
		t.Errorf("got %v from %s, want about 1m from %s", off, server, live)
	}
}

func TestNTPTimeRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 4, 20, 30, 0, 123456789, time.UTC)
	if got := fromNTP(ntpTime(now)); got.Sub(now).Abs() > time.Microsecond {
		t.Errorf("round trip: %v, want %v", got, now)
	}
}
