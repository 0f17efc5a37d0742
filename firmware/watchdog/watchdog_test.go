package watchdog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeDevice records what is written to it and when.
type fakeDevice struct {
	mu     sync.Mutex // protects following
	writes []write
	closed bool
}

type write struct {
	at time.Time
	b  byte
}

func (d *fakeDevice) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range p {
		d.writes = append(d.writes, write{time.Now(), b})
	}
	return len(p), nil
}

func (d *fakeDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// lastFeed is the time of the last keep-alive write (not the magic close).
func (d *fakeDevice) lastFeed() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.writes) - 1; i >= 0; i-- {
		if d.writes[i].b != 'V' {
			return d.writes[i].at
		}
	}
	return time.Time{}
}

func (d *fakeDevice) snapshot() ([]write, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]write(nil), d.writes...), d.closed
}

// syncBuffer is a log sink safe for the watchdog's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a watchdog on dev, feeding every second, until the returned
// stop is called; stop returns Run's error.
func start(t *testing.T, dev io.WriteCloser, openErr error, logs io.Writer, setup func(*Watchdog)) (stop func() error) {
	t.Helper()
	w := New(Config{
		Device: "/dev/watchdog",
		Feed:   time.Second,
		Open: func(string) (io.WriteCloser, error) {
			if openErr != nil {
				return nil, openErr
			}
			return dev, nil
		},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	setup(w)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// beatEvery calls b.Alive every period until ctx ends; the returned wait
// joins it.
func beatEvery(ctx context.Context, b *Beat, period time.Duration) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.Alive()
			}
		}
	})
	return wg.Wait
}

func TestFeedsWhileBeating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeDevice{}
		var logs syncBuffer
		var sip, acd *Beat
		stop := start(t, dev, nil, &logs, func(w *Watchdog) {
			sip = w.Register("sip", 5*time.Second)
			acd = w.Register("acd", 5*time.Second)
		})
		ctx, cancel := context.WithCancel(t.Context())
		wait1 := beatEvery(ctx, sip, 5*time.Second)
		wait2 := beatEvery(ctx, acd, 5*time.Second)
		begin := time.Now()
		time.Sleep(time.Minute + time.Second/2)
		synctest.Wait()
		if got := dev.lastFeed(); got.Sub(begin) != time.Minute {
			t.Errorf("last feed at +%v, want +1m (fed every second)", got.Sub(begin))
		}
		cancel()
		wait1()
		wait2()
		if err := stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		writes, closed := dev.snapshot()
		if n := len(writes); n != 62 { // at 0s..60s, then 'V'
			t.Errorf("%d writes, want 61 feeds and the magic close", n)
		}
		if !closed || writes[len(writes)-1].b != 'V' {
			t.Errorf("closed %v, last write %q; want the magic close 'V' then close", closed, writes[len(writes)-1].b)
		}
		if strings.Contains(logs.String(), "hung") {
			t.Errorf("log reports a hang:\n%s", logs.String())
		}
	})
}

func TestStopsFeedingWhenALoopHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeDevice{}
		var logs syncBuffer
		var sip, store *Beat
		stop := start(t, dev, nil, &logs, func(w *Watchdog) {
			sip = w.Register("sip", 5*time.Second)
			store = w.Register("store", 2*time.Second)
		})
		ctx, cancel := context.WithCancel(t.Context())
		waitSIP := beatEvery(ctx, sip, 5*time.Second)
		storeCtx, storeHangs := context.WithCancel(ctx)
		waitStore := beatEvery(storeCtx, store, 2*time.Second)

		time.Sleep(30 * time.Second)
		storeHangs() // its last beat was at +30s
		waitStore()
		hungAt := time.Now()
		time.Sleep(time.Minute)
		synctest.Wait()

		// Allowance 3×2s: fed up to and including +36s (age exactly 6s
		// is still in time), never after.
		if got := dev.lastFeed().Sub(hungAt); got != 6*time.Second {
			t.Errorf("last feed %v after the store's last beat, want 6s", got)
		}
		if l := logs.String(); !strings.Contains(l, "loop hung") || !strings.Contains(l, "loop=store") || strings.Contains(l, "loop=sip") {
			t.Errorf("log does not name the store as hung:\n%s", l)
		}
		cancel()
		waitSIP()
		if err := stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		// No magic close: the kernel must still reset the box.
		writes, closed := dev.snapshot()
		for _, w := range writes {
			if w.b == 'V' {
				t.Errorf("magic close written at %v after a hang", w.at.Sub(hungAt))
			}
		}
		if !closed {
			t.Error("device not closed")
		}
	})
}

func TestMagicCloseOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeDevice{}
		stop := start(t, dev, nil, io.Discard, func(*Watchdog) {})
		time.Sleep(3 * time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		writes, closed := dev.snapshot()
		if len(writes) == 0 || writes[len(writes)-1].b != 'V' || !closed {
			t.Errorf("writes %v, closed %v; want feeds, then 'V', then close", writes, closed)
		}
	})
}

func TestMissingDevice(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		level   string
		message string
	}{
		{"not there", fs.ErrNotExist, "level=INFO", "no watchdog device; running without"},
		{"not permitted", fs.ErrPermission, "level=ERROR", "cannot open the watchdog device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs syncBuffer
				var b *Beat
				stop := start(t, nil, &fs.PathError{Op: "open", Path: "/dev/watchdog", Err: tt.err}, &logs, func(w *Watchdog) {
					b = w.Register("acd", time.Second)
				})
				// The beats are still watched without a device.
				time.Sleep(10 * time.Second)
				if err := stop(); err != nil {
					t.Fatalf("Run = %v", err)
				}
				l := logs.String()
				if strings.Count(l, tt.message) != 1 || !strings.Contains(l, tt.level) {
					t.Errorf("log:\n%s\nwant %q once at %s", l, tt.message, tt.level)
				}
				if !strings.Contains(l, "loop=acd") {
					t.Errorf("hung loop not logged without a device:\n%s", l)
				}
				_ = b
			})
		})
	}
}

func TestNilBeat(t *testing.T) {
	var b *Beat
	b.Alive() // loops without a watchdog beat a nil Beat
}

func TestCloseError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := start(t, failingDevice{}, nil, io.Discard, func(*Watchdog) {})
		if err := stop(); err == nil || !strings.Contains(err.Error(), "magic close") {
			t.Errorf("Run = %v, want the failed magic close", err)
		}
	})
}

type failingDevice struct{}

func (failingDevice) Write([]byte) (int, error) { return 0, errors.New("device gone") }
func (failingDevice) Close() error              { return nil }

// TestDrainFeedsUntilLimit: once a shutdown begins the loops end one by
// one; the device is fed regardless until the drain limit, then no more.
func TestDrainFeedsUntilLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &fakeDevice{}
		var logs syncBuffer
		var w *Watchdog
		stop := start(t, dev, nil, &logs, func(wd *Watchdog) {
			w = wd
			wd.Register("acd", time.Second) // never beats after Run starts
		})
		time.Sleep(time.Second / 2)
		begin := time.Now()
		w.Drain(30 * time.Second)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := dev.lastFeed().Sub(begin); got != 29*time.Second+time.Second/2 {
			t.Errorf("last feed %v after the drain began, want 29.5s (the last tick within 30s)", got)
		}
		if l := logs.String(); !strings.Contains(l, "loop=shutdown") || strings.Contains(l, "loop=acd") {
			t.Errorf("log does not blame the shutdown alone:\n%s", l)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}
