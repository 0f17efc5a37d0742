// Package watchdog feeds the hardware watchdog while the box's loops are
// alive.
//
// The kernel's watchdog (/dev/watchdog, the Linux watchdog API) resets the
// board unless someone writes to the device within its timeout. A process
// that merely runs is not enough: a deadlocked ACD actor or a stuck CDR
// writer leaves the goroutine scheduler happy and the PBX useless. So each
// loop that matters registers a [Beat] and calls [Beat.Alive] on every
// iteration (idle loops tick to do so); the [Watchdog] feeds the device only
// while every beat is fresh. Once a beat is older than its allowance the
// watchdog logs which loop hung and stops feeding for good, and the kernel
// resets the board within its timeout. A clean stop writes the magic close
// ('V'), so that a deliberate exit does not reset the box.
//
// Without a device (a laptop, `make run`) the watchdog says so once at info
// and still watches the beats, logging a hung loop.
//
// # Concurrency
//
// [Beat.Alive] is an atomic store, safe and cheap from any goroutine.
// [Watchdog.Register] must be called before [Watchdog.Run]; Run owns the
// device and returns once it is closed.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDevice is the Linux watchdog device.
const DefaultDevice = "/dev/watchdog"

// Missed is how many beat periods a loop may miss before it counts as
// hung: one late tick (a GC pause, a slow commit) is no reason to reset.
const Missed = 3

// Config configures a Watchdog. The zero value watches beats without a
// device.
type Config struct {
	// Device is the watchdog device's path; "": none.
	Device string
	// Feed is how often the device is written while all beats are fresh;
	// 0: 1s. It must be well under the kernel's timeout.
	Feed time.Duration
	// Timeout, when set, asks the driver for this timeout
	// (WDIOC_SETTIMEOUT); 0 keeps the driver's.
	Timeout time.Duration
	// Open opens the device; nil: os.OpenFile for writing. Tests pass a
	// fake.
	Open   func(path string) (io.WriteCloser, error)
	Logger *slog.Logger // nil: slog.Default()
}

// Watchdog feeds the device while every registered beat is fresh.
type Watchdog struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex // protects following
	beats []*Beat
	// drainUntil, once set by Drain, replaces the beats: the loops end
	// one by one during a shutdown, which must finish by then.
	drainUntil time.Time
}

// Beat is one loop's heartbeat.
type Beat struct {
	name      string
	allowance time.Duration
	last      atomic.Int64 // unix nanoseconds of the last Alive
}

// Alive records that the loop made progress now. A nil Beat does nothing,
// so loops need not check whether a watchdog is wired.
func (b *Beat) Alive() {
	if b != nil {
		b.last.Store(time.Now().UnixNano())
	}
}

// Name is the loop's name as the log shows it.
func (b *Beat) Name() string { return b.name }

// New returns a Watchdog; Register its loops, then Run it.
func New(cfg Config) *Watchdog {
	if cfg.Feed <= 0 {
		cfg.Feed = time.Second
	}
	if cfg.Open == nil {
		cfg.Open = func(path string) (io.WriteCloser, error) { return os.OpenFile(path, os.O_WRONLY, 0) }
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Watchdog{cfg: cfg, log: log.With("pkg", "watchdog")}
}

// Register adds a loop that promises to call Alive at least every every;
// it counts as hung once Missed periods pass without one. Beats start
// fresh when Run starts.
func (w *Watchdog) Register(name string, every time.Duration) *Beat {
	b := &Beat{name: name, allowance: Missed * every}
	b.Alive()
	w.mu.Lock()
	w.beats = append(w.beats, b)
	w.mu.Unlock()
	return b
}

// Drain says a shutdown has begun: the loops stop beating as they end, so
// from now on the device is fed regardless of the beats, until limit has
// passed; a shutdown that takes longer is taken for hung and the box
// resets.
func (w *Watchdog) Drain(limit time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.drainUntil.IsZero() {
		w.drainUntil = time.Now().Add(limit)
	}
}

// drainBeat stands for the shutdown in the log once it overran Drain's
// limit.
var drainBeat = &Beat{name: "shutdown"}

// hung returns the first beat older than its allowance, and its age.
func (w *Watchdog) hung(now time.Time) (*Beat, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.drainUntil.IsZero() {
		if now.After(w.drainUntil) {
			return drainBeat, now.Sub(w.drainUntil)
		}
		return nil, 0
	}
	for _, b := range w.beats {
		if age := now.Sub(time.Unix(0, b.last.Load())); age > b.allowance {
			return b, age
		}
	}
	return nil, 0
}

// Run feeds the device until ctx ends, then writes the magic close and
// closes it. A device that cannot be opened is logged and the beats are
// watched all the same; Run returns an error only when the magic close
// fails (the kernel will then reset the box).
func (w *Watchdog) Run(ctx context.Context) error {
	// Beats count from here: the start-up before Run is no loop's fault.
	w.mu.Lock()
	for _, b := range w.beats {
		b.Alive()
	}
	w.mu.Unlock()
	dev := w.open()
	t := time.NewTicker(w.cfg.Feed)
	defer t.Stop()
	var hung *Beat // latched: once a loop hung, the box is reset
	for {
		if hung == nil {
			if b, age := w.hung(time.Now()); b != nil {
				hung = b
				w.log.Error("loop hung; no longer feeding the watchdog, the box resets",
					"loop", b.name, "since", age.Round(time.Millisecond), "allowance", b.allowance, "device", dev != nil)
			} else if dev != nil {
				// Any byte but 'V' keeps the board alive.
				if _, err := dev.Write([]byte{0}); err != nil {
					w.log.Error("feed watchdog", "err", fmt.Errorf("write %s: %w", w.cfg.Device, err))
				}
			}
		}
		select {
		case <-ctx.Done():
			return w.close(dev, hung)
		case <-t.C:
		}
	}
}

// open opens the device, or returns nil when there is none.
func (w *Watchdog) open() io.WriteCloser {
	if w.cfg.Device == "" {
		w.log.Info("no watchdog device configured; running without")
		return nil
	}
	dev, err := w.cfg.Open(w.cfg.Device)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.log.Info("no watchdog device; running without", "device", w.cfg.Device)
		return nil
	case err != nil:
		// Busy (another process feeds it) or not permitted: the box
		// still serves calls; only the reset on a hang is lost.
		w.log.Error("cannot open the watchdog device; running without", "err", fmt.Errorf("open %s: %w", w.cfg.Device, err))
		return nil
	}
	if w.cfg.Timeout > 0 {
		if err := setTimeout(dev, w.cfg.Timeout); err != nil {
			w.log.Warn("watchdog timeout not set; the driver's applies", "err", err)
		}
	}
	w.log.Info("feeding the watchdog", "device", w.cfg.Device, "feed", w.cfg.Feed)
	return dev
}

// close disarms the device with the magic close, unless a loop hung: then
// the device is closed without it, so that the kernel still resets.
func (w *Watchdog) close(dev io.WriteCloser, hung *Beat) error {
	if dev == nil {
		return nil
	}
	var err error
	if hung == nil {
		if _, werr := dev.Write([]byte{'V'}); werr != nil {
			err = fmt.Errorf("watchdog magic close %s: %w", w.cfg.Device, werr)
		}
	}
	if cerr := dev.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", w.cfg.Device, cerr)
	}
	if err == nil && hung == nil {
		w.log.Info("watchdog disarmed", "device", w.cfg.Device)
	}
	return err
}
