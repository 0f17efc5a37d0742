package webrtc

import (
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"
)

func TestDigitEventPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type sent struct {
			at     time.Duration
			marker bool
			end    bool
			ev     byte
			dur    uint16
		}
		var got []sent
		start := time.Now()
		err := digitEvent(nil, '#', 120*time.Millisecond, func(pkt []byte) error {
			got = append(got, sent{time.Since(start), pkt[1]&0x80 != 0, pkt[13]&0x80 != 0, pkt[12], binary.BigEndian.Uint16(pkt[14:])})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ms := time.Millisecond
		want := []sent{
			{0, true, false, 11, 400},
			{50 * ms, false, false, 11, 800},
			{100 * ms, false, false, 11, 960}, // capped at the event's 120 ms
			{150 * ms, false, true, 11, 960},
			{150 * ms, false, true, 11, 960},
			{150 * ms, false, true, 11, 960},
		}
		if len(got) != len(want) {
			t.Fatalf("sent %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("packet %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

func TestDigitEventStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		n := 0
		done := make(chan error)
		go func() {
			done <- digitEvent(stop, '1', time.Second, func([]byte) error { n++; return nil })
		}()
		time.Sleep(110 * time.Millisecond)
		close(stop)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("%d packets before the leg ended, want 3 (0, 50, 100 ms)", n)
		}
	})
	if err := digitEvent(nil, 'x', time.Second, nil); err == nil {
		t.Fatal("'x' accepted as a key")
	}
}
