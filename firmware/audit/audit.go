// Package audit bounds what refused attempts write to the audit log. A
// refusal (a web request answered 403, an outside call the dial plan
// forbade, a DISA PIN guessed wrong) is worth a row, but an attacker
// makes them by the thousand per second: each row costs disk that the
// append-only audit table never gives back. The [Limiter] lets a few rows
// per source through each minute and a fixed number overall each hour,
// and counts what it held back so the next row written for that source
// says how many attempts it stands for.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/firmware/store"
)

// Defaults: 5 rows per source per minute, 200 rows per hour in all. At
// the hourly budget the table grows by about 4,800 rows (under 1 MB) a
// day however hard the box is attacked.
const (
	DefaultPerKey       = 5
	DefaultWindow       = time.Minute
	DefaultBudget       = 200
	DefaultBudgetWindow = time.Hour
	// maxKeys bounds the sources remembered: attempts from more sources
	// than this in one window share one key ("other").
	maxKeys = 4096
)

// Limiter decides which refused attempts are written. The zero value uses
// the defaults. It is safe for concurrent use.
type Limiter struct {
	PerKey       int           // rows per key per Window; 0: DefaultPerKey
	Window       time.Duration // 0: DefaultWindow
	Budget       int           // rows for all keys per BudgetWindow; 0: DefaultBudget
	BudgetWindow time.Duration // 0: DefaultBudgetWindow

	mu          sync.Mutex
	keys        map[string]*bucket
	budgetStart time.Time
	budgetUsed  int
	pruneAfter  time.Time
	suppressed  atomic.Uint64
}

type bucket struct {
	start   time.Time
	n       int // rows written in the window that began at start
	dropped int // attempts held back since the last row written
}

// Allow reports whether an attempt under key may be written at now, and
// how many attempts under key were held back since the last one written
// (to be said in this row).
func (l *Limiter) Allow(key string, now time.Time) (held int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	perKey, window := orInt(l.PerKey, DefaultPerKey), orDur(l.Window, DefaultWindow)
	budget, budgetWindow := orInt(l.Budget, DefaultBudget), orDur(l.BudgetWindow, DefaultBudgetWindow)
	if l.keys == nil {
		l.keys = map[string]*bucket{}
	}
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= maxKeys && !now.Before(l.pruneAfter) {
			// One sweep a window at most: a flood of new sources must
			// not make each attempt walk the whole map.
			l.pruneAfter = now.Add(window)
			for k, old := range l.keys {
				if now.Sub(old.start) >= window && old.dropped == 0 {
					delete(l.keys, k)
				}
			}
		}
		if len(l.keys) >= maxKeys {
			key = "other"
			b = l.keys[key]
		}
		if b == nil {
			b = &bucket{start: now}
			l.keys[key] = b
		}
	}
	if now.Sub(b.start) >= window {
		b.start, b.n = now, 0
	}
	if now.Sub(l.budgetStart) >= budgetWindow {
		l.budgetStart, l.budgetUsed = now, 0
	}
	if b.n >= perKey || l.budgetUsed >= budget {
		b.dropped++
		l.suppressed.Add(1)
		return 0, false
	}
	b.n++
	l.budgetUsed++
	held, b.dropped = b.dropped, 0
	return held, true
}

// Suppressed counts the attempts held back so far (for /metrics).
func (l *Limiter) Suppressed() uint64 { return l.suppressed.Load() }

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// Inserter is the store's audit writer.
type Inserter interface {
	InsertAudit(ctx context.Context, e store.AuditEntry) error
}

// Log writes refused attempts through a Limiter.
type Log struct {
	Store   Inserter
	Limiter *Limiter
	Logger  *slog.Logger     // nil: slog.Default()
	Now     func() time.Time // nil: time.Now

	logMu   sync.Mutex
	lastErr time.Time // when a failed write was last logged
}

// Refused writes e unless the limiter holds it back; key names the source
// of the attempts (a login, a caller), e.Action their kind. A row that
// stands for held-back attempts says so at the end of its detail.
func (a *Log) Refused(ctx context.Context, key string, e store.AuditEntry) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t := now()
	held, ok := a.Limiter.Allow(e.Action+"|"+key, t)
	if !ok {
		return
	}
	if held > 0 {
		e.Detail += fmt.Sprintf(" (and %d more like it not written: audit rate limit)", held)
	}
	e.Time = t
	if err := a.Store.InsertAudit(ctx, e); err != nil {
		a.logMu.Lock()
		defer a.logMu.Unlock()
		// At most one line a minute: a broken disk must not also flood
		// the log.
		if t.Sub(a.lastErr) >= time.Minute {
			a.lastErr = t
			log := a.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Error("audit: write refused attempt", "action", e.Action, "err", err)
		}
	}
}
