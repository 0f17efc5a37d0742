package audit_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/audit"
	"ringbox/firmware/store"
)

type rows struct {
	mu sync.Mutex
	e  []store.AuditEntry
}

func (r *rows) InsertAudit(_ context.Context, e store.AuditEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.e = append(r.e, e)
	return nil
}

func (r *rows) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.e)
}

// A flood from one source writes a few rows a minute; a source that stays
// quiet is not starved by it until the hourly budget is spent; the next
// row after a held-back burst says how many it stands for.
func TestLimiterFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &rows{}
		l := &audit.Log{Store: st, Limiter: &audit.Limiter{PerKey: 5, Window: time.Minute, Budget: 20, BudgetWindow: time.Hour}}
		ctx := t.Context()
		for range 10000 {
			l.Refused(ctx, "mallory", store.AuditEntry{Action: "web.forbidden", Actor: "mallory", Detail: "no"})
		}
		if got := st.n(); got != 5 {
			t.Fatalf("10,000 refusals in a second wrote %d rows, want 5", got)
		}
		l.Refused(ctx, "bob", store.AuditEntry{Action: "web.forbidden", Actor: "bob", Detail: "no"})
		if got := st.n(); got != 6 {
			t.Fatalf("another user's refusal was held back behind the flood: %d rows", got)
		}
		time.Sleep(time.Minute)
		l.Refused(ctx, "mallory", store.AuditEntry{Action: "web.forbidden", Actor: "mallory", Detail: "no"})
		if got := st.e[6].Detail; !strings.Contains(got, "9995 more") {
			t.Errorf("row after the burst says %q, want the 9995 held back", got)
		}
		// The hourly budget caps everything: 20 rows, whatever the sources.
		for i := range 200 {
			l.Refused(ctx, string(rune('a'+i%26))+"x", store.AuditEntry{Action: "call.forbidden", Detail: "no"})
		}
		if got := st.n(); got != 20 {
			t.Errorf("rows in the hour = %d, want the budget of 20", got)
		}
		time.Sleep(time.Hour)
		l.Refused(ctx, "carol", store.AuditEntry{Action: "call.forbidden", Detail: "no"})
		if got := st.n(); got != 21 {
			t.Errorf("a new hour wrote no row: %d", got)
		}
		if l.Limiter.Suppressed() == 0 {
			t.Error("nothing counted as suppressed")
		}
	})
}

// Sources beyond the remembered maximum share one key: memory stays
// bounded when every attempt comes from a new address.
func TestLimiterManySources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := &audit.Limiter{PerKey: 1, Budget: 1 << 30}
		now := time.Now()
		written := 0
		for i := range 20000 {
			if _, ok := lim.Allow("src"+string(rune(i)), now); ok {
				written++
			}
		}
		if written > 4097 {
			t.Errorf("%d rows from 20,000 new sources in one minute, want at most one per remembered source", written)
		}
	})
}

// BenchmarkLimiterAllow is the limiter's cost per refused attempt during a
// flood from many sources (the path every 403 and refused call takes).
func BenchmarkLimiterAllow(b *testing.B) {
	lim := &audit.Limiter{}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "web.forbidden|user" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
	}
	now := time.Now()
	i := 0
	for b.Loop() {
		lim.Allow(keys[i%len(keys)], now)
		i++
	}
}
