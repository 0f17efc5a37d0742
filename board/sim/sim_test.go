package sim

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/dtmf"
	"ringbox/board"
	"ringbox/board/line"
)

const ms = time.Millisecond

func TestPressAndLED(t *testing.T) {
	b := New(Options{Buttons: 2, QueueLEDs: 3})
	defer b.Close()
	events := b.Events(t.Context())
	if err := b.Press(3, board.Short); err == nil {
		t.Error("pressing a button the board lacks succeeded")
	}
	if err := b.Press(2, board.Long); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Button != 2 || ev.Kind != board.Long {
		t.Errorf("event %+v, want button 2 long", ev)
	}
	if err := b.PressService(); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Button != 0 || ev.Kind != board.Service {
		t.Errorf("event %+v, want the service button", ev)
	}
	b.LED(1).Set(board.SlowBlink)
	if got := b.LED(1).Get(); got != board.SlowBlink {
		t.Errorf("LED 1 = %v", got)
	}
	if b.LED(0) != nil || b.LED(3) != nil {
		t.Error("LED out of range is not nil")
	}
	if b.QueueLEDs() != 3 || b.QueueLED(3) == nil || b.QueueLED(4) != nil {
		t.Errorf("queue LEDs: %d, 3: %v, 4: %v", b.QueueLEDs(), b.QueueLED(3), b.QueueLED(4))
	}
	b.QueueLED(2).Set(board.DoubleBlink)
	if got := b.QueueLED(2).Get(); got != board.DoubleBlink {
		t.Errorf("queue LED 2 = %v", got)
	}
}

func TestLinesAndZone(t *testing.T) {
	b := New(Options{FXS: 2, FXO: 1, Zone: "de"})
	defer b.Close()
	var names []string
	for _, p := range b.Lines() {
		names = append(names, line.Name(p))
	}
	if want := []string{"fxs:1", "fxs:2", "fxo:1"}; !slices.Equal(names, want) {
		t.Errorf("lines %v, want %v", names, want)
	}
	if _, ok := b.Lines()[0].(line.FXSPort); !ok {
		t.Error("fxs:1 is not an FXSPort")
	}
	if _, ok := b.Lines()[2].(line.FXOPort); !ok {
		t.Error("fxo:1 is not an FXOPort")
	}
	if b.Phone(3) != nil || b.Exchange(2) != nil || b.Phone(0) != nil {
		t.Error("a device the board lacks is not nil")
	}
	if b.Zone() != "de" {
		t.Errorf("zone %q", b.Zone())
	}
	if z := New(Options{Zone: "xx"}).Zone(); z != "us" {
		t.Errorf("unknown zone gave %q, want us", z)
	}
}

// edge is an event as a test checks it: its type and when, after start.
type edge struct {
	Type line.EvType
	At   time.Duration
}

func drain(p line.Port, start time.Time) []edge {
	var out []edge
	for {
		select {
		case ev := <-p.Events():
			out = append(out, edge{ev.Type, ev.At.Sub(start)})
		default:
			return out
		}
	}
}

func TestPulseDialing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXS: 1})
		defer b.Close()
		ph, port := b.Phone(1), b.Lines()[0]
		if err := ph.DialPulse("2"); !errors.Is(err, ErrOnHook) {
			t.Errorf("dialling on hook: %v, want ErrOnHook", err)
		}
		ph.Lift()
		start := time.Now()
		drain(port, start)
		if err := ph.DialPulse("20"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 1900*ms {
			t.Errorf("dialling 20 took %v, want 1.9s (2 + 10 pulses of 100 ms, 700 ms between)", d)
		}
		want := []edge{{line.OnHook, 0}, {line.OffHook, 60 * ms}, {line.OnHook, 100 * ms}, {line.OffHook, 160 * ms}}
		for i := range 10 {
			at := 900*ms + time.Duration(i)*100*ms
			want = append(want, edge{line.OnHook, at}, edge{line.OffHook, at + 60*ms})
		}
		if got := drain(port, start); !slices.Equal(got, want) {
			t.Errorf("edges\n got %v\nwant %v", got, want)
		}
		if err := ph.DialPulse("1*"); err == nil {
			t.Error("pulse-dialling * succeeded")
		}
	})
}

func TestFlash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXS: 1})
		defer b.Close()
		ph, port := b.Phone(1), b.Lines()[0]
		ph.Lift()
		start := time.Now()
		drain(port, start)
		ph.Flash()
		want := []edge{{line.OnHook, 0}, {line.OffHook, 300 * ms}}
		if got := drain(port, start); !slices.Equal(got, want) {
			t.Errorf("flash: %v, want %v", got, want)
		}
	})
}

// listen reads a port's audio like the engine does, until the board
// closes, and returns what it heard.
func listen(t *testing.T, b *Board, p line.Port) (stop func() []int16) {
	var (
		mu    sync.Mutex
		heard []int16
	)
	done := make(chan struct{})
	a := p.Audio()
	go func() {
		defer close(done)
		f := make([]int16, line.FrameSamples)
		for a.ReadFrame(f) == nil {
			mu.Lock()
			heard = append(heard, f...)
			mu.Unlock()
		}
	}()
	return func() []int16 {
		b.Close()
		<-done
		return heard
	}
}

func TestDTMFDialing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXS: 1})
		ph, port := b.Phone(1), b.Lines()[0]
		ph.Lift()
		stop := listen(t, b, port)
		time.Sleep(100 * ms)
		start := time.Now()
		if err := ph.DialDTMF("123#*0D"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 7*160*ms {
			t.Errorf("dialling 7 keys took %v, want %v", d, 7*160*ms)
		}
		time.Sleep(100 * ms)
		heard := stop()
		var got []byte
		det := dtmf.NewDetector()
		for f := range slices.Chunk(heard, line.FrameSamples) {
			got = append(got, det.Feed(f)...)
		}
		if string(got) != "123#*0D" {
			t.Errorf("the port heard %q, want 123#*0D", got)
		}
	})
}

func TestPhoneOnHookAudio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXS: 1})
		defer b.Close()
		ph := b.Phone(1)
		port := b.Lines()[0].(line.FXSPort)
		a := port.Audio()
		cid := []int16{1000, -1000, 2000}
		port.Ring(true)
		time.Sleep(2 * time.Second)
		port.Ring(false)
		a.WriteFrame(cid) // forward feed: the phone shows nothing
		port.SetFeed(line.FeedOnHookTx)
		time.Sleep(500 * ms)
		a.WriteFrame(cid)
		for range 600 { // 12 s of silence with the feed left on
			a.WriteFrame(make([]int16, line.FrameSamples))
		}
		if got := ph.OnHookAudio(); !slices.Equal(got, cid) {
			t.Errorf("on-hook audio %v, want %v", got, cid)
		}
		time.Sleep(3 * time.Second)
		port.Ring(true) // the second ring keeps the caller ID
		if !ph.Ringing() || len(ph.OnHookAudio()) != 3 {
			t.Errorf("second ring: ringing %v, on-hook audio %d samples", ph.Ringing(), len(ph.OnHookAudio()))
		}
		ph.Lift()
		if ph.Ringing() || !port.OffHook() || len(ph.OnHookAudio()) != 0 {
			t.Errorf("lifted: ringing %v, off hook %v, on-hook audio %d", ph.Ringing(), port.OffHook(), len(ph.OnHookAudio()))
		}
		log := ph.RingLog()
		if len(log) != 4 || !log[0].On || log[1].On || !log[2].On || log[3].On {
			t.Errorf("ring log %+v, want on, off, on, off (ring trip)", log)
		}
		if err := port.Ring(true); err != nil || ph.Ringing() {
			t.Errorf("ringing an off-hook phone: %v, ringing %v", err, ph.Ringing())
		}
		port.SetFeed(line.FeedReverse)
		port.SetFeed(line.FeedForward)
		if s := ph.State(); s.Reversals != 2 || s.Feed != "forward" || !s.OffHook {
			t.Errorf("state %+v, want 2 reversals, forward feed, off hook", s)
		}
	})
}

func TestHeardIsBounded(t *testing.T) {
	b := New(Options{FXS: 1})
	defer b.Close()
	a := b.Lines()[0].Audio()
	f := make([]int16, line.FrameSamples)
	for i := range 12 * 50 { // 12 s
		f[0] = int16(i)
		a.WriteFrame(f)
	}
	h := b.Phone(1).Heard(time.Minute)
	if len(h) != 10*line.Rate {
		t.Fatalf("heard %d samples, want 10 s", len(h))
	}
	if h[len(h)-line.FrameSamples] != 12*50-1 || h[0] != 2*50 {
		t.Errorf("heard the wrong frames: first %d, last %d", h[0], h[len(h)-line.FrameSamples])
	}
	if got := len(b.Phone(1).Heard(500 * ms)); got != 4000 {
		t.Errorf("Heard(500ms) = %d samples, want 4000", got)
	}
}

func TestExchangeRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXO: 1})
		x := b.Exchange(1)
		port := b.Lines()[0].(line.FXOPort)
		cid := make([]int16, 8000) // 1 s of a marker that cannot be silence
		for i := range cid {
			cid[i] = int16(100 + i%50)
		}
		stop := listen(t, b, port)
		time.Sleep(10 * ms)
		start := time.Now()
		if err := x.Ring([]time.Duration{2 * time.Second, 4 * time.Second}, cid); err != nil {
			t.Fatal(err)
		}
		if err := x.Ring([]time.Duration{time.Second, time.Second}, nil); !errors.Is(err, ErrRinging) {
			t.Errorf("ringing twice: %v", err)
		}
		time.Sleep(7 * time.Second)
		port.SetHook(true) // answer during the second ring
		time.Sleep(time.Second)
		want := []edge{{line.RingOn, 0}, {line.RingOff, 2 * time.Second}, {line.RingOn, 6 * time.Second}, {line.RingOff, 7 * time.Second}}
		if got := drain(port, start); !slices.Equal(got, want) {
			t.Errorf("ring edges\n got %v\nwant %v", got, want)
		}
		if !x.Answered() || !x.OffHook() || x.State().Ringing {
			t.Errorf("after answering: %+v", x.State())
		}
		heard := stop()
		first := slices.IndexFunc(heard, func(s int16) bool { return s >= 100 })
		if first < 0 {
			t.Fatal("no caller ID on the line")
		}
		// Frame k came out of ReadFrame (k+1)·20 ms after the listener
		// started, 10 ms before the ring; caller ID begins 500 ms after
		// the first ring, in the next 20 ms frame.
		at := time.Duration(first/line.FrameSamples+1)*20*ms - 10*ms
		if at < 2500*ms || at > 2520*ms {
			t.Errorf("caller ID started %v after the first ring began, want 2.5s", at)
		}
		if got := heard[first : first+len(cid)]; !slices.Equal(got, cid) {
			t.Error("the caller ID audio arrived changed")
		}
	})
}

func TestExchangeGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXO: 1, Zone: "de"})
		defer b.Close()
		x := b.Exchange(1)
		start := time.Now()
		x.Ring([]time.Duration{time.Second, 4 * time.Second}, nil)
		time.Sleep(59 * time.Second)
		if !x.State().Ringing {
			t.Fatal("stopped ringing before 60 s")
		}
		time.Sleep(2 * time.Second)
		if s := x.State(); s.Ringing || !s.GaveUp || s.Answered {
			t.Errorf("after 61 s: %+v, want given up", s)
		}
		edges := drain(b.Lines()[0], start)
		if len(edges) != 24 || edges[len(edges)-1].Type != line.RingOff {
			t.Errorf("%d edges ending %v, want 12 rings", len(edges), edges[len(edges)-1])
		}
	})
}

// level is the RMS of s.
func level(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(max(len(s), 1)))
}

func TestDialToneDialedAndBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXO: 1})
		defer b.Close()
		x := b.Exchange(1)
		port := b.Lines()[0].(line.FXOPort)
		a := port.Audio()
		f := make([]int16, line.FrameSamples)
		read := func(n int) []int16 {
			var out []int16
			for range n {
				if err := a.ReadFrame(f); err != nil {
					t.Fatal(err)
				}
				out = append(out, f...)
			}
			return out
		}
		if l := level(read(5)); l != 0 {
			t.Errorf("on hook the line carries level %.0f", l)
		}
		port.SetHook(true)
		if l := level(read(10)); l < 1000 {
			t.Errorf("seized: dial-tone level %.0f, want a tone", l)
		}
		// The box dials 42 while the exchange plays dial tone.
		keys := dtmf.Sequence("42", 100*ms, 100*ms, -10)
		for keys.ReadFrame(f) {
			a.WriteFrame(f)
			g := make([]int16, line.FrameSamples)
			a.ReadFrame(g)
		}
		if got := x.Dialed(); got != "42" {
			t.Errorf("Dialed() = %q, want 42", got)
		}
		if l := level(read(5)); l != 0 {
			t.Errorf("after dialling: level %.0f, want silence", l)
		}
		x.SetMic(Sine(1000, -10))
		if l := level(read(5)); l < 1000 {
			t.Errorf("far end talking: level %.0f", l)
		}
		if err := x.HangUp("busy"); err != nil {
			t.Fatal(err)
		}
		// us busy: 480+620 Hz, 500 ms on, 500 ms off.
		busy := read(100)
		on, off := level(busy[:3800]), level(busy[4200:7800])
		if on < 1000 || off != 0 {
			t.Errorf("busy tone: level %.0f in the first 500 ms, %.0f in the next, want tone then silence", on, off)
		}
		port.SetHook(false)
		port.SetHook(true)
		if x.Dialed() != "" {
			t.Errorf("a new seizure kept the digits %q", x.Dialed())
		}
	})
}

func TestHangUpSignals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXO: 1})
		defer b.Close()
		x := b.Exchange(1)
		port := b.Lines()[0].(line.FXOPort)
		if err := x.HangUp("loop"); !errors.Is(err, ErrNoCall) {
			t.Errorf("hang-up with no call: %v", err)
		}
		if err := x.HangUp("slam"); err == nil {
			t.Error("hang-up \"slam\" accepted")
		}
		tests := []struct {
			how     string
			want    []edge
			voltage float64 // just after
			current float64
		}{
			{"reversal", []edge{{line.PolarityReversal, 0}}, -offHookVolts, loopMA},
			{"battery", []edge{{line.BatteryLost, 0}, {line.BatteryRestored, time.Second}}, 0, 0},
			{"loop", []edge{{line.LoopCurrentLost, 0}}, offHookVolts, 0},
			{"silence", nil, offHookVolts, loopMA},
		}
		for _, tt := range tests {
			port.SetHook(true)
			start := time.Now()
			if err := x.HangUp(tt.how); err != nil {
				t.Fatal(err)
			}
			if s := port.Status(); s.Voltage != tt.voltage || s.LoopCurrent != tt.current {
				t.Errorf("%s: status %+v, want %v V %v mA", tt.how, s, tt.voltage, tt.current)
			}
			time.Sleep(2 * time.Second)
			if got := drain(port, start); !slices.Equal(got, tt.want) {
				t.Errorf("%s: events %v, want %v", tt.how, got, tt.want)
			}
			port.SetHook(false)
			if s := port.Status(); s.Voltage != onHookVolts {
				t.Errorf("%s: released line at %v V", tt.how, s.Voltage)
			}
		}
	})
}

func TestParallelAndBattery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXO: 1})
		defer b.Close()
		x := b.Exchange(1)
		port := b.Lines()[0].(line.FXOPort)
		start := time.Now()
		x.SetParallelOffHook(true)
		if v := port.Status().Voltage; v != offHookVolts {
			t.Errorf("parallel phone off hook: %v V", v)
		}
		x.SetParallelOffHook(false)
		x.SetBattery(false)
		if err := x.Ring([]time.Duration{time.Second, time.Second}, nil); !errors.Is(err, ErrNoBattery) {
			t.Errorf("ringing a dead line: %v", err)
		}
		x.SetBattery(true)
		want := []edge{{line.ParallelOffHook, 0}, {line.ParallelOnHook, 0}, {line.BatteryLost, 0}, {line.BatteryRestored, 0}}
		if got := drain(port, start); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}

func TestCloseEndsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXS: 1, FXO: 1})
		b.Exchange(1).Ring([]time.Duration{time.Second, time.Second}, nil)
		b.Phone(1).Lift()
		dialed := make(chan error, 1)
		b.Go(func(ctx context.Context) { dialed <- b.Phone(1).DialPulse("0000") })
		read := make(chan error, 1)
		go func() {
			f := make([]int16, line.FrameSamples)
			for {
				if err := b.Lines()[1].Audio().ReadFrame(f); err != nil {
					read <- err
					return
				}
			}
		}()
		time.Sleep(time.Second)
		b.Close()
		if err := <-dialed; !errors.Is(err, ErrClosed) {
			t.Errorf("dialling across Close: %v", err)
		}
		if err := <-read; !errors.Is(err, line.ErrClosed) {
			t.Errorf("reading across Close: %v", err)
		}
		if _, ok := <-b.Lines()[0].Events(); ok {
			for range b.Lines()[0].Events() {
			}
		}
		ran := false
		b.Go(func(context.Context) { ran = true })
		synctest.Wait()
		if ran {
			t.Error("Go after Close ran its function")
		}
	})
}

// TestWriteFrameDoesNotAllocate: the engine writes a frame per port every
// 20 ms; the sim records it (and the exchange listens for DTMF in it)
// without garbage.
func TestWriteFrameDoesNotAllocate(t *testing.T) {
	b := New(Options{FXS: 1, FXO: 1})
	defer b.Close()
	b.Lines()[1].(line.FXOPort).SetHook(true)
	f := make([]int16, line.FrameSamples)
	for i, p := range b.Lines() {
		a := p.Audio()
		if n := testing.AllocsPerRun(100, func() { a.WriteFrame(f) }); n != 0 {
			t.Errorf("port %d: WriteFrame allocates %v times", i, n)
		}
	}
}

// BenchmarkExchangeWriteFrame measures one 20 ms frame from the box into
// the exchange line while it holds it: the Heard ring and the DTMF
// detector.
func BenchmarkExchangeWriteFrame(b *testing.B) {
	brd := New(Options{FXO: 1})
	defer brd.Close()
	brd.Lines()[0].(line.FXOPort).SetHook(true)
	a := brd.Lines()[0].Audio()
	f := make([]int16, line.FrameSamples)
	dtmf.Sequence("5", time.Second, 0, -10).ReadFrame(f)
	b.ReportAllocs()
	for b.Loop() {
		a.WriteFrame(f)
	}
}

// TestExchangeKeysDTMF: a caller answered by the box keys a digit, as
// into an IVR; the box hears it.
func TestExchangeKeysDTMF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Options{FXO: 1})
		x, port := b.Exchange(1), b.Lines()[0].(line.FXOPort)
		if err := x.DialDTMF("1"); !errors.Is(err, ErrNoCall) {
			t.Errorf("keying with the line idle: %v, want ErrNoCall", err)
		}
		x.Ring([]time.Duration{time.Second, 4 * time.Second}, nil)
		time.Sleep(500 * ms)
		port.SetHook(true)
		stop := listen(t, b, port)
		x.SetMic(Sine(700, -15))
		time.Sleep(200 * ms)
		if err := x.DialDTMF("1#"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * ms)
		var got []byte
		det := dtmf.NewDetector()
		for f := range slices.Chunk(stop(), line.FrameSamples) {
			got = append(got, det.Feed(f)...)
		}
		if string(got) != "1#" {
			t.Errorf("the box heard %q, want 1#", got)
		}
	})
}
