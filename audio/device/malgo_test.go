//go:build cgo && linux

package device

import (
	"testing"
	"time"
)

// TestNullDevice runs a real miniaudio duplex device on the null backend:
// frames arrive at the device's pace and playback is accepted.
func TestNullDevice(t *testing.T) {
	s, err := Open(Config{Null: true})
	if err != nil {
		t.Fatalf("open null device: %v", err)
	}
	defer s.Close()
	f := make([]int16, 160)
	start := time.Now()
	for range 10 {
		if err := s.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	// Ten 20 ms frames take about 200 ms of device time (less if the
	// device buffered ahead, never much more).
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("10 frames took %v, want about 200 ms", d)
	}
	s.Close()
	if err := s.ReadFrame(f); err != ErrClosed {
		t.Errorf("ReadFrame after Close = %v, want ErrClosed", err)
	}
}
