// Package chipio is what the analog chips' drivers (board/proslic,
// board/si3050) share: a debounced input, a port's event channel that
// never blocks the poll loop, and the poll loop itself.
package chipio

import (
	"fmt"
	"sync"
	"time"

	"ringbox/board/line"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// Debounce is a boolean input that must hold a new level for a time before
// it is believed.
type Debounce struct {
	State   bool      // the believed level
	pending bool      // the raw level differs from State since since
	since   time.Time // when the raw level first differed
}

// Update feeds one raw sample taken at now. It reports whether the
// believed level changed, and when the raw level first changed.
func (d *Debounce) Update(raw bool, now time.Time, hold time.Duration) (changed bool, at time.Time) {
	if raw == d.State {
		d.pending = false
		return false, time.Time{}
	}
	if !d.pending {
		d.pending, d.since = true, now
	}
	if now.Sub(d.since) < hold {
		return false, time.Time{}
	}
	d.State, d.pending = raw, false
	return true, d.since
}

// Force sets the believed level, dropping any pending change.
func (d *Debounce) Force(v bool) { d.State, d.pending = v, false }

// Events is a port's event channel as its driver writes it: sending never
// blocks the poll loop; a full channel drops the event and a line.Fault
// says how many were lost once the consumer catches up. It is not safe
// for concurrent use: drivers call it under their chip's lock.
type Events struct {
	c       chan line.Event
	closed  bool
	dropped int
}

// NewEvents returns a channel buffering n events.
func NewEvents(n int) *Events { return &Events{c: make(chan line.Event, n)} }

// C is the channel the engine reads (line.Port.Events).
func (e *Events) C() <-chan line.Event { return e.c }

// Closed reports whether Close was called.
func (e *Events) Closed() bool { return e.closed }

// Send delivers ev without blocking.
func (e *Events) Send(ev line.Event) {
	if e.closed {
		return
	}
	if e.dropped > 0 {
		select {
		case e.c <- line.Event{Type: line.Fault, At: ev.At, Detail: fmt.Sprintf("%d events dropped", e.dropped)}:
			e.dropped = 0
		default:
			e.dropped++
			return
		}
	}
	select {
	case e.c <- ev:
	default:
		e.dropped++
	}
}

// Close ends the channel; it is idempotent.
func (e *Events) Close() {
	if !e.closed {
		e.closed = true
		close(e.c)
	}
}

// Poller calls a function every period on its own goroutine until Stop,
// which waits for it.
type Poller struct {
	stop, done chan struct{}
	once       sync.Once
}

// Poll starts calling f with the time of each tick.
func Poll(period time.Duration, f func(now time.Time)) *Poller {
	p := &Poller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				f(time.Now())
			}
		}
	}()
	return p
}

// Stop ends the polling and waits for the goroutine. It reports whether
// this call stopped it: a driver's Close releases its line once.
func (p *Poller) Stop() (stopped bool) {
	p.once.Do(func() {
		close(p.stop)
		stopped = true
	})
	<-p.done
	return stopped
}

// ByteBus is an SPI device that hands every byte written to Exchange,
// under Lock, and returns what Exchange answers in its place: the chips'
// register-level fakes decode their SPI framing on it. It implements
// spi.Conn and, for code that connects first, spi.Port.
type ByteBus struct {
	Name     string
	Lock     sync.Locker
	Exchange func(b byte) byte
}

var _ spi.Conn = (*ByteBus)(nil)

// Tx implements spi.Conn.
func (s *ByteBus) Tx(w, r []byte) error {
	s.Lock.Lock()
	defer s.Lock.Unlock()
	for i, b := range w {
		out := s.Exchange(b)
		if i < len(r) {
			r[i] = out
		}
	}
	return nil
}

// TxPackets implements spi.Conn: each packet is a transfer.
func (s *ByteBus) TxPackets(p []spi.Packet) error {
	for _, pk := range p {
		if err := s.Tx(pk.W, pk.R); err != nil {
			return err
		}
	}
	return nil
}

// Duplex implements conn.Conn.
func (s *ByteBus) Duplex() conn.Duplex { return conn.Full }

// String implements conn.Conn.
func (s *ByteBus) String() string { return s.Name }

// Connect makes the bus an spi.Port too.
func (s *ByteBus) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) { return s, nil }
