package moh

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/g711"
)

// numbered is a track whose sample i is base+i (mod 30000), so a frame
// tells where in which track it comes from.
func numbered(base, n int) Track {
	t := Track{PCM8k: make([]int16, n), PCM16k: make([]int16, 2*n)}
	for i := range n {
		t.PCM8k[i] = int16((base + i) % 30000)
		t.PCM16k[2*i] = int16((base + i) % 30000)
		t.PCM16k[2*i+1] = -1
	}
	return t
}

func read(t *testing.T, l *Listener, n int) []int16 {
	t.Helper()
	f := make([]int16, n)
	if !l.ReadFrame(f) {
		t.Fatal("ReadFrame = false, want a frame")
	}
	return f
}

func TestLoopsThroughTracks(t *testing.T) {
	h := New()
	h.SetClass("default", []Track{numbered(0, 400), numbered(10000, 250)})
	l, err := h.Listen("default", 8000)
	if err != nil {
		t.Fatal(err)
	}
	var got []int16
	for range 12 {
		h.Tick()
		got = append(got, read(t, l, Frame8k)...)
	}
	// Listen rendered frame 0 (for a read before the first tick); the
	// ticks then play on from frame 1.
	var want []int16
	for len(want) < len(got)+Frame8k {
		want = append(want, numbered(0, 400).PCM8k...)
		want = append(want, numbered(10000, 250).PCM8k...)
	}
	if want = want[Frame8k:]; !slices.Equal(got, want[:len(got)]) {
		t.Errorf("stream is not track 1 then track 2, looping: first differing frame %d", firstDiff(got, want)/Frame8k)
	}
}

func firstDiff(a, b []int16) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestLateJoinerHearsLiveStream(t *testing.T) {
	h := New()
	h.SetClass("c", []Track{numbered(0, 8000)})
	early, _ := h.Listen("c", 8000)
	read(t, early, Frame8k)
	for range 10 {
		h.Tick()
		read(t, early, Frame8k)
	}
	late, _ := h.Listen("c", 8000)
	for range 5 {
		h.Tick()
		a, b := read(t, early, Frame8k), read(t, late, Frame8k)
		if !slices.Equal(a, b) {
			t.Fatalf("late listener hears sample %d, early one %d: want the same live frame", b[0], a[0])
		}
	}
	if got := read(t, late, Frame8k)[0]; got < 10*Frame8k {
		t.Errorf("late listener started at sample %d, want the live position", got)
	}
}

func TestSplice(t *testing.T) {
	h := New()
	h.SetClass("c", []Track{numbered(0, 8000)})
	a, _ := h.Listen("c", 8000)
	b, _ := h.Listen("c", 8000)
	clip := slices.Repeat([]int16{7777}, 2*Frame8k+40)
	a.Splice(clip)
	for i := range 6 {
		h.Tick()
		fa, fb := read(t, a, Frame8k), read(t, b, Frame8k)
		switch {
		case i < 2 && !slices.Equal(fa, clip[:Frame8k]):
			t.Errorf("frame %d: spliced listener hears %d, want the clip", i, fa[0])
		case i == 2 && (fa[0] != 7777 || fa[40] != 0):
			t.Errorf("frame 2: want the clip's last 40 samples then silence, got %d…%d", fa[0], fa[40])
		case i > 2 && !slices.Equal(fa, fb):
			t.Errorf("frame %d: after the clip, spliced listener hears %d, the live stream is at %d", i, fa[0], fb[0])
		}
		if i < 2 && fb[0] == 7777 {
			t.Error("the splice leaked to another listener")
		}
	}
	if a.Splicing() {
		t.Error("Splicing() = true after the clip ended")
	}
}

func TestG711SharedFrames(t *testing.T) {
	h := New()
	h.SetClass("c", []Track{numbered(0, 8000)})
	p, _ := h.Listen("c", 8000)
	u, _ := h.Listen("c", 8000)
	a, _ := h.Listen("c", 8000)
	for range 3 {
		h.Tick()
		pcm := read(t, p, Frame8k)
		ub, ab := make([]byte, Frame8k), make([]byte, Frame8k)
		u.ReadULaw(ub)
		a.ReadALaw(ab)
		wu, wa := make([]byte, Frame8k), make([]byte, Frame8k)
		g711.EncodeUlaw(wu, pcm)
		g711.EncodeAlaw(wa, pcm)
		if !slices.Equal(ub, wu) || !slices.Equal(ab, wa) {
			t.Fatal("G.711 frames differ from encoding the PCM frame")
		}
	}
	// A splice to a G.711 listener is encoded for it.
	u.Splice(slices.Repeat([]int16{1000}, Frame8k))
	h.Tick()
	ub := make([]byte, Frame8k)
	u.ReadULaw(ub)
	if ub[0] != g711.EncodeUlawSample(1000) {
		t.Errorf("spliced µ-law = %#x, want %#x", ub[0], g711.EncodeUlawSample(1000))
	}
}

func TestWideband(t *testing.T) {
	h := New()
	h.SetClass("c", []Track{numbered(0, 8000)})
	l, _ := h.Listen("c", 16000)
	f := read(t, l, Frame16k)
	if f[0] != 0 || f[1] != -1 || f[2] != 1 || f[Frame16k-2] != Frame8k-1 {
		t.Errorf("16 kHz frame %v…, want the 16 kHz track", f[:4])
	}
}

func TestClockDrift(t *testing.T) {
	h := New()
	h.SetClass("c", []Track{numbered(0, 8000)})
	l, _ := h.Listen("c", 8000)
	h.Tick()
	first := read(t, l, Frame8k)[0]
	second := read(t, l, Frame8k)[0] // ahead of the hub: newest again
	h.Tick()
	third := read(t, l, Frame8k)[0]
	if first != Frame8k || second != first || third != first+Frame8k {
		t.Errorf("reads %d, %d, %d; want frame 1, frame 1 again (read ahead of the hub), frame 2", first, second, third)
	}
	for range 40 {
		h.Tick()
	}
	if got := read(t, l, Frame8k)[0]; got != 42*Frame8k {
		t.Errorf("after falling 40 frames behind, read sample %d, want the newest (%d)", got, 42*Frame8k)
	}
}

func TestEnds(t *testing.T) {
	h := New()
	if _, err := h.Listen("nope", 8000); !errors.Is(err, ErrUnknownClass) {
		t.Errorf("Listen(unknown) = %v, want ErrUnknownClass", err)
	}
	h.SetClass("a", []Track{numbered(0, 100)})
	h.SetClass("b", nil) // no tracks: silence
	la, _ := h.Listen("a", 8000)
	lb, _ := h.Listen("b", 8000)
	if f := read(t, lb, Frame8k); slices.ContainsFunc(f, func(s int16) bool { return s != 0 }) {
		t.Error("a class without tracks is not silent")
	}
	lb.Close()
	if lb.ReadFrame(make([]int16, Frame8k)) {
		t.Error("closed listener still reads")
	}
	h.RemoveClass("a")
	if la.ReadFrame(make([]int16, Frame8k)) {
		t.Error("listener of a removed class still reads")
	}
	h.SetClass("c", nil)
	lc, _ := h.Listen("c", 8000)
	h.Close()
	if lc.ReadFrame(make([]int16, Frame8k)) {
		t.Error("listener still reads after the hub closed")
	}
}

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New()
		h.SetClass("c", []Track{numbered(0, 20000)})
		l, _ := h.Listen("c", 8000)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.Run(ctx) }()
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		var got int16
		for range 60 { // drain to the newest frame
			got = read(t, l, Frame8k)[0]
		}
		if got != 50*Frame8k {
			t.Errorf("after 1 s the stream is at sample %d, want %d (50 ticks)", got, 50*Frame8k)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		if l.ReadFrame(make([]int16, Frame8k)) {
			t.Error("listener still reads after Run returned")
		}
	})
}

// TestRunIdle: with no one listening Run does not tick, yet a listener
// who comes later hears the stream where it would be had it played on;
// when the last one leaves the ticking stops again.
func TestRunIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New()
		h.SetClass("c", []Track{numbered(0, 8000*60), numbered(20000, 100)})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go h.Run(ctx)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := h.ticks.Load(); n != 0 {
			t.Errorf("%d ticks in 10 s with no listener, want none", n)
		}
		l, _ := h.Listen("c", 8000)
		if got := read(t, l, Frame8k)[0]; got != int16(500*Frame8k%30000) {
			t.Errorf("after 10 s idle the listener starts at sample %d, want %d (500 frames on)", got, 500*Frame8k%30000)
		}
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		var got int16
		for range 60 { // drain to the newest frame
			got = read(t, l, Frame8k)[0]
		}
		if want := int16(550 * Frame8k % 30000); got != want {
			t.Errorf("1 s later the stream is at sample %d, want %d", got, want)
		}
		l.Close()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		n := h.ticks.Load()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if d := h.ticks.Load() - n; d != 0 {
			t.Errorf("%d ticks in 10 s after the last listener left, want none", d)
		}
		// Catching up crosses track boundaries: 80 s idle is past the end
		// of the 60 s track and the 100-sample one, into the first again.
		// Frames so far: 500 skipped, 1 rendered for the listener, 50
		// ticks, 1 tick before the pause, then 80.081 s idle = 4004.
		time.Sleep(70 * time.Second)
		l, _ = h.Listen("c", 8000)
		pos := (500 + 1 + 50 + 1 + 4004) * Frame8k % (8000*60 + 100)
		want := int16(pos % 30000)
		if pos >= 8000*60 {
			want = int16(20000 + pos - 8000*60)
		}
		if got := read(t, l, Frame8k)[0]; got != want {
			t.Errorf("after a long pause the listener starts at sample %d, want %d", got, want)
		}
	})
}

func TestNoAllocs(t *testing.T) {
	h := New()
	h.SetClass("c", []Track{numbered(0, 8000), numbered(0, 100)})
	l, _ := h.Listen("c", 8000)
	f, b := make([]int16, Frame8k), make([]byte, Frame8k)
	if n := testing.AllocsPerRun(200, func() {
		h.Tick()
		l.ReadFrame(f)
		l.ReadULaw(b)
	}); n != 0 {
		t.Errorf("a tick and two reads allocate %.1f times", n)
	}
}

// BenchmarkTick1000 measures one 20 ms tick of one class with 1,000
// listeners each reading its µ-law frame: the CPU music on hold costs per
// tick. The target is 3 ms (15% of one core).
func BenchmarkTick1000(b *testing.B) {
	h := New()
	h.SetClass("default", []Track{numbered(0, 80000)})
	ls := make([]*Listener, 1000)
	for i := range ls {
		ls[i], _ = h.Listen("default", 8000)
	}
	buf := make([]byte, Frame8k)
	b.ReportAllocs()
	for b.Loop() {
		h.Tick()
		for _, l := range ls {
			l.ReadULaw(buf)
		}
	}
}
