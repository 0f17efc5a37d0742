package pcm

import (
	"encoding/binary"
	"testing"

	"ringbox/board/line"
)

// TestSlotsDemux checks that channel i of the interleaved bus is slot i,
// both ways.
func TestSlotsDemux(t *testing.T) {
	const n, frames = 3, line.FrameSamples
	s := newSlots(n)
	in := make([]byte, 2*n*frames)
	for k := range frames {
		for i := range n {
			binary.LittleEndian.PutUint16(in[2*(k*n+i):], uint16(int16(100*(i+1)+k%7)))
		}
	}
	for i := range n {
		s.write(i, fill(frames, int16(-(i+1))))
	}
	out := make([]byte, len(in))
	s.process(out, in, frames)
	for i := range n {
		f := make([]int16, frames)
		if err := s.read(i, f); err != nil {
			t.Fatal(err)
		}
		if f[0] != int16(100*(i+1)) || f[8] != int16(100*(i+1)+1) {
			t.Errorf("slot %d heard %d %d, want channel %d's samples", i, f[0], f[8], i)
		}
		if v := int16(binary.LittleEndian.Uint16(out[2*(5*n+i):])); v != int16(-(i + 1)) {
			t.Errorf("channel %d played %d, want slot %d's %d", i, v, i, -(i + 1))
		}
	}
	// Nothing queued: silence, not the last frame again.
	s.process(out, in, frames)
	if v := binary.LittleEndian.Uint16(out[2:]); v != 0 {
		t.Errorf("underrun played %d, want silence", v)
	}
	if err := s.read(n, make([]int16, 1)); err == nil {
		t.Error("slot out of range accepted")
	}
	close(s.done)
	if err := s.read(0, make([]int16, frames)); err != line.ErrClosed {
		t.Errorf("read after close = %v, want ErrClosed", err)
	}
}

func fill(n int, v int16) []int16 {
	f := make([]int16, n)
	for i := range f {
		f[i] = v
	}
	return f
}

// BenchmarkProcess measures one 20 ms callback of an 8-slot bus.
func BenchmarkProcess(b *testing.B) {
	const n = 8
	s := newSlots(n)
	in, out := make([]byte, 2*n*line.FrameSamples), make([]byte, 2*n*line.FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		s.process(out, in, line.FrameSamples)
	}
}

func TestProcessNoAlloc(t *testing.T) {
	s := newSlots(4)
	in, out := make([]byte, 8*line.FrameSamples), make([]byte, 8*line.FrameSamples)
	if n := testing.AllocsPerRun(100, func() { s.process(out, in, line.FrameSamples) }); n != 0 {
		t.Errorf("process allocates %v times, want 0", n)
	}
}
