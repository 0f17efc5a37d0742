package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures an Engine. The zero value of every field but IP works.
type Config struct {
	IP netip.Addr // address to put in SDP, and to bind RTP sockets to unless Bind is set
	// Bind, when valid, is the address RTP sockets bind to instead of IP:
	// behind NAT the announced IP (--public-ip) is the router's, not one
	// of the box's own, and binding to it would fail or, for 127.0.0.1
	// under qemu's user network, catch nothing.
	Bind    netip.Addr
	PortMin int           // even; default 10000
	PortMax int           // default 20000
	Timeout time.Duration // RTP inactivity; default 60s; 0 means default, <0 disables
	Logger  *slog.Logger
}

const (
	frameDur      = 20 * time.Millisecond
	sweepEvery    = time.Second
	socketBuffer  = 256 << 10
	relatchQuiet  = 2 * time.Second // a latched source silent this long may be replaced
	maxPacketSize = 1500
)

// Engine owns the port pool, the pacing clock and the inactivity sweeper.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	start   time.Time     // the engine clock's zero (monotonic)
	timeout atomic.Int64  // RTP inactivity in ns; <= 0: never (SetTimeout)
	done    chan struct{} // closed when Run returns
	wake    chan struct{} // a player came while Run's clock was slow
	running atomic.Bool
	active  atomic.Int64

	poolMu sync.Mutex // protects following
	used   []bool     // slot i is ports PortMin+2i and PortMin+2i+1
	next   int        // slot to try first, so freed ports rest before reuse

	mu      sync.Mutex // protects following
	streams map[*Stream]struct{}
	gone    Stats // the counters of closed streams

	playMu  sync.Mutex // protects following
	players []*player

	io engineIO // how sockets are read (sock_linux.go, sock_other.go)
}

// NewEngine checks cfg and fills in defaults. No socket is opened until Open.
func NewEngine(cfg Config) (*Engine, error) {
	if !cfg.IP.IsValid() {
		return nil, errors.New("media: config needs the IP to bind and announce")
	}
	cfg.IP = cfg.IP.Unmap()
	if !cfg.Bind.IsValid() {
		cfg.Bind = cfg.IP
	}
	cfg.Bind = cfg.Bind.Unmap()
	if cfg.PortMin == 0 {
		cfg.PortMin = 10000
	}
	if cfg.PortMax == 0 {
		cfg.PortMax = 20000
	}
	if cfg.PortMin%2 != 0 {
		cfg.PortMin++ // RTP uses even ports (RFC 3550 §11)
	}
	if cfg.PortMin < 1024 || cfg.PortMax > 65535 || cfg.PortMax < cfg.PortMin+1 {
		return nil, fmt.Errorf("media: bad rtp port range %d-%d", cfg.PortMin, cfg.PortMax)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{
		cfg:     cfg,
		log:     cfg.Logger.With("pkg", "media"),
		start:   time.Now(),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		used:    make([]bool, (cfg.PortMax-cfg.PortMin+1)/2),
		streams: map[*Stream]struct{}{},
	}
	e.SetTimeout(cfg.Timeout)
	e.initIO(len(e.used), runtime.GOMAXPROCS(0))
	return e, nil
}

// now is the engine clock: monotonic nanoseconds since NewEngine.
func (e *Engine) now() int64 { return int64(time.Since(e.start)) }

// Run drives the shared 20 ms pacing clock and the once-a-second inactivity
// sweeper until ctx ends. Playback needs Run; relay does not. The 20 ms
// clock runs only while something plays or hears: a box that is idle or
// only relays wakes once a second.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("media: engine already running")
	}
	defer close(e.done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	pacing := false
	nextSweep := e.now() + int64(sweepEvery)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
			if !pacing && e.tick() { // the first frame at once
				pacing = true
				t.Reset(frameDur)
			}
		case <-t.C:
			if pacing && !e.tick() {
				pacing = false
				t.Reset(sweepEvery)
			}
			if now := e.now(); now >= nextSweep {
				e.sweep(now)
				nextSweep = now + int64(sweepEvery)
			}
		}
	}
}

// Active is the number of open streams.
func (e *Engine) Active() int { return int(e.active.Load()) }

// tick wakes every playing stream for its next frame and reports whether
// there was any. It only does a non-blocking channel send per player: the
// encoding and the write happen on each Play goroutine, so a tick costs
// little however many streams play.
func (e *Engine) tick() bool {
	e.playMu.Lock()
	defer e.playMu.Unlock()
	for _, p := range e.players {
		select {
		case p.tick <- struct{}{}:
		default: // still busy with the previous frame: skip one
		}
	}
	return len(e.players) > 0
}

func (e *Engine) addPlayer(p *player) {
	e.playMu.Lock()
	defer e.playMu.Unlock()
	p.index = len(e.players)
	e.players = append(e.players, p)
	if len(e.players) == 1 {
		select {
		case e.wake <- struct{}{}: // start the 20 ms clock
		default:
		}
	}
}

func (e *Engine) removePlayer(p *player) {
	e.playMu.Lock()
	defer e.playMu.Unlock()
	last := len(e.players) - 1
	e.players[p.index] = e.players[last]
	e.players[p.index].index = p.index
	e.players[last] = nil
	e.players = e.players[:last]
}

// DefaultTimeout is the RTP inactivity that ends a call by default.
const DefaultTimeout = 60 * time.Second

// SetTimeout changes the RTP inactivity after which a stream's Timeout
// channel closes, from the next sweep on (site system.media_timeout
// changes while calls are up): 0 means DefaultTimeout, < 0 never.
func (e *Engine) SetTimeout(d time.Duration) {
	if d == 0 {
		d = DefaultTimeout
	}
	e.timeout.Store(int64(d))
}

// sweep closes the Timeout channel of every armed, not held stream that has
// seen no RTP for the timeout.
func (e *Engine) sweep(now int64) {
	timeout := time.Duration(e.timeout.Load())
	if timeout <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.streams {
		if !s.armed.Load() || s.remote.Load().held {
			continue
		}
		if time.Duration(now-s.lastRx.Load()) >= timeout {
			s.expire()
		}
	}
}

// reserve takes the next free port slot, or -1.
func (e *Engine) reserve() int {
	e.poolMu.Lock()
	defer e.poolMu.Unlock()
	for i := range e.used {
		slot := (e.next + i) % len(e.used)
		if !e.used[slot] {
			e.used[slot] = true
			e.next = (slot + 1) % len(e.used)
			return slot
		}
	}
	return -1
}

func (e *Engine) release(slot int) {
	e.poolMu.Lock()
	defer e.poolMu.Unlock()
	e.used[slot] = false
}

func (e *Engine) port(slot int) int { return e.cfg.PortMin + 2*slot }

// Open returns a new anchored stream on an even port from the pool, with
// its RTCP socket on port+1. Ports some other program holds are skipped.
func (e *Engine) Open() (*Stream, error) {
	for range len(e.used) {
		slot := e.reserve()
		if slot < 0 {
			break
		}
		port := e.port(slot)
		rtp, err := e.listen(port)
		if err != nil {
			e.release(slot)
			continue
		}
		rtcp, err := e.listen(port + 1)
		if err != nil {
			rtp.close()
			e.release(slot)
			continue
		}
		s := e.newStream(slot, netip.AddrPortFrom(e.cfg.IP, uint16(port)), rtp, rtcp)
		if err := s.watchSockets(); err != nil {
			s.Close() // frees the sockets and the port pair
			return nil, fmt.Errorf("open stream on %s port %d: %w", e.cfg.IP, port, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("open stream on %s ports %d-%d: %w", e.cfg.IP, e.cfg.PortMin, e.cfg.PortMax, ErrNoPorts)
}

func (e *Engine) track(s *Stream) {
	e.mu.Lock()
	e.streams[s] = struct{}{}
	e.mu.Unlock()
	e.active.Add(1)
}

func (e *Engine) untrack(s *Stream) {
	st := s.Stats()
	e.mu.Lock()
	delete(e.streams, s)
	e.gone.add(st)
	e.mu.Unlock()
	e.active.Add(-1)
}

// Stats is the sum of the RTP counters of every stream the engine has
// opened, open or closed: PacketsOut is what the box relayed and played.
// The counters are each stream's own, summed here on demand, so counting
// costs the packet path nothing shared between streams.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.gone
	for s := range e.streams {
		t.add(s.Stats())
	}
	return t
}

func (t *Stats) add(s Stats) {
	t.PacketsIn += s.PacketsIn
	t.PacketsOut += s.PacketsOut
	t.BytesIn += s.BytesIn
	t.BytesOut += s.BytesOut
}
