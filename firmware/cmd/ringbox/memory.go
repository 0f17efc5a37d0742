package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The box's memory policy (docs/benchmarks.md has the measurements behind
// the numbers):
//
//   - A soft limit for the Go runtime: GOMEMLIMIT when set (the board's
//     init script sets 200MiB), else defaultMemLimit, at most half the RAM.
//     200 MiB keeps the whole process (heap, stacks, runtime) within 256 MB
//     of RSS at the worst burst measured (docs/benchmarks.md).
//     Near it the GC collects harder instead of letting a burst grow the
//     heap.
//   - New calls are refused with 503 before memory runs short: past
//     maxCallsFor(limit) calls up at once, or while the memory the Go
//     runtime cannot give back (live heap and goroutine stacks) is above
//     admitShare of the limit.
//   - Once the box is quiet (no collection in releaseEvery), what a burst
//     left behind is collected and returned to the OS, so the heap and RSS
//     come back within seconds instead of waiting for the runtime's
//     two-minute forced collection and its slow background scavenger.
const (
	defaultMemLimit = 200 << 20
	// bytesPerCall is what one call up costs the box, rounded up from the
	// benchmarks: about 80 KB RSS for a bridged call with RTP both ways,
	// plus headroom for the garbage the GC has not collected yet.
	bytesPerCall = 100 << 10
	admitShare   = 0.70
	releaseEvery = 5 * time.Second
)

// memLimit sets the Go memory limit when GOMEMLIMIT does not and returns
// the limit in force.
func memLimit(log *slog.Logger) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		limit := debug.SetMemoryLimit(-1)
		log.Info("memory limit from GOMEMLIMIT", "limit_mb", limit>>20)
		return limit
	}
	limit := int64(defaultMemLimit)
	if total := memTotal(); total > 0 && total/2 < limit {
		limit = total / 2
	}
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", "limit_mb", limit>>20)
	return limit
}

// memTotal is the machine's RAM from /proc/meminfo, 0 when unknown.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// maxCallsFor is how many calls may be up at once under limit.
func maxCallsFor(limit int64) int {
	return int(max(limit/bytesPerCall, 16))
}

// memAdmit refuses new calls while the memory the runtime cannot give back
// is above admitShare of limit.
type memAdmit struct {
	limit int64

	mu      sync.Mutex // protects samples (metrics.Read fills them in)
	samples []metrics.Sample
}

func newMemAdmit(limit int64) *memAdmit {
	return &memAdmit{limit: limit, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},               // marked live by the last GC
		{Name: "/memory/classes/heap/stacks:bytes"}, // goroutine stacks
		{Name: "/memory/classes/os-stacks:bytes"},
	}}
}

// held is the live heap plus goroutine stacks, in bytes.
func (m *memAdmit) held() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	metrics.Read(m.samples)
	var n int64
	for _, s := range m.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			n += int64(s.Value.Uint64())
		}
	}
	return n
}

func (m *memAdmit) admit() error {
	if held := m.held(); float64(held) > admitShare*float64(m.limit) {
		return fmt.Errorf("memory: %d MB held of a %d MB limit", held>>20, m.limit>>20)
	}
	return nil
}

// releaseWhenQuiet returns memory to the OS whenever no collection has run
// for releaseEvery: a busy box collects on its own, a quiet one would keep
// a burst's garbage and free pages for minutes. A forced collection of a
// quiet box's small heap costs about a millisecond.
func releaseWhenQuiet(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	cycles := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	read := func() uint64 {
		metrics.Read(cycles)
		return cycles[0].Value.Uint64()
	}
	last := read()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := read(); n != last {
			last = n
			continue
		}
		debug.FreeOSMemory()
		last = read()
	}
}
