package hw

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/line"
	"ringbox/board/proslic"
	"ringbox/board/si3050"
)

// testBoard is two FXS chips and a DAA on three SPI devices, and a PCM
// bus, all fakes.
type testBoard struct {
	fxs1, fxs2 *proslic.Fake
	fxo        *si3050.Fake
	opened     map[string]int
	closed     map[string]bool
	bus        *fakeSlots
}

func newTestBoard() *testBoard {
	return &testBoard{
		fxs1: proslic.NewFake(), fxs2: proslic.NewFake(), fxo: si3050.NewFake(),
		opened: map[string]int{}, closed: map[string]bool{},
	}
}

func (b *testBoard) spiOpen(name string) (spi.Conn, io.Closer, error) {
	devs := map[string]spi.Conn{"SPI0.0": b.fxs1, "SPI0.1": b.fxs2, "SPI0.2": b.fxo}
	d, ok := devs[name]
	if !ok {
		return nil, nil, errors.New("no such device")
	}
	b.opened[name]++
	return d, closerFunc(func() error { b.closed[name] = true; return nil }), nil
}

func (b *testBoard) openBus(PCMSpec) (Slots, error) {
	b.bus = &fakeSlots{}
	return b.bus, nil
}

type fakeSlots struct{ closed bool }

func (s *fakeSlots) Slot(i int) line.Audio { return slotAudio(i) }
func (s *fakeSlots) Close() error          { s.closed = true; return nil }

type slotAudio int

func (slotAudio) ReadFrame([]int16) error  { return nil }
func (slotAudio) WriteFrame([]int16) error { return nil }

var specs = []LineSpec{
	{Kind: line.FXS, N: 1, Chip: "si3215", SPI: "SPI0.0", Slot: 0},
	{Kind: line.FXS, N: 2, Chip: "si3215", SPI: "SPI0.1", Slot: 1},
	{Kind: line.FXO, N: 1, Chip: "si3050", SPI: "SPI0.2", Slot: 2},
}

func TestOpenLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTestBoard()
		ports, closer, err := OpenLines(specs, PCMSpec{Channels: 4}, LineOptions{RingHz: 25}, b.spiOpen, b.openBus)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range ports {
			names = append(names, line.Name(p))
		}
		if got := strings.Join(names, " "); got != "fxs:1 fxs:2 fxo:1" {
			t.Errorf("ports %s, want fxs:1 fxs:2 fxo:1 (spec order)", got)
		}
		if a := ports[2].Audio(); a != slotAudio(2) {
			t.Errorf("fxo:1 audio is %v, want PCM slot 2", a)
		}
		for name, n := range b.opened {
			if n != 1 {
				t.Errorf("%s opened %d times", name, n)
			}
		}
		// The ports work: a phone lifted on fxs:2, the line seized on fxo:1.
		b.fxs2.SetOffHook(true)
		if ev := <-ports[1].Events(); ev.Type != line.OffHook {
			t.Errorf("fxs:2 event %v, want off_hook", ev.Type)
		}
		if err := ports[2].(line.FXOPort).SetHook(true); err != nil || !b.fxo.OffHook() {
			t.Errorf("SetHook(true) = %v, seized %v", err, b.fxo.OffHook())
		}
		// 25 Hz ringing: the Si3215's ring oscillator coefficient.
		if rco := b.fxs1.Indirect(7); rco != 0x7e6d {
			t.Errorf("ring coefficient 0x%04x, want 0x7e6d (25 Hz)", rco)
		}
		// 25 Hz means Europe: the DAA got the CTR21 DC termination.
		ctr21 := false
		for _, w := range b.fxo.Writes() {
			if w == (si3050.Write{Reg: 26, Val: 0xc2}) {
				ctr21 = true
			}
		}
		if !ctr21 {
			t.Error("the DAA was not set up for CTR21")
		}

		if err := closer.Close(); err != nil {
			t.Fatal(err)
		}
		if b.fxs1.Feed() != line.FeedOpen || b.fxs2.Feed() != line.FeedOpen || b.fxo.OffHook() {
			t.Error("a port is still live after Close")
		}
		if len(b.closed) != 3 || !b.bus.closed {
			t.Errorf("closed SPI %v, bus %v; want all", b.closed, b.bus.closed)
		}
	})
}

func TestOpenLinesErrors(t *testing.T) {
	bad := func(i int, f func(*LineSpec)) []LineSpec {
		s := append([]LineSpec(nil), specs...)
		f(&s[i])
		return s
	}
	tests := []struct {
		name  string
		specs []LineSpec
		want  string
	}{
		{"unknown chip", bad(1, func(s *LineSpec) { s.Chip = "si9999" }), "fxs:2: si9999 on SPI0.1: unknown chip"},
		{"wrong kind", bad(2, func(s *LineSpec) { s.Chip = "si3215" }), "fxo:1: si3215 on SPI0.2"},
		{"no device", bad(2, func(s *LineSpec) { s.SPI = "SPI9.9" }), "fxo:1: si3050 on SPI9.9: no such device"},
		{"slot", bad(0, func(s *LineSpec) { s.Slot = 7 }), "fxs:1: PCM slot 7"},
		{"shared", bad(1, func(s *LineSpec) { s.SPI = "SPI0.0" }), "already used by fxs:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newTestBoard()
				_, _, err := OpenLines(tt.specs, PCMSpec{Channels: 4}, LineOptions{}, b.spiOpen, b.openBus)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("OpenLines = %v, want an error containing %q", err, tt.want)
				}
				// What was opened is closed again.
				for name := range b.opened {
					if !b.closed[name] {
						t.Errorf("%s left open", name)
					}
				}
				if b.bus != nil && !b.bus.closed {
					t.Error("PCM bus left open")
				}
				if b.opened["SPI0.0"] > 0 && b.fxs1.Feed() != line.FeedOpen {
					t.Error("fxs:1 left powered")
				}
			})
		})
	}
}
