package acd

import (
	"context"
	"log/slog"
	"testing"

	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
)

// newEngine runs an engine on testSite until the test ends.
func newEngine(t *testing.T) *Engine {
	t.Helper()
	cfg, err := config.New(testSite(nil), 1)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Config{Config: cfg, Dialer: calltest.NewDialer(), Store: newMemStore(), Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

func TestFeatureCodes(t *testing.T) {
	e := newEngine(t)
	a := struct{ e *Engine }{e}
	fe := &flow.Engine{Config: a.e.cfg.Config, Dialer: calltest.NewDialer(), Features: a.e.Features(), Logger: slog.New(slog.DiscardHandler)}
	dial := func(code string) {
		leg := calltest.NewLeg("bob-phone")
		fe.Handle(context.Background(), leg, flow.Inbound{CallID: code, To: code, Extension: "101"})
	}
	status := func() AgentInfo { ag, _ := a.e.Agent(context.Background(), "bob"); return ag }
	dial(FeatureLogin)
	if s := status(); s.Status != Available {
		t.Fatalf("after *45: %s, want available", s.Status)
	}
	dial(FeatureAvailable)
	if s := status(); s.Status != Unavailable {
		t.Fatalf("after *46: %s, want unavailable", s.Status)
	}
	dial(FeatureAvailable)
	dial(FeatureLogin)
	if s := status(); s.Status != LoggedOut {
		t.Fatalf("after *46 *45: %s, want logged out", s.Status)
	}
	if err := a.e.Button("bob", true); err != nil {
		t.Fatal(err)
	}
	if s := status(); s.Status != Unavailable {
		t.Errorf("after a long press: %s, want unavailable (logged in)", s.Status)
	}
	a.e.Button("bob", false)
	if s := status(); s.Status != LoggedOut {
		t.Errorf("after a short press: %s, want logged out", s.Status)
	}
}
