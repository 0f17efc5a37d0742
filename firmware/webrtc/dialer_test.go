package webrtc

import (
	"context"
	"slices"
	"testing"

	pion "github.com/pion/webrtc/v4"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
)

type recordDialer struct{ got []call.Target }

func (d *recordDialer) Dial(_ context.Context, t call.Target) (call.Leg, error) {
	d.got = append(d.got, t)
	return nil, call.Busy
}

func TestDialerRoutesByKind(t *testing.T) {
	h, _ := newTestHub(t)
	next := &recordDialer{}
	d := Dialer{Hub: h, Next: next}
	if _, err := d.Dial(t.Context(), call.Target{Kind: call.TargetExtension, Number: "101"}); call.CauseOf(err) != call.Busy {
		t.Fatalf("extension: %v", err)
	}
	// The browser target reaches the hub, which has no page for bob.
	if _, err := d.Dial(t.Context(), call.Target{Kind: call.TargetBrowser, Number: "bob"}); call.CauseOf(err) != call.Unavailable {
		t.Fatalf("browser: %v", err)
	}
	if len(next.got) != 1 || next.got[0].Number != "101" {
		t.Fatalf("sip dialer got %+v", next.got)
	}
}

func TestICEServers(t *testing.T) {
	got := ICEServers(" stun:stun.example:3478, turn:ann:s3cret@turn.example:3478,,")
	want := []pion.ICEServer{
		{URLs: []string{"stun:stun.example:3478"}},
		{URLs: []string{"turn:turn.example:3478"}, Username: "ann", Credential: "s3cret"},
	}
	if !slices.EqualFunc(got, want, func(a, b pion.ICEServer) bool {
		return slices.Equal(a.URLs, b.URLs) && a.Username == b.Username && a.Credential == b.Credential
	}) {
		t.Fatalf("ICEServers = %+v", got)
	}
}

func TestAttachPublishesPages(t *testing.T) {
	bus := events.New()
	sub := bus.Subscribe(8, events.Filter("webrtc."))
	defer sub.Close()
	h, _ := newTestHub(t)
	h.cfg.Bus = bus
	d1 := h.Attach("bob", newPage())
	d2 := h.Attach("bob", newPage())
	d1()
	d1() // idempotent
	d2()
	var got []int
	for range 3 {
		e := <-sub.C()
		got = append(got, e.Data.(BrowserPages).Pages)
	}
	if !slices.Equal(got, []int{1, 2, 1}) {
		t.Fatalf("pages %v", got)
	}
	if e := <-sub.C(); e.Data.(BrowserPages).Pages != 0 || h.Attached("bob") != 0 {
		t.Fatalf("last detach: %+v", e)
	}
}
