package webrtc

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

func TestDialWithoutPageFailsAtOnce(t *testing.T) {
	h, _ := newTestHub(t)
	_, err := h.Dial(t.Context(), call.Target{Kind: call.TargetBrowser, Number: "bob"})
	if call.CauseOf(err) != call.Unavailable {
		t.Fatalf("dial with no page: %v, want unavailable", err)
	}
	// Another agent's page does not count.
	detach := h.Attach("alice", newPage())
	defer detach()
	if _, err := h.Dial(t.Context(), call.Target{Kind: call.TargetBrowser, Number: "bob"}); call.CauseOf(err) != call.Unavailable {
		t.Fatalf("dial bob with alice attached: %v", err)
	}
}

func TestRingingSendsIncoming(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	l, err := h.Dial(t.Context(), call.Target{Kind: call.TargetBrowser, Number: "bob", From: call.Party{Number: "+15550100", Name: "Ann"}, Via: "Sales", Call: "1-99@carrier"})
	if err != nil {
		t.Fatal(err)
	}
	// The page matches the ringing to the agent's offer by Offer.
	s := p.next(t, TypeIncoming)
	want := Signal{Type: TypeIncoming, CallID: l.ID(), Caller: "+15550100", CallerName: "Ann", Via: "Sales", Offer: "1-99@carrier"}
	if s != want {
		t.Fatalf("incoming = %+v, want %+v", s, want)
	}
	select {
	case <-l.(call.Ringer).Ringing():
	default:
		t.Fatal("leg not ringing")
	}
	l.Hangup(call.Cancelled)
	if c := p.next(t, TypeCancel); c.Reason != "cancelled" {
		t.Fatalf("cancel reason %q", c.Reason)
	}
}

func TestRingContextEndSendsCancel(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	ctx, cancel := context.WithCancelCause(t.Context())
	leg := ring(t, h, ctx, "bob", p)
	cancel(call.AnsweredElsewhere)
	s := p.next(t, TypeCancel)
	if s.CallID != leg.ID() || s.Reason != "answered_elsewhere" {
		t.Fatalf("cancel = %+v", s)
	}
	<-leg.Done()
	if call.CauseOf(leg.Err()) != call.AnsweredElsewhere {
		t.Fatalf("leg ended with %v", leg.Err())
	}
}

func TestDeclineRejects(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeDecline, CallID: leg.ID()})
	select {
	case <-leg.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("decline did not end the leg")
	}
	if call.CauseOf(leg.Err()) != call.Rejected {
		t.Fatalf("leg ended with %v, want rejected", leg.Err())
	}
	if err := leg.Answer(t.Context()); call.CauseOf(err) != call.Rejected {
		t.Fatalf("Answer after decline: %v", err)
	}
}

func TestOtherAgentCannotTouchCall(t *testing.T) {
	h, _ := newTestHub(t)
	p, q := newPage(), newPage()
	defer h.Attach("bob", p)()
	defer h.Attach("eve", q)()
	leg := ring(t, h, t.Context(), "bob", p)
	h.ReceiveFrom(t.Context(), "eve", q, Signal{Type: TypeDecline, CallID: leg.ID()})
	select {
	case <-leg.Done():
		t.Fatal("another agent's decline ended bob's call")
	case <-time.After(100 * time.Millisecond):
	}
	leg.Hangup(call.Cancelled)
}

func TestAcceptAnswersAndAudioFlowsBothWays(t *testing.T) {
	h, eng := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	leg := ring(t, h, ctx, "bob", p)
	b := newBrowser(t)
	answerCall(t, h, leg, p, b, ctx)
	if got := leg.Media().Codec(); got != "PCMU" {
		t.Fatalf("codec %q", got)
	}

	ph := newPhone(t, eng)
	bctx, stop := context.WithCancel(ctx)
	bridged := make(chan error, 1)
	go func() { bridged <- media.Bridge(bctx, leg.MediaStream(), ph.st) }()
	defer func() { stop(); <-bridged }()

	// Browser to phone: the browser's payload arrives unchanged.
	want := pattern(7)
	got := false
	for range 50 {
		pkt, err := ph.read(2 * time.Second)
		if err != nil {
			t.Fatalf("phone heard nothing: %v", err)
		}
		if bytes.Equal(pkt.Payload, want) {
			got = true
			break
		}
	}
	if !got {
		t.Fatal("phone never got the browser's audio")
	}
	// Phone to browser.
	tone := pattern(99)
	deadline := time.After(3 * time.Second)
	for seq := uint16(1); ; seq++ {
		ph.send(seq, tone)
		select {
		case pkt := <-b.got:
			if bytes.Equal(pkt.Payload, tone) {
				if pkt.PayloadType != 0 {
					t.Fatalf("browser got pt %d", pkt.PayloadType)
				}
				goto counted
			}
		case <-deadline:
			t.Fatal("browser never got the phone's audio")
		case <-time.After(20 * time.Millisecond):
		}
	}
counted:
	// A stream counts a packet after its write returns, which can be after
	// the browser has the packet: wait for the counters a moment.
	var s, ps media.Stats
	for range 100 {
		s, ps = leg.MediaStream().Stats(), ph.st.Stats()
		if s.PacketsIn > 0 && s.PacketsOut > 0 && ps.PacketsIn > 0 && ps.PacketsOut > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stream stats: browser leg %+v, phone %+v: want packets both ways on both", s, ps)
}

func TestPageHangupEndsLegNormal(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeHangup, CallID: leg.ID()})
	select {
	case <-leg.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("page hangup did not end the leg")
	}
	if c := call.CauseOf(leg.Err()); c != call.Normal {
		t.Fatalf("cause %v, want normal", c)
	}
}

func TestBoxHangupTellsPage(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	leg.Hangup(call.Normal)
	if s := p.next(t, TypeHangup); s.CallID != leg.ID() || s.Reason != "normal" {
		t.Fatalf("hangup = %+v", s)
	}
}

func TestDetachEndsAnsweredCall(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	detach := h.Attach("bob", p)
	leg := ring(t, h, t.Context(), "bob", p)
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	detach()
	select {
	case <-leg.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("closing the page did not end the call")
	}
}

func TestSecondPageGetsCancelWhenFirstAccepts(t *testing.T) {
	h, _ := newTestHub(t)
	p1, p2 := newPage(), newPage()
	defer h.Attach("bob", p1)()
	defer h.Attach("bob", p2)()
	leg := ring(t, h, t.Context(), "bob", p1, p2)
	b := newBrowser(t)
	h.ReceiveFrom(t.Context(), "bob", p1, Signal{Type: TypeAccept, CallID: leg.ID(), SDP: b.offer()})
	if s := p2.next(t, TypeCancel); s.Reason != "answered_elsewhere" {
		t.Fatalf("second page: %+v", s)
	}
	p1.next(t, TypeAnswer)
	// A late accept from the second page is refused.
	h.ReceiveFrom(t.Context(), "bob", p2, Signal{Type: TypeAccept, CallID: leg.ID(), SDP: newBrowser(t).offer()})
	if s := p2.next(t, TypeCancel); s.Reason != "answered_elsewhere" {
		t.Fatalf("late accept: %+v", s)
	}
	p1.quiet(t)
}

func TestKeypadSendsRFC4733(t *testing.T) {
	h, eng := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	ph := newPhone(t, eng)
	bctx, stop := context.WithCancel(t.Context())
	bridged := make(chan error, 1)
	go func() { bridged <- media.Bridge(bctx, leg.MediaStream(), ph.st) }()
	defer func() { stop(); <-bridged }()

	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeDTMF, CallID: leg.ID(), Digit: "5"})
	select {
	case d := <-leg.Media().Digits():
		if d.Key != '5' {
			t.Fatalf("digit %q", d.Key)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit on the leg")
	}
	// The far end gets the event on its telephone-event payload type.
	for range 100 {
		pkt, err := ph.read(2 * time.Second)
		if err != nil {
			t.Fatalf("phone: %v", err)
		}
		if pkt.PayloadType == media.TelephoneEvent.PT {
			if len(pkt.Payload) < 4 || pkt.Payload[0] != 5 {
				t.Fatalf("event payload %x", pkt.Payload)
			}
			return
		}
	}
	t.Fatal("phone got no RFC 4733 event")
}

func TestMuteSendsSilence(t *testing.T) {
	h, eng := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	ph := newPhone(t, eng)
	bctx, stop := context.WithCancel(t.Context())
	bridged := make(chan error, 1)
	go func() { bridged <- media.Bridge(bctx, leg.MediaStream(), ph.st) }()
	defer func() { stop(); <-bridged }()

	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeMute, CallID: leg.ID()})
	silent := bytes.Repeat([]byte{0xFF}, 160)
	for range 100 {
		pkt, err := ph.read(2 * time.Second)
		if err != nil {
			t.Fatalf("phone: %v", err)
		}
		if bytes.Equal(pkt.Payload, silent) {
			goto unmute
		}
	}
	t.Fatal("muted browser still heard")
unmute:
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeUnmute, CallID: leg.ID()})
	for range 100 {
		pkt, err := ph.read(2 * time.Second)
		if err != nil {
			t.Fatalf("phone: %v", err)
		}
		if bytes.Equal(pkt.Payload, pattern(7)) {
			return
		}
	}
	t.Fatal("unmuted browser not heard")
}

func TestHoldStopsAudioBothWays(t *testing.T) {
	h, eng := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	b := newBrowser(t)
	answerCall(t, h, leg, p, b, t.Context())
	ph := newPhone(t, eng)
	bctx, stop := context.WithCancel(t.Context())
	bridged := make(chan error, 1)
	go func() { bridged <- media.Bridge(bctx, leg.MediaStream(), ph.st) }()
	defer func() { stop(); <-bridged }()

	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeHold, CallID: leg.ID()})
	time.Sleep(60 * time.Millisecond) // packets in flight
	for drained := false; !drained; {
		select {
		case <-b.got:
		default:
			drained = true
		}
	}
	// Skip what the phone got before the hold took effect: from the first
	// silent packet on, all are silent.
	silent := bytes.Repeat([]byte{0xFF}, 160)
	for i := 0; ; i++ {
		pkt, err := ph.read(time.Second)
		if err != nil || i == 200 {
			t.Fatalf("no silence on hold: %v", err)
		}
		if bytes.Equal(pkt.Payload, silent) {
			break
		}
	}
	before := b.count.Load()
	for seq := uint16(1); seq < 10; seq++ {
		ph.send(seq, pattern(1))
		time.Sleep(5 * time.Millisecond)
	}
	// The far end gets silence, not the microphone.
	for range 5 {
		pkt, err := ph.read(time.Second)
		if err != nil {
			t.Fatalf("phone on hold: %v", err)
		}
		if bytes.Equal(pkt.Payload, pattern(7)) {
			t.Fatal("phone heard the browser on hold")
		}
	}
	if n := b.count.Load(); n != before {
		t.Fatalf("browser heard %d packets on hold", n-before)
	}
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeUnhold, CallID: leg.ID()})
	for range 100 {
		pkt, err := ph.read(2 * time.Second)
		if err != nil {
			t.Fatalf("after unhold: %v", err)
		}
		if bytes.Equal(pkt.Payload, pattern(7)) {
			break
		}
	}
	ph.send(20, pattern(1))
	if !waitPayload(b.got, nil) {
		t.Fatal("browser hears nothing after unhold")
	}
}

func TestHubCloseEndsLegs(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	h.Close()
	if call.CauseOf(leg.Err()) != call.Shutdown {
		t.Fatalf("cause %v", leg.Err())
	}
	if _, err := h.Dial(t.Context(), call.Target{Kind: call.TargetBrowser, Number: "bob"}); !errors.Is(err, call.Shutdown) {
		t.Fatalf("dial after close: %v", err)
	}
}

func TestReceiveWithoutSessionSinglePage(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	b := newBrowser(t)
	h.Receive(t.Context(), "bob", Signal{Type: TypeAccept, CallID: leg.ID(), SDP: b.offer()})
	b.answer(p.next(t, TypeAnswer).SDP)
	b.talk(t.Context(), pattern(1))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := leg.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	// A page that is not attached is not heard.
	h.ReceiveFrom(t.Context(), "bob", newPage(), Signal{Type: TypeHangup, CallID: leg.ID()})
	select {
	case <-leg.Done():
		t.Fatal("a detached page hung up the call")
	case <-time.After(100 * time.Millisecond):
	}
	h.Receive(t.Context(), "bob", Signal{Type: TypeHangup, CallID: leg.ID()})
	<-leg.Done()
}

// The page's Transfer button asks the flow for a blind transfer the way a
// SIP phone's REFER does; the flow's reports reach the page.
func TestPageTransferReachesFlowAndReports(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeTransfer, CallID: leg.ID(), To: "102"})
	var x call.Transfer
	select {
	case x = <-leg.Transfers():
	case <-time.After(3 * time.Second):
		t.Fatal("the transfer did not reach the flow")
	}
	if x.To != "102" || x.Kind() != "blind" || x.Report == nil {
		t.Fatalf("transfer = %+v", x)
	}
	x.Report(100, "Trying")
	x.Report(486, "Busy Here")
	if s := p.next(t, TypeTransfer); s.Code != 100 || s.CallID != leg.ID() {
		t.Fatalf("first report = %+v", s)
	}
	if s := p.next(t, TypeTransfer); s.Code != 486 || s.Reason != "Busy Here" {
		t.Fatalf("final report = %+v", s)
	}
}

// A transfer nobody takes (the call is not bridged) is refused with 403,
// and one asked while the call still rings with 481: the page says so
// instead of waiting.
func TestPageTransferRefusedOutsideBridge(t *testing.T) {
	h, _ := newTestHub(t)
	p := newPage()
	defer h.Attach("bob", p)()
	leg := ring(t, h, t.Context(), "bob", p)
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeTransfer, CallID: leg.ID(), To: "102"})
	if s := p.next(t, TypeTransfer); s.Code != 481 {
		t.Fatalf("transfer while ringing = %+v, want 481", s)
	}
	answerCall(t, h, leg, p, newBrowser(t), t.Context())
	h.ReceiveFrom(t.Context(), "bob", p, Signal{Type: TypeTransfer, CallID: leg.ID(), To: "102"})
	if s := p.next(t, TypeTransfer); s.Code != 403 {
		t.Fatalf("transfer not taken = %+v, want 403", s)
	}
}
