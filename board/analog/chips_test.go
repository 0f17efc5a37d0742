package analog

import (
	"context"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/hw"
	"ringbox/board/line"
	"ringbox/board/proslic"
	"ringbox/board/si3050"
	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// pcmBus is the PCM bus of the chips: paced by time, like the TDM clock;
// it keeps what the box sent on each slot.
type pcmBus struct {
	mu    sync.Mutex
	heard map[int][]int16
}

func (b *pcmBus) Slot(i int) line.Audio { return &pcmSlot{b, i} }
func (b *pcmBus) Close() error          { return nil }

func (b *pcmBus) last(i int, d time.Duration) []int16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.heard[i]
	n := int(d / (time.Second / 8000))
	return append([]int16(nil), h[max(0, len(h)-n):]...)
}

type pcmSlot struct {
	b *pcmBus
	i int
}

func (s *pcmSlot) ReadFrame(f []int16) error {
	time.Sleep(20 * time.Millisecond)
	clear(f)
	return nil
}

func (s *pcmSlot) WriteFrame(f []int16) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	h := append(s.b.heard[s.i], f...)
	if len(h) > 8000*5 {
		h = h[len(h)-8000*5:]
	}
	s.b.heard[s.i] = h
	return nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// The line engine over the real chip drivers, against their register-level
// fakes: the SLIC's loop-closure and ring-trip bits, linefeed writes, the
// DAA's ring detector, hook bit and line-voltage register.
func TestEngineOverChipDrivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slic, daa := proslic.NewFake(), si3050.NewFake()
		bus := &pcmBus{heard: map[int][]int16{}}
		ports, closer, err := hw.OpenLines([]hw.LineSpec{
			{Kind: line.FXS, N: 1, Chip: "si3215", SPI: "SPI0.0", Slot: 0},
			{Kind: line.FXO, N: 1, Chip: "si3050", SPI: "SPI0.1", Slot: 1},
		}, hw.PCMSpec{Channels: 2}, hw.LineOptions{RingHz: 20},
			func(name string) (spi.Conn, io.Closer, error) {
				if name == "SPI0.0" {
					return slic, nopCloser{}, nil
				}
				return daa, nopCloser{}, nil
			},
			func(hw.PCMSpec) (hw.Slots, error) { return bus, nil })
		if err != nil {
			t.Fatal(err)
		}
		defer closer.Close()
		s := testSite("us")
		calls := make(chan placed, 4)
		e := New(Config{Ports: ports, Site: func() *site.Site { return s },
			Handle: func(ctx context.Context, in call.Leg, info CallInfo) {
				calls <- placed{in, info}
				<-in.Done()
			}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		time.Sleep(100 * time.Millisecond)

		// Off hook: the SLIC's loop closure gives dial tone on the slot.
		slic.SetOffHook(true)
		time.Sleep(500 * time.Millisecond)
		if !hears(bus.last(0, 300*time.Millisecond), 350, 440) {
			t.Fatal("no dial tone on the FXS slot after the loop closed")
		}
		// Rotary dial "101": breaks of 60 ms, makes of 40 ms.
		for _, n := range []int{1, 10, 1} {
			for range n {
				slic.SetOffHook(false)
				time.Sleep(60 * time.Millisecond)
				slic.SetOffHook(true)
				time.Sleep(40 * time.Millisecond)
			}
			time.Sleep(700 * time.Millisecond)
		}
		var p placed
		select {
		case p = <-calls:
		case <-time.After(5 * time.Second):
			t.Fatal("pulse dialling through the SLIC placed no call")
		}
		if p.info.To != "101" {
			t.Fatalf("dialled %q through the SLIC, want 101", p.info.To)
		}
		answer(t, p.leg)
		time.Sleep(100 * time.Millisecond)
		if slic.Feed() != line.FeedReverse {
			t.Errorf("SLIC feed %v after the far end answered, want reverse", slic.Feed())
		}
		slic.SetOffHook(false)
		select {
		case <-p.leg.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("hanging up did not end the call")
		}
		time.Sleep(time.Second)

		// Ringing: the linefeed goes to ringing per the us cadence, and
		// the ring trip answers.
		rctx, rcancel := context.WithCancel(context.Background())
		defer rcancel()
		leg, err := e.Dialer(nil).Dial(rctx, call.Target{Kind: call.TargetFXS, Number: "1", From: call.Party{Number: "101"}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if !slic.Ringing() {
			t.Fatal("the SLIC is not ringing 1 s into the first ring")
		}
		time.Sleep(2 * time.Second)
		if slic.Ringing() {
			t.Fatal("the SLIC still rings in the pause")
		}
		time.Sleep(3500 * time.Millisecond) // into the second ring
		slic.SetOffHook(true)
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		defer acancel()
		if err := leg.Answer(actx); err != nil {
			t.Fatalf("ring trip did not answer: %v", err)
		}
		if slic.Ringing() {
			t.Error("still ringing after the ring trip")
		}
		leg.Hangup(call.Normal)
		slic.SetOffHook(false)
		time.Sleep(2 * time.Second)

		// FXO: the DAA's ring detector; routed at the second ring (no
		// caller ID), answered by taking the line off hook; a polarity
		// reversal from the exchange ends it.
		daa.SetBattery(48)
		for range 2 {
			daa.Ring(true)
			time.Sleep(2 * time.Second)
			daa.Ring(false)
			time.Sleep(4 * time.Second)
		}
		select {
		case p = <-calls:
		case <-time.After(time.Second):
			t.Fatal("the DAA's ringing placed no call")
		}
		if p.info.Trunk != "pstn" || p.info.DID != "fxo:1" {
			t.Fatalf("call from the DAA %+v", p.info)
		}
		answer(t, p.leg)
		if !daa.OffHook() {
			t.Fatal("answering did not set the DAA off hook")
		}
		daa.ReversePolarity()
		select {
		case <-p.leg.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("the exchange's polarity reversal did not end the call")
		}
		time.Sleep(200 * time.Millisecond)
		if daa.OffHook() {
			t.Error("the DAA still holds the line")
		}
	})
}
