package dialplan

import (
	"sync"
	"sync/atomic"
	"time"
)

// Burst is the international attempts from one extension that make an
// alert: more than BurstCount in BurstWindow.
const (
	BurstCount  = 5
	BurstWindow = 10 * time.Minute
)

// Anomaly kinds.
const (
	AnomalyInternationalBurst = "international_burst" // > BurstCount international attempts in BurstWindow
	AnomalyAfterHours         = "after_hours"         // international outside system.international_hours
	AnomalyLimit              = "limit"               // an extension or trunk limit refused a call
)

// Anomaly is something about outside calls an administrator should hear of.
type Anomaly struct {
	Kind      string
	Extension string // "" when not about an extension
	Trunk     string // for a trunk limit
	Number    string // the number sent (or that would have been)
	Class     string // its class in the numbering plan
	Count     int    // attempts in the window (burst), the limit (limit)
	Detail    string
}

// Guard keeps the toll-fraud counters of the box across calls: outside
// calls in progress and started in the last hour, per extension and per
// trunk, and the international attempts per extension that raise a burst
// alert. One Guard serves every call (the Routers are per call). The zero
// value is ready.
type Guard struct {
	mu     sync.Mutex
	active map[string]int         // "x:101", "t:carrier": calls in progress
	starts map[string][]time.Time // call starts in the last hour
	intl   map[string][]time.Time // international attempts per extension in BurstWindow
	burst  map[string]time.Time   // when the last burst alert of an extension went out

	refused atomic.Uint64
	alerts  atomic.Uint64
}

// Refused counts the outside calls refused by permission, limits or hours.
func (g *Guard) Refused() uint64 { return g.refused.Load() }

// Alerts counts the anomalies raised.
func (g *Guard) Alerts() uint64 { return g.alerts.Load() }

func (g *Guard) init() {
	if g.active == nil {
		g.active, g.starts = map[string]int{}, map[string][]time.Time{}
		g.intl, g.burst = map[string][]time.Time{}, map[string]time.Time{}
	}
}

// prune drops the times older than window before now.
func prune(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= window {
		i++
	}
	return ts[i:]
}

// international notes an international (or premium) attempt by ext and
// reports the number of attempts in the window when it makes a burst
// (once per window), else 0.
func (g *Guard) international(ext string) int {
	if ext == "" {
		return 0
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	ts := append(prune(g.intl[ext], now, BurstWindow), now)
	g.intl[ext] = ts
	if len(ts) <= BurstCount {
		return 0
	}
	if last, ok := g.burst[ext]; ok && now.Sub(last) < BurstWindow {
		return 0
	}
	g.burst[ext] = now
	return len(ts)
}

// slot is one limit: a key, at most max at once (0: no limit) and perHour
// started in the last hour (0: no limit).
type slot struct {
	key           string
	max, perHour  int
	what, subject string // for the refusal: "extension", "101"
}

// acquire takes a place in every slot, or none: it returns the slot that
// refused (and ok false).
func (g *Guard) acquire(slots []slot) (refusedBy slot, why string, ok bool) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	for _, s := range slots {
		if s.max > 0 && g.active[s.key] >= s.max {
			return s, "at once", false
		}
		ts := prune(g.starts[s.key], now, time.Hour)
		g.starts[s.key] = ts
		if s.perHour > 0 && len(ts) >= s.perHour {
			return s, "per hour", false
		}
	}
	for _, s := range slots {
		g.active[s.key]++
		g.starts[s.key] = append(g.starts[s.key], now)
	}
	return slot{}, "", true
}

// release gives the places back.
func (g *Guard) release(slots []slot) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range slots {
		if g.active[s.key]--; g.active[s.key] <= 0 {
			delete(g.active, s.key)
		}
	}
}

// Active is the number of outside calls in progress from extension ext.
func (g *Guard) Active(ext string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active["x:"+ext]
}
