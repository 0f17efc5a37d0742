package sip

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// recentSet is the compact memory of transactions the box has finished:
// for each, a 64-bit hash of its key and the status it was answered with,
// kept for recentKeep (64*T1, as long as a peer retransmits a request)
// and at most recentMax of them. It replaces keeping every finished
// transaction's parsed messages for 64*T1 (what sipgo does, several KB
// each; 40 KB per call in all before this existed): a retransmitted BYE
// or INFO gets the same status again, a retransmitted INVITE of a call
// already set up is absorbed.
//
// A hash collision could answer an unrelated request with a remembered
// status; with 64-bit hashes and at most recentMax entries the chance is
// about 1e-9 per request, far below a lost datagram's.
type recentSet struct {
	seed maphash.Seed
	keep time.Duration
	max  int

	mu   sync.Mutex // protects following
	m    map[uint64]recentEntry
	q    []recentKey // insertion (= expiry) order; q[head:] are live
	head int
	peak int // most keys m held since it was last rebuilt
}

type recentEntry struct {
	exp  int64 // unix nanoseconds
	code uint16
}

type recentKey struct {
	h   uint64
	exp int64
}

const (
	recentKeep = 32 * time.Second // 64*T1 with T1 = 500 ms
	// recentMax bounds the set: 2 keys a call at 2000 calls/s for 32 s,
	// about 50 bytes each (6 MB). Beyond it the oldest are forgotten
	// early: a request retransmitted later than that is answered as new
	// (481 for a BYE), which ends the dialog at the peer all the same.
	recentMax = 131072
)

func newRecentSet(keep time.Duration, max int) *recentSet {
	return &recentSet{seed: maphash.MakeSeed(), keep: keep, max: max}
}

func (r *recentSet) hash(key string) uint64 { return maphash.String(r.seed, key) }

// add remembers key with the status it was answered with.
func (r *recentSet) add(key string, code int, now time.Time) {
	h := r.hash(key)
	exp := now.Add(r.keep).UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked(now.UnixNano())
	if r.m == nil {
		r.m = make(map[uint64]recentEntry)
	}
	for len(r.q)-r.head >= r.max {
		r.popLocked()
	}
	r.m[h] = recentEntry{exp: exp, code: uint16(code)}
	r.q = append(r.q, recentKey{h: h, exp: exp})
	r.peak = max(r.peak, len(r.m))
}

// get returns the status key was answered with, if it is remembered.
func (r *recentSet) get(key string, now time.Time) (int, bool) {
	h := r.hash(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[h]
	if !ok || e.exp <= now.UnixNano() {
		return 0, false
	}
	return int(e.code), true
}

func (r *recentSet) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.q) - r.head
}

func (r *recentSet) popLocked() {
	k := r.q[r.head]
	r.head++
	// A key added again later has a later expiry: keep that one.
	if e, ok := r.m[k.h]; ok && e.exp == k.exp {
		delete(r.m, k.h)
	}
}

func (r *recentSet) expireLocked(now int64) {
	for r.head < len(r.q) && r.q[r.head].exp <= now {
		r.popLocked()
	}
	switch {
	case r.head == len(r.q):
		// Empty: give the memory of a burst back (Go maps never shrink).
		if cap(r.q) > 1024 {
			r.m, r.q, r.peak = nil, nil, 0
		} else {
			r.q = r.q[:0]
		}
		r.head = 0
	case r.head > 1024 && r.head*2 > len(r.q):
		live := r.q[r.head:]
		if cap(r.q) > 1024 && len(live)*8 < cap(r.q) {
			r.q = append(make([]recentKey, 0, 2*len(live)), live...)
		} else {
			r.q = r.q[:copy(r.q, live)]
		}
		r.head = 0
	}
	// A few stragglers still live after a burst keep the map at the size
	// of the burst (Go maps never shrink): rebuild it at their size, so
	// the box is back near its idle heap once the burst's keys expire.
	if r.peak >= 1024 && len(r.m)*8 < r.peak {
		m := make(map[uint64]recentEntry, len(r.m))
		for k, v := range r.m {
			m[k] = v
		}
		r.m, r.peak = m, len(m)
	}
}

// sweep expires entries every second until ctx ends, so that the memory
// of a burst is returned once it is over even when no request comes.
func (r *recentSet) sweep(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			r.expireLocked(now.UnixNano())
			r.mu.Unlock()
		}
	}
}
