package edge

import (
	"net/netip"
	"sync"
	"time"
)

// sampler allows a few log lines per source and a few overall each
// minute, so junk on the SIP port costs the log at most a fixed number of
// lines whatever its rate and however many addresses it comes from.
type sampler struct {
	perSource, global int

	mu         sync.Mutex // protects following
	minute     time.Time  // start of the current minute's counts
	bySource   map[netip.Addr]int
	total      int
	suppressed uint64
}

func newSampler(perSource, global int) *sampler {
	return &sampler{perSource: perSource, global: global, bySource: make(map[netip.Addr]int)}
}

// allow says whether to log a line about src now; suppressed counts the
// lines left out since the last one logged.
func (s *sampler) allow(src netip.Addr, now time.Time) (ok bool, suppressed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.minute) >= time.Minute {
		s.minute = now
		clear(s.bySource)
		s.total = 0
	}
	if s.total >= s.global || s.bySource[src] >= s.perSource || len(s.bySource) >= maxTracked {
		s.suppressed++
		return false, 0
	}
	s.total++
	s.bySource[src]++
	suppressed, s.suppressed = s.suppressed, 0
	return true, suppressed
}
