package webrtc

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

// setupTimeout bounds accept to answered: ICE, DTLS and the first audio
// packet. A LAN needs well under a second; TURN a few.
const setupTimeout = 15 * time.Second

type legState int

const (
	stateRinging   legState = iota
	stateAccepting          // a page accepted; ICE and DTLS under way
	stateAnswered
	stateEnded
)

// Leg is a call leg to an agent's browser. It implements call.Leg, and its
// MediaStream is what bridges and recorders relay.
type Leg struct {
	h     *Hub
	id    string
	agent string
	from  call.Party
	via   string
	log   *slog.Logger
	st    *media.Stream
	// peer is the stream's SDP address: nothing listens there (packets
	// pass through SetTransport and Deliver), but the stream sends only to
	// a peer with an address and latches on it.
	peer netip.AddrPort

	ctx       context.Context // ends with the leg; its cause is the leg's Cause
	cancel    context.CancelCauseFunc
	answeredC chan struct{}
	ringingC  chan struct{}
	tracks    chan *pion.TrackRemote
	transfers chan call.Transfer // the page's transfer requests, taken by the flow (call.Transferor)

	muted, held atomic.Bool
	codec       media.Codec // negotiated; set before answeredC closes
	dtmfPT      uint8       // 0: the page did not offer telephone-event
	out         *outTrack

	outMu sync.Mutex // serialises the stream's senders (relay, playback, digits) on rw
	rw    rewriter

	up upState // browser -> stream sequence space, shared with injected digits

	mu       sync.Mutex  // protects following
	stopRing func() bool // unregisters the ring context's AfterFunc
	state    legState
	winner   *page
	pc       *pion.PeerConnection
	cause    call.Cause
}

// upState renumbers what the box writes into the stream on the browser's
// behalf, so that digits the box synthesises (keypad signals) and the
// browser's own packets form one RTP sequence.
type upState struct {
	mu      sync.Mutex // protects following
	seqOff  uint16
	lastSeq uint16
	lastTS  uint32
	ssrc    uint32
	started bool
}

var (
	_ call.Leg        = (*Leg)(nil)
	_ call.Ringer     = (*Leg)(nil)
	_ call.Transferor = (*Leg)(nil)
)

var legSeq atomic.Uint64

// Dial rings agent t.Number's attached pages: see call.Dialer. It fails at
// once with call.Unavailable when the agent has no page attached.
func (h *Hub) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	if t.Kind != call.TargetBrowser {
		return nil, fmt.Errorf("webrtc dial kind %d: %w", t.Kind, call.NotFound)
	}
	agent := t.Number
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("dial browser of %s: %w", agent, call.Shutdown)
	}
	n := len(h.pages[agent])
	h.mu.Unlock()
	if n == 0 {
		return nil, fmt.Errorf("dial browser of %s: no page attached: %w", agent, call.Unavailable)
	}
	st, err := h.cfg.Media.Open()
	if err != nil {
		return nil, fmt.Errorf("dial browser of %s: %w: %w", agent, err, call.Congestion)
	}
	id := "webrtc-" + strconv.FormatUint(legSeq.Add(1), 10)
	lctx, cancel := context.WithCancelCause(context.Background())
	l := &Leg{
		h: h, id: id, agent: agent, from: t.From, via: t.Via,
		log:       h.log.With("call", id, "agent", agent),
		st:        st,
		peer:      netip.AddrPortFrom(st.Local().Addr(), 9),
		out:       &outTrack{},
		ctx:       lctx,
		cancel:    cancel,
		answeredC: make(chan struct{}),
		ringingC:  make(chan struct{}),
		tracks:    make(chan *pion.TrackRemote, 1),
		transfers: make(chan call.Transfer),
	}
	close(l.ringingC) // the pages ring as soon as they get incoming
	st.SetTransport(l.writeOut)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		st.Close()
		return nil, fmt.Errorf("dial browser of %s: %w", agent, call.Shutdown)
	}
	h.legs[id] = l
	pages := h.pagesLocked(agent)
	h.mu.Unlock()
	sig := Signal{Type: TypeIncoming, CallID: id, Caller: t.From.Number, CallerName: t.From.Name, Via: t.Via, Offer: t.Call}
	sent := 0
	for _, p := range pages {
		if err := p.s.Send(sig); err != nil {
			l.log.Debug("send incoming", "error", err)
			continue
		}
		sent++
	}
	if sent == 0 {
		l.end(call.Unavailable)
		return nil, fmt.Errorf("dial browser of %s: no page took the call: %w", agent, call.Unavailable)
	}
	// Ringing ends with ctx (no goroutine until then); answering stops it.
	// Under l.mu: a page may accept before Dial returns.
	l.mu.Lock()
	l.stopRing = context.AfterFunc(ctx, func() {
		l.stopRinging(call.CauseOf(context.Cause(ctx)))
	})
	l.mu.Unlock()
	l.log.Debug("ringing browser", "pages", sent)
	return l, nil
}

func (h *Hub) pagesLocked(agent string) []*page {
	out := make([]*page, 0, len(h.pages[agent]))
	for p := range h.pages[agent] {
		out = append(out, p)
	}
	return out
}

// ID implements call.Leg; it is also the call_id of the leg's signals.
func (l *Leg) ID() string { return l.id }

// Remote implements call.Leg: the agent.
func (l *Leg) Remote() call.Party { return call.Party{Number: l.agent, Name: l.agent} }

// Agent is the agent whose browser this leg rings.
func (l *Leg) Agent() string { return l.agent }

// Context ends with the leg (call.AfterEnd uses it instead of a goroutine).
func (l *Leg) Context() context.Context { return l.ctx }

// Done implements call.Leg.
func (l *Leg) Done() <-chan struct{} { return l.ctx.Done() }

// Ringing implements call.Ringer: the pages ring from Dial on.
func (l *Leg) Ringing() <-chan struct{} { return l.ringingC }

// Err implements call.Leg.
func (l *Leg) Err() error {
	select {
	case <-l.ctx.Done():
	default:
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// MediaStream is the stream bridges relay (media.Streamer).
func (l *Leg) MediaStream() *media.Stream { return l.st }

// Answer implements call.Leg: it waits until a page accepted and its audio
// arrived, the leg ended, or ctx ended.
func (l *Leg) Answer(ctx context.Context) error {
	select {
	case <-l.answeredC:
		return nil
	case <-l.ctx.Done():
		return fmt.Errorf("browser %s: %w", l.agent, context.Cause(l.ctx))
	case <-ctx.Done():
		return fmt.Errorf("browser %s: %w", l.agent, context.Cause(ctx))
	}
}

// Progress implements call.Leg; an outbound leg has nothing to send.
func (l *Leg) Progress(context.Context) error { return nil }

// Hangup implements call.Leg.
func (l *Leg) Hangup(c call.Cause) { l.end(c) }

// stopRinging ends an unanswered leg because the ring context ended.
func (l *Leg) stopRinging(c call.Cause) {
	l.mu.Lock()
	answered := l.state == stateAnswered
	l.mu.Unlock()
	if !answered {
		l.end(c)
	}
}

// end ends the leg once: tell the pages, then free the peer connection,
// socket and stream on a goroutine the hub waits for (pion's Close waits
// for its own goroutines and may be reached from one of its callbacks).
func (l *Leg) end(c call.Cause) {
	l.mu.Lock()
	if l.state == stateEnded {
		l.mu.Unlock()
		return
	}
	prev, winner, pc, stopRing := l.state, l.winner, l.pc, l.stopRing
	l.state, l.cause = stateEnded, c
	l.mu.Unlock()
	l.cancel(c)
	if stopRing != nil {
		stopRing()
	}
	h := l.h
	h.mu.Lock()
	delete(h.legs, l.id)
	pages := h.pagesLocked(l.agent)
	h.mu.Unlock()
	switch {
	case prev == stateRinging:
		for _, p := range pages {
			l.send(p, Signal{Type: TypeCancel, CallID: l.id, Reason: c.String()})
		}
	default:
		l.sendTo(winner, pages, Signal{Type: TypeHangup, CallID: l.id, Reason: c.String()})
	}
	l.log.Debug("browser leg ended", "cause", c)
	h.spawn(func() {
		if pc != nil {
			if err := pc.Close(); err != nil {
				l.log.Debug("close peer connection", "error", err)
			}
		}
		l.st.Close()
	})
}

// sendTo sends s to page p or, when the web layer did not say which page
// accepted (Receive, several pages), to all of them.
func (l *Leg) sendTo(p *page, all []*page, s Signal) {
	if p != nil {
		l.send(p, s)
		return
	}
	for _, o := range all {
		l.send(o, s)
	}
}

func (l *Leg) send(p *page, s Signal) {
	if err := p.s.Send(s); err != nil {
		l.log.Debug("send to page", "type", s.Type, "error", err)
	}
}

// pageGone handles a page detaching while the leg lives.
func (l *Leg) pageGone(p *page) {
	l.mu.Lock()
	st, winner := l.state, l.winner
	l.mu.Unlock()
	switch {
	case winner == p:
		l.end(call.Normal) // the agent closed the tab: the call is over
	case st == stateRinging && l.h.Attached(l.agent) == 0:
		l.end(call.Unavailable)
	}
}

// signal handles one message from a page of the leg's agent (from is nil
// when the web layer did not say which page).
func (l *Leg) signal(ctx context.Context, from *page, sig Signal) {
	switch sig.Type {
	case TypeAccept:
		l.accept(from, sig.SDP)
	case TypeDecline:
		l.mu.Lock()
		ringing := l.state == stateRinging
		l.mu.Unlock()
		if ringing {
			l.end(call.Rejected)
		}
	case TypeHangup:
		l.mu.Lock()
		st, winner := l.state, l.winner
		l.mu.Unlock()
		switch {
		case st == stateRinging:
			l.end(call.Rejected)
		case from == nil || from == winner:
			l.end(call.Normal)
		}
	case TypeDTMF:
		if l.isAnswered() {
			l.h.spawn(func() {
				if err := l.sendDigit(sig.Digit[0], 100*time.Millisecond); err != nil {
					l.log.Debug("keypad digit", "error", err)
				}
			})
		}
	case TypeMute, TypeUnmute:
		l.muted.Store(sig.Type == TypeMute)
	case TypeHold, TypeUnhold:
		l.setHold(sig.Type == TypeHold)
	case TypeTransfer:
		l.mu.Lock()
		st, winner := l.state, l.winner
		l.mu.Unlock()
		if st != stateAnswered || (from != nil && from != winner) {
			if from != nil {
				l.send(from, Signal{Type: TypeTransfer, CallID: l.id, Code: 481, Reason: "no call to transfer"})
			}
			return
		}
		l.h.spawn(func() { l.transfer(winner, sig.To) })
	}
}

// transferHandOver bounds how long a page's transfer waits for the flow
// to take it: the flow reads the channel while the leg is bridged, so a
// request nobody takes is one made outside a bridge (a prompt, a hold).
const transferHandOver = 2 * time.Second

// transfer hands the page's blind transfer to the flow, as a SIP phone's
// REFER is (call.Transferor); the flow's reports go back to the page as
// transfer signals.
func (l *Leg) transfer(p *page, to string) {
	report := func(code int, reason string) {
		if p != nil {
			l.send(p, Signal{Type: TypeTransfer, CallID: l.id, Code: code, Reason: reason})
		}
	}
	x := call.Transfer{To: to, Report: report}
	l.log.Info("transfer asked", "to", to)
	timer := time.NewTimer(transferHandOver)
	defer timer.Stop()
	select {
	case l.transfers <- x:
	case <-timer.C:
		l.log.Info("transfer not taken: the leg is not bridged")
		report(403, "Forbidden")
	case <-l.ctx.Done():
	}
}

// Transfers implements call.Transferor: the transfers the agent asked for
// on the page.
func (l *Leg) Transfers() <-chan call.Transfer { return l.transfers }

func (l *Leg) isAnswered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state == stateAnswered
}

// accept claims the call for page p, cancels it on the agent's other
// pages and sets the media up on a goroutine the hub owns.
func (l *Leg) accept(p *page, offer string) {
	h := l.h
	h.mu.Lock()
	pages := h.pagesLocked(l.agent)
	h.mu.Unlock()
	if p == nil && len(pages) == 1 {
		p = pages[0] // Receive from an agent with one page: that page
	}
	l.mu.Lock()
	if l.state != stateRinging {
		reason := call.AnsweredElsewhere
		if l.state == stateEnded {
			reason = l.cause
		}
		l.mu.Unlock()
		l.sendTo(p, pages, Signal{Type: TypeCancel, CallID: l.id, Reason: reason.String()})
		return
	}
	l.state, l.winner = stateAccepting, p
	l.mu.Unlock()
	for _, o := range pages {
		if p != nil && o != p {
			l.send(o, Signal{Type: TypeCancel, CallID: l.id, Reason: call.AnsweredElsewhere.String()})
		}
	}
	h.spawn(func() {
		if err := l.run(p, offer); err != nil {
			l.log.Info("browser call setup failed", "error", err)
			l.end(call.CauseOf(err))
		}
	})
}

// run sets up the peer connection for page p's offer (p nil: the agent's
// only page is unknown, answer them all), answers it, waits for the
// browser's audio and then pumps it into the stream until the leg ends.
// The other direction needs no goroutine: the stream's senders call
// writeOut.
func (l *Leg) run(p *page, offer string) error {
	pc, err := l.h.api.NewPeerConnection(pion.Configuration{ICEServers: l.h.cfg.ICEServers})
	if err != nil {
		return fmt.Errorf("new peer connection: %w: %w", err, call.Failure)
	}
	l.mu.Lock()
	if l.state == stateEnded {
		l.mu.Unlock()
		pc.Close()
		return nil
	}
	l.pc = pc
	l.mu.Unlock()

	if _, err := pc.AddTransceiverFromTrack(l.out, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionSendrecv}); err != nil {
		return fmt.Errorf("add track: %w: %w", err, call.Failure)
	}
	pc.OnTrack(func(t *pion.TrackRemote, _ *pion.RTPReceiver) {
		if t.Kind() == pion.RTPCodecTypeAudio {
			select {
			case l.tracks <- t:
			default:
			}
		}
	})
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		l.log.Debug("peer connection", "state", s)
		switch s {
		case pion.PeerConnectionStateFailed:
			l.end(call.MediaTimeout)
		case pion.PeerConnectionStateClosed:
			l.end(call.Normal)
		}
	})
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("page offer: %w: %w", err, call.Failure)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w: %w", err, call.Failure)
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("set answer: %w: %w", err, call.Failure)
	}
	select {
	case <-gathered:
	case <-l.ctx.Done():
		return nil
	}
	local := pc.LocalDescription()
	codec, dtmf, err := answerCodecs(local.SDP)
	if err != nil {
		return fmt.Errorf("answer: %w: %w", err, call.Failure)
	}
	l.codec, l.dtmfPT = codec, dtmf
	l.st.SetRemote(l.streamDesc(false))
	l.sendTo(p, l.h.pagesOf(l.agent), Signal{Type: TypeAnswer, CallID: l.id, SDP: local.SDP})

	setup := time.NewTimer(setupTimeout)
	defer setup.Stop()
	var track *pion.TrackRemote
	select {
	case track = <-l.tracks:
	case <-setup.C:
		return fmt.Errorf("no audio from the page in %v: %w", setupTimeout, call.MediaTimeout)
	case <-l.ctx.Done():
		return nil
	}
	l.mu.Lock()
	if l.state != stateAccepting {
		l.mu.Unlock()
		return nil
	}
	l.state = stateAnswered
	stopRing := l.stopRing
	l.mu.Unlock()
	if stopRing != nil {
		stopRing()
	}
	close(l.answeredC)
	l.log.Debug("browser answered", "codec", l.codec.Name)
	l.pumpUp(track)
	return nil
}

// streamDesc is the stream's view of its peer: the loopback socket, the
// codec and telephone-event payload types the page negotiated.
func (l *Leg) streamDesc(held bool) media.Desc {
	d := media.Desc{
		Addr:      l.peer,
		Codecs:    []media.Codec{l.codec},
		Direction: "sendrecv",
		RTCPMux:   true,
	}
	if held {
		d.Direction = "inactive"
	}
	if l.dtmfPT != 0 {
		d.DTMF = &media.Codec{Name: "telephone-event", PT: l.dtmfPT, Clock: 8000}
	}
	return d
}

// setHold stops audio both ways: the stream stops sending to the page
// (and stops counting inactivity), and pumpUp replaces the microphone by
// silence, as for mute, so RTP keeps flowing to the far end.
func (l *Leg) setHold(on bool) {
	if l.held.Swap(on) == on || !l.isAnswered() {
		return
	}
	l.st.SetRemote(l.streamDesc(on))
}

// silence is one G.711 silent byte.
func silence(codec string) byte {
	if codec == "PCMA" {
		return 0xD5
	}
	return 0xFF
}

// pumpUp hands the browser's RTP to the stream until the track ends.
// Muted or on hold, the payload becomes silence: RTP keeps flowing, so the
// far end and the inactivity timer see a live line, and the stream's
// latch never goes quiet for a stray packet on its socket to take over.
func (l *Leg) pumpUp(t *pion.TrackRemote) {
	buf := make([]byte, 1500)
	sil := silence(l.codec.Name)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		pkt := buf[:n]
		if (l.muted.Load() || l.held.Load()) && pkt[1]&0x7F == l.codec.PT {
			if start, end, ok := payload(pkt); ok {
				for i := start; i < end; i++ {
					pkt[i] = sil
				}
			}
		}
		l.up.mu.Lock()
		seq := binary.BigEndian.Uint16(pkt[2:]) + l.up.seqOff
		binary.BigEndian.PutUint16(pkt[2:], seq)
		l.up.lastSeq, l.up.lastTS = seq, binary.BigEndian.Uint32(pkt[4:])
		l.up.ssrc, l.up.started = binary.BigEndian.Uint32(pkt[8:]), true
		l.st.Deliver(pkt, l.peer) // under up.mu: Deliver calls must not overlap
		l.up.mu.Unlock()
	}
}

// payload returns where an RTP packet's payload is (after CSRCs and the
// header extension, before padding).
func payload(pkt []byte) (start, end int, ok bool) {
	if len(pkt) < 12 {
		return 0, 0, false
	}
	start = 12 + 4*int(pkt[0]&0x0F)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < start+4 {
			return 0, 0, false
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(pkt[start+2:]))
	}
	end = len(pkt)
	if pkt[0]&0x20 != 0 && end > 0 {
		end -= int(pkt[end-1])
	}
	if start > end {
		return 0, 0, false
	}
	return start, end, true
}

// sendDigit injects key as an RFC 4733 event into the stream, as if the
// browser had sent it: the stream reports it on Digits and relays it to
// the bridged leg.
func (l *Leg) sendDigit(key byte, dur time.Duration) error {
	if l.dtmfPT == 0 {
		return fmt.Errorf("keypad %q: %w", key, media.ErrNoDTMF)
	}
	l.up.mu.Lock()
	ts, ssrc := l.up.lastTS+160, l.up.ssrc
	l.up.mu.Unlock()
	return digitEvent(l.ctx.Done(), key, dur, func(pkt []byte) error {
		pkt[1] |= l.dtmfPT
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], ssrc)
		l.up.mu.Lock()
		defer l.up.mu.Unlock()
		l.up.seqOff++
		l.up.lastSeq++
		binary.BigEndian.PutUint16(pkt[2:], l.up.lastSeq)
		l.st.Deliver(pkt, l.peer)
		return nil
	})
}

// digitUpdate is how often an event in progress is repeated (RFC 4733
// §2.5.1.2 suggests 50 ms).
const digitUpdate = 50 * time.Millisecond

// digitEvent paces one RFC 4733 event for key lasting dur: a packet with
// the marker bit, an update every 50 ms with the duration so far, then
// three end packets with the full duration. write gets each 16-byte packet
// with the version, marker and event payload set; it fills in the payload
// type, sequence, timestamp and SSRC. It returns early, nil, when stop
// closes.
func digitEvent(stop <-chan struct{}, key byte, dur time.Duration, write func(pkt []byte) error) error {
	ev := dtmfEvent(key)
	if ev < 0 {
		return fmt.Errorf("keypad %q: not a key", key)
	}
	total := uint16(min(dur/time.Millisecond*8, 0xFFFF))
	send := func(first, end bool, d uint16) error {
		var pkt [16]byte
		pkt[0] = 0x80
		if first {
			pkt[1] = 0x80
		}
		pkt[12] = byte(ev)
		pkt[13] = 10 // volume -10 dBm0
		if end {
			pkt[13] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[14:], d)
		if err := write(pkt[:]); err != nil {
			return fmt.Errorf("keypad %q: %w", key, err)
		}
		return nil
	}
	t := time.NewTicker(digitUpdate)
	defer t.Stop()
	for k, elapsed := 0, time.Duration(0); elapsed < dur; k++ {
		if err := send(k == 0, false, min(uint16((elapsed+digitUpdate)/time.Millisecond*8), total)); err != nil {
			return err
		}
		select {
		case <-t.C:
			elapsed += digitUpdate
		case <-stop:
			return nil
		}
	}
	for range 3 {
		if err := send(false, true, total); err != nil {
			return err
		}
	}
	return nil
}

func dtmfEvent(key byte) int {
	switch {
	case key >= '0' && key <= '9':
		return int(key - '0')
	case key == '*':
		return 10
	case key == '#':
		return 11
	case key >= 'A' && key <= 'D':
		return 12 + int(key-'A')
	}
	return -1
}

// writeOut is the stream's transport (media.Stream.SetTransport): each
// RTP packet the stream sends goes to the browser's track. Relaying,
// playback and digits may send from different goroutines; RTCP never
// comes this way.
func (l *Leg) writeOut(pkt []byte) error {
	if len(pkt) < 12 {
		return nil
	}
	l.outMu.Lock()
	defer l.outMu.Unlock()
	return l.out.write(pkt, &l.rw)
}

// rewriter keeps the browser's view of the box's RTP one stream: the
// stream's own packets and relayed ones may carry different SSRCs,
// sequence numbers and timestamps, and a browser that negotiated one SSRC
// would drop (and SRTP would misjudge the rollover of) the others.
type rewriter struct {
	inSSRC  uint32
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	started bool
	hdr     rtp.Header
}

func (r *rewriter) rewrite(pkt []byte) {
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	seq := binary.BigEndian.Uint16(pkt[2:])
	ts := binary.BigEndian.Uint32(pkt[4:])
	if !r.started || ssrc != r.inSSRC {
		if r.started {
			r.seqOff = r.lastSeq + 1 - seq
			r.tsOff = r.lastTS + 160 - ts
		}
		r.inSSRC, r.started = ssrc, true
	}
	r.lastSeq, r.lastTS = seq+r.seqOff, ts+r.tsOff
	binary.BigEndian.PutUint16(pkt[2:], r.lastSeq)
	binary.BigEndian.PutUint32(pkt[4:], r.lastTS)
}
