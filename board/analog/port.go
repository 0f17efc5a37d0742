package analog

import (
	"io"
	"sync"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
)

// loop is the part every port shares: a goroutine (the port's run) that
// owns the signalling state, fed by closures posted from drivers' events,
// timers, the audio pump, legs that end and dialers. post never blocks,
// so a leg ending on the loop itself, or after the loop stopped, is safe.
type loop struct {
	qmu  sync.Mutex // protects q
	q    []func()
	wake chan struct{}
}

func newLoop() loop { return loop{wake: make(chan struct{}, 1)} }

func (l *loop) post(f func()) {
	l.qmu.Lock()
	l.q = append(l.q, f)
	l.qmu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// drain runs what was posted.
func (l *loop) drain() {
	for {
		l.qmu.Lock()
		q := l.q
		l.q = nil
		l.qmu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// dialOn runs a dialer's request on the loop (which owns the port's
// state) and returns its answer; call.Shutdown once the loop has stopped.
func (l *loop) dialOn(done <-chan struct{}, f func() (call.Leg, error)) (call.Leg, error) {
	type reply struct {
		l   call.Leg
		err error
	}
	r := make(chan reply, 1)
	l.post(func() {
		leg, err := f()
		r <- reply{leg, err}
	})
	select {
	case x := <-r:
		return x.l, x.err
	case <-done:
		return nil, call.Shutdown
	}
}

// timer is a loop timer: its function runs on the loop, and a stopped or
// restarted timer's late firing is ignored.
type timer struct {
	t   *time.Timer
	gen int
}

func (l *loop) start(tm *timer, d time.Duration, f func()) {
	tm.stop()
	g := tm.gen
	tm.t = time.AfterFunc(d, func() {
		l.post(func() {
			if tm.gen == g {
				tm.t = nil
				tm.gen++
				f()
			}
		})
	})
}

func (tm *timer) stop() {
	if tm.t != nil {
		tm.t.Stop()
		tm.t = nil
	}
	tm.gen++
}

func (tm *timer) running() bool { return tm.t != nil }

// status is a port's LineInfo, shared with the API.
type status struct {
	mu  sync.Mutex // protects inf
	inf LineInfo
}

func (s *status) info() LineInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inf
}

// set updates the state (and when it changed, publishes line.changed).
func (s *status) set(e *Engine, f func(*LineInfo)) {
	s.mu.Lock()
	old := s.inf
	f(&s.inf)
	if s.inf.State != old.State {
		s.inf.Since = time.Now()
	}
	n := s.inf
	s.mu.Unlock()
	if n.State != old.State || n.Health != old.Health || n.Detail != old.Detail {
		e.publish(events.LineChanged{Port: n.Port, State: n.State, Health: n.Health, Detail: n.Detail})
	}
}

// samples plays a fixed buffer of samples as a call.Source.
type samples struct {
	s   []int16
	pos int
}

func (s *samples) ReadFrame(f []int16) bool {
	if s.pos >= len(s.s) {
		return false
	}
	n := copy(f, s.s[s.pos:])
	clear(f[n:])
	s.pos += n
	return true
}

// closeSource releases a source that holds something (a music listener).
func closeSource(s call.Source) {
	switch c := s.(type) {
	case io.Closer:
		_ = c.Close()
	case interface{ Close() }:
		c.Close()
	}
}

// addSat adds src to dst, saturating.
func addSat(dst, src []int16) {
	for i, v := range src {
		s := int32(dst[i]) + int32(v)
		switch {
		case s > 32767:
			s = 32767
		case s < -32768:
			s = -32768
		}
		dst[i] = int16(s)
	}
}
