package web

import (
	"fmt"
	"net/http"
	"strconv"

	"ringbox/firmware/audit"
	"ringbox/firmware/auth"
)

// DefaultMaxStreams is how many live streams (the event stream and the
// agent page's phone socket together) one login may hold open: a few tabs
// and a wallboard, not a script that opens them until the box runs out of
// memory or file descriptors.
const DefaultMaxStreams = 8

// streamSlots counts the open streams of each login; the server's mu
// protects it.
type streamSlots map[string]int

// openStream takes one of p's stream slots, or answers 429 and returns
// false. The caller must call the returned release when the stream ends.
func (s *Server) openStream(w http.ResponseWriter, p auth.Principal) (release func(), ok bool) {
	max := s.cfg.MaxStreams
	if max <= 0 {
		max = DefaultMaxStreams
	}
	key := p.Login
	s.mu.Lock()
	if s.streams == nil {
		s.streams = streamSlots{}
	}
	n := s.streams[key]
	if n >= max {
		s.mu.Unlock()
		// One line a minute per login: the refusals themselves must not
		// flood the log.
		if held, ok := s.streamLog.Allow(key, s.cfg.Now()); ok {
			s.log.Warn("too many event streams", "login", key, "open", n, "max", max, "refused_since_last_line", held)
		}
		w.Header().Set("Retry-After", "30")
		WriteError(w, http.StatusTooManyRequests, fmt.Sprintf("too many live streams open for %s: at most %s; close another Ringbox page or wallboard first", key, strconv.Itoa(max)))
		return nil, false
	}
	s.streams[key] = n + 1
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.streams[key]--; s.streams[key] <= 0 {
			delete(s.streams, key)
		}
	}, true
}

// newStreamLog is the limiter of the "too many event streams" log line.
func newStreamLog() *audit.Limiter {
	return &audit.Limiter{PerKey: 1, Budget: 60}
}
