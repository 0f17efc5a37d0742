package main

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

func TestMemAdmit(t *testing.T) {
	runtime.GC() // the live heap is known from the first collection on
	if err := newMemAdmit(1 << 40).admit(); err != nil {
		t.Errorf("admit under a 1 TB limit: %v", err)
	}
	err := newMemAdmit(1 << 10).admit()
	if err == nil || !strings.Contains(err.Error(), "MB held of a 0 MB limit") {
		t.Errorf("admit under a 1 KB limit: %v, want a refusal naming the limit", err)
	}
}

func TestMaxCallsFor(t *testing.T) {
	if n := maxCallsFor(256 << 20); n != 2621 {
		t.Errorf("maxCallsFor(256 MiB) = %d, want 2621 (100 KB a call)", n)
	}
	if n := maxCallsFor(0); n != 16 {
		t.Errorf("maxCallsFor(0) = %d, want the floor of 16", n)
	}
}

func TestMemTotal(t *testing.T) {
	if memTotal() <= 0 {
		t.Error("memTotal found no MemTotal in /proc/meminfo")
	}
}

// A quiet process gets a collection within a period or two; one that
// collects on its own is left alone.
func TestReleaseWhenQuiet(t *testing.T) {
	cycles := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	forced := func() uint64 { metrics.Read(cycles); return cycles[0].Value.Uint64() }
	before := forced()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { releaseWhenQuiet(ctx, 50*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for forced() == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if forced() == before {
		t.Error("no forced collection while the process was quiet")
	}
}
