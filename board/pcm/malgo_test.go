//go:build cgo && linux

package pcm

import (
	"sync"
	"testing"
	"time"

	"ringbox/board/line"
)

// TestNullBus runs a real miniaudio duplex device with four channels on
// the null backend: frames flow on every slot at the bus's pace.
func TestNullBus(t *testing.T) {
	b, err := Open(Config{Channels: 4, Null: true})
	if err != nil {
		t.Fatalf("open null bus: %v", err)
	}
	defer b.Close()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			a := b.Slot(i)
			f := make([]int16, line.FrameSamples)
			for range 5 {
				if err := a.ReadFrame(f); err != nil {
					errs[i] = err
					return
				}
				a.WriteFrame(f)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("slot %d: %v", i, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("5 frames took %v, want about 100 ms", d)
	}
	b.Close()
	if err := b.Slot(0).ReadFrame(make([]int16, line.FrameSamples)); err != line.ErrClosed {
		t.Errorf("ReadFrame after Close = %v, want ErrClosed", err)
	}
}
