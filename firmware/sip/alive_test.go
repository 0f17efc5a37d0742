package sip

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestAliveProbe checks the watchdog probe: Run beats while the server is
// healthy, and a handler stuck holding the registrar's lock stops it.
func TestAliveProbe(t *testing.T) {
	var beats atomic.Int64
	s, err := New(Config{ListenAddr: "127.0.0.1:0", Alive: func() { beats.Add(1) }, AliveEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for beats.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d beats in 5s, want them every 10ms", beats.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}

	s.reg.mu.Lock() // a registration handler that never returns
	time.Sleep(20 * time.Millisecond)
	stuck := beats.Load()
	time.Sleep(200 * time.Millisecond)
	if n := beats.Load(); n != stuck {
		t.Errorf("%d beats while the registrar was locked, want none", n-stuck)
	}
	s.reg.mu.Unlock()
	deadline = time.Now().Add(5 * time.Second)
	for beats.Load() == stuck {
		if time.Now().After(deadline) {
			t.Fatal("no beat after the registrar was free again")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenAddr(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{":5060", "0.0.0.0:5060", true},
		{"127.0.0.1:5070", "127.0.0.1:5070", true},
		{"[::1]:5060", "[::1]:5060", true},
		{"0.0.0.0:0", "0.0.0.0:0", true},
		{"box.local:5060", "", false},
		{":sip", "", false},
		{"5060", "", false},
	} {
		got, err := listenAddr(c.in)
		if (err == nil) != c.ok || (c.ok && got.String() != c.want) {
			t.Errorf("listenAddr(%q) = %v, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}
