package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

// Ringer is implemented by outbound legs: Ringing is closed on the first
// 180 or 183, so a flow bridging an inbound caller can call in.Progress and
// the caller hears ringing as soon as the callee rings.
type Ringer interface {
	Ringing() <-chan struct{}
}

// Leg states.
const (
	stateOffered   = iota // inbound: INVITE received; outbound: ringing
	stateEarly            // inbound: 183 with SDP sent
	stateAnswering        // inbound: 200 sent, waiting for ACK
	stateAnswered
	stateEnded
)

// Leg is one SIP dialog of a call, inbound (a caller's INVITE) or outbound
// (an INVITE the box sent). It implements call.Leg; outbound legs also
// implement Ringer.
type Leg struct {
	s       *Server
	id      string
	inbound bool
	remote  call.Party
	target  string // what was rung, for the CDR: "ext:101", "external:+1555..."
	stream  *media.Stream
	log     legLog
	// ctx ends with the leg; done is its Done channel. Whatever must stop
	// with the leg hangs off ctx (context.AfterFunc) instead of keeping a
	// goroutine waiting on done.
	ctx  context.Context
	end  context.CancelFunc
	done <-chan struct{}

	// Inbound. The dialog is the box's own (not sipgo's
	// DialogServerSession): sipgo's kept a clone of the INVITE, a context
	// and callbacks per call alive for 64*T1 after the call.
	inv      *sipgosip.Request          // the caller's INVITE
	tx       sipgosip.ServerTransaction // the INVITE's
	tag      string                     // the box's To-tag
	localSeq atomic.Uint32              // CSeq of the box's requests in the dialog
	offer    media.Desc
	acking   chan struct{} // closed once the answer's ACK wait is over
	hold     *capHold      // the inbound caps this call counts against (trunkid.go)
	// lateOffer: the INVITE had no SDP (RFC 3261 §13.2.1): the box offers
	// in its 200 and the answer comes in the ACK (ackSDP).
	lateOffer bool
	// rel100: the caller requires reliable provisionals (prack.go).
	rel100 bool
	relMu  sync.Mutex    // one reliable provisional at a time
	rseq   atomic.Uint32 // RSeq of the last reliable provisional
	// timerAns is the session timer agreed in the answer (sessiontimer.go).
	timerAns timerAnswer

	// Outbound.
	ringing     chan struct{}
	ringOnce    sync.Once
	answeredC   chan struct{}
	cancelRing  context.CancelCauseFunc
	ringStopped chan struct{}

	transfers chan call.Transfer // REFERs handed to the flow (refer.go)

	reinviteBusy atomic.Bool   // an incoming re-INVITE is being answered (491 on glare)
	byeSeen      atomic.Bool   // the far end's BYE was taken (a later one gets 481)
	remoteSeq    atomic.Uint32 // highest CSeq of the far end's INVITEs in this dialog

	mu        sync.Mutex // protects following
	state     int
	start     time.Time
	answerAt  time.Time
	endAt     time.Time
	cause     call.Cause
	hangupBy  string
	local     media.Desc
	origin    media.Origin
	codec     string     // codec the inbound answer must use ("" = first of offer)
	uac       *uacDialog // outbound: the answered branch
	ackWait   map[uint32]chan struct{}
	keys      []string
	hangingUp bool
	referDone chan struct{} // closed when the last REFER's NOTIFYs are out (refer.go)
	ackSDP    []byte        // inbound late offer: the answer the ACK carried
	prackWait *pendingPrack // the reliable provisional awaiting its PRACK
	progress  bool          // a late-offer leg sent its 180 (Progress)
	sessTimer *sessionTimer // RFC 4028, once the call is answered
	sdesKey   []byte        // the box's SRTP master key toward this leg (srtp.go)
	// plainMedia: the leg's SDP never carries SRTP keys, even over TLS
	// (a trunk with srtp: off). Set before the leg is shared.
	plainMedia bool
}

func (s *Server) newLeg(inbound bool, target string, st *media.Stream) *Leg {
	l := &Leg{
		s:       s,
		id:      fmt.Sprintf("sip-%d-%s", s.legSeq.Add(1), sipgosip.GenerateTagN(6)),
		inbound: inbound,
		target:  target,
		stream:  st,
		start:   time.Now(),
		origin:  media.Origin{User: "ringbox", ID: uint64(time.Now().UnixNano() & 0x7fffffff), Version: 1},
		// Unbuffered: a REFER hands its transfer over only to a flow that
		// is reading, so a transfer never waits in a leg nobody bridges.
		transfers: make(chan call.Transfer),
	}
	if inbound {
		l.acking = make(chan struct{})
	} else {
		l.ringing = make(chan struct{})
		l.answeredC = make(chan struct{})
		l.ringStopped = make(chan struct{})
	}
	l.ctx, l.end = context.WithCancel(context.Background())
	l.done = l.ctx.Done()
	l.log = legLog{s.log, l.id}
	if inbound {
		s.inCalls.Add(1)
	}
	s.mu.Lock()
	s.legs[l] = struct{}{}
	s.peak = max(s.peak, len(s.legs))
	s.mu.Unlock()
	return l
}

// legLog logs with the leg's id. It is not a slog.Logger made With the id:
// that copies the handler's state for every leg (1.5 KB a call) to log a
// few lines, most of them below the level in force.
type legLog struct {
	log *slog.Logger
	id  string
}

func (g legLog) at(level slog.Level, msg string, args []any) {
	if !g.log.Enabled(context.Background(), level) {
		return
	}
	g.log.Log(context.Background(), level, msg, append([]any{"leg", g.id}, args...)...)
}

func (g legLog) Debug(msg string, args ...any) { g.at(slog.LevelDebug, msg, args) }
func (g legLog) Info(msg string, args ...any)  { g.at(slog.LevelInfo, msg, args) }
func (g legLog) Warn(msg string, args ...any)  { g.at(slog.LevelWarn, msg, args) }

// ID implements call.Leg.
func (l *Leg) ID() string { return l.id }

// Remote implements call.Leg.
func (l *Leg) Remote() call.Party { return l.remote }

// Done implements call.Leg.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Context ends when the leg does (Done is its Done channel), so what must
// follow the leg's end can hang off it (call.AfterEnd) without a goroutine.
func (l *Leg) Context() context.Context { return l.ctx }

// Err implements call.Leg: the Cause once Done is closed, nil before.
func (l *Leg) Err() error {
	select {
	case <-l.done:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.cause
	default:
		return nil
	}
}

// Ringing implements Ringer (outbound legs); for inbound legs it is nil.
func (l *Leg) Ringing() <-chan struct{} { return l.ringing }

// Target is what this leg rang ("ext:101", "external:+15551234"), or "" for
// an inbound leg.
func (l *Leg) Target() string { return l.target }

// Times returns when the leg started, was answered (zero if never) and
// ended (zero while it lasts), for the CDR.
func (l *Leg) Times() (start, answer, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start, l.answerAt, l.endAt
}

// HangupBy says who ended the leg: "remote" (the far end hung up or
// cancelled), "local" (Hangup was called) or "" while it lasts.
func (l *Leg) HangupBy() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hangupBy
}

// Stats is the leg's RTP counters.
func (l *Leg) Stats() media.Stats { return l.stream.Stats() }

// Media implements call.Leg.
func (l *Leg) Media() call.Media { return legMedia{l.stream, l} }

type legMedia struct {
	st *media.Stream
	l  *Leg
}

// Codecs implements call.Media: what the caller offered until the box
// answered or sent early media (an inbound leg), then the negotiated codec.
func (m legMedia) Codecs() []string {
	l := m.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.inbound || l.local.Addr.IsValid() {
		return []string{m.st.Codec().Name}
	}
	var out []string
	for _, c := range l.offer.Codecs {
		if media.Supported(c) {
			out = append(out, c.Name)
		}
	}
	return out
}

func (m legMedia) Play(ctx context.Context, src call.Source, bargeIn bool) error {
	return m.st.Play(ctx, src, bargeIn)
}
func (m legMedia) Digits() <-chan call.Digit { return m.st.Digits() }
func (m legMedia) Codec() string             { return m.st.Codec().Name }

// finish ends the leg once: records the cause, frees the media ports and
// forgets the dialog.
func (l *Leg) finish(c call.Cause, by string) {
	l.mu.Lock()
	if l.state == stateEnded {
		l.mu.Unlock()
		return
	}
	l.state = stateEnded
	l.endAt = time.Now()
	l.cause = c
	l.hangupBy = by
	keys := l.keys
	l.mu.Unlock()
	l.s.mu.Lock()
	for _, k := range keys {
		if l.s.dialogs[k] == l {
			delete(l.s.dialogs, k)
		}
	}
	delete(l.s.legs, l)
	l.s.shrinkLocked()
	l.s.mu.Unlock()
	if l.inbound {
		l.s.inCalls.Add(-1)
		l.hold.end()
	}
	// The INVITE's transaction key stays known for 64*T1 in compact
	// form: a retransmission of it is absorbed rather than taken for a
	// new call. (Dialog ids need not be: a request in an ended dialog gets
	// 481, its retransmissions are matched by their own transaction keys.)
	if l.inbound {
		if k, err := sipgosip.ServerTxKeyMake(l.inv); err == nil {
			l.s.recent.add(k, 0, time.Now())
		}
	}

	// Done closes after the dialog is gone (a later BYE gets 481) and
	// before the stream: a bridge that ends because the stream closed must
	// already see which leg hung up (the CDR's hangup_by).
	l.end()
	l.stream.Close()
	l.log.Debug("leg ended", "cause", c, "by", by)
}

func (l *Leg) index(key string) {
	l.mu.Lock()
	l.keys = append(l.keys, key)
	l.mu.Unlock()
	l.s.mu.Lock()
	l.s.dialogs[key] = l
	l.s.peak = max(l.s.peak, len(l.s.dialogs))
	l.s.mu.Unlock()
}

func (l *Leg) getState() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// sdpLocked marshals the box's current SDP toward this leg.
func (l *Leg) sdpLocked() []byte { return l.local.Marshal(l.origin) }

// ---- inbound ----

// inboundAnswer computes (once) the box's SDP answer to the caller's offer.
func (l *Leg) inboundAnswerLocked() error {
	if l.local.Addr.IsValid() {
		return nil
	}
	if l.lateOffer {
		// The box makes the offer: the codec the callee chose first, so
		// the bridge need not transcode when the caller takes it.
		var prefer []string
		if l.codec != "" {
			prefer = []string{l.codec}
		}
		l.local = media.OfferCodecs(prefer, l.stream.Local())
		l.offerCryptoLocked(&l.local, l.inv.Transport())
		return nil
	}
	var d media.Desc
	var err error
	if l.codec != "" {
		d, err = media.AnswerCodec(l.offer, l.stream.Local(), l.codec)
		if err != nil {
			d, err = media.Answer(l.offer, l.stream.Local())
		}
	} else {
		d, err = media.Answer(l.offer, l.stream.Local())
	}
	if err != nil {
		return err
	}
	if err := l.answerCryptoLocked(l.offer, &d); err != nil {
		return err
	}
	l.local = d
	l.stream.SetRemote(l.offer)
	return nil
}

// PreferCodec implements call.CodecPreferrer: the inbound answer uses the
// codec an outbound leg negotiated, so the bridge relays without
// transcoding, when the caller offered it and has heard nothing yet.
func (m legMedia) PreferCodec(name string) { m.l.preferCodec(name) }

func (l *Leg) preferCodec(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.local.Addr.IsValid() {
		l.codec = name
	}
}

// Progress implements call.Leg. For an inbound leg it sends 183 Session
// Progress with the box's SDP answer so that the box's ringback, music or
// the callee's ringing can be heard before answer. Outbound: no-op.
func (l *Leg) Progress(ctx context.Context) error {
	if !l.inbound {
		return nil
	}
	l.mu.Lock()
	if l.state != stateOffered {
		st := l.state
		l.mu.Unlock()
		if st == stateEnded {
			return call.CauseOf(l.Err())
		}
		return nil
	}
	if l.lateOffer {
		// No offer to answer in a 183: the offer goes in the 200 (a 183
		// offer would need its answer in a PRACK). The caller hears its
		// own ringback meanwhile.
		sent := l.progress
		l.progress = true
		tx := l.tx
		l.mu.Unlock()
		if sent {
			return nil
		}
		return l.sendProvisional(tx, l.response(180, "Ringing", nil))
	}
	if err := l.inboundAnswerLocked(); err != nil {
		l.mu.Unlock()
		return fmt.Errorf("progress: %w", err)
	}
	l.state = stateEarly
	body := l.sdpLocked()
	tx := l.tx
	l.mu.Unlock()
	res := l.response(183, "Session Progress", body)
	res.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
	return l.sendProvisional(tx, res)
}

// response builds a response to the caller's INVITE with the box's To-tag
// (and its Contact, which 18x and 2xx need: RFC 3261 §12.1.1).
func (l *Leg) response(code int, reason string, body []byte) *sipgosip.Response {
	res := l.s.newResponse(l.inv, code, reason, body)
	if to := res.To(); to != nil && code > 100 {
		to.Params.Add("tag", l.tag)
	}
	if code > 100 && code < 300 {
		res.AppendHeader(l.s.contactHeader("", l.inv.Transport()))
	}
	return res
}

// Ring sends 180 Ringing without SDP to an unanswered inbound leg, so the
// phone plays its own ringback.
func (l *Leg) Ring() error {
	if !l.inbound {
		return nil
	}
	l.mu.Lock()
	st, tx := l.state, l.tx
	l.mu.Unlock()
	if st != stateOffered {
		return nil
	}
	return l.sendProvisional(tx, l.response(180, "Ringing", nil))
}

// Answer implements call.Leg. Inbound: sends 200 with the SDP answer and
// waits for the ACK. Outbound: waits until the far end answers or ctx ends.
func (l *Leg) Answer(ctx context.Context) error {
	if !l.inbound {
		select {
		case <-l.answeredC:
			return nil
		case <-l.done:
			return l.Err()
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	// RFC 3262 §3: no 2xx while a reliable provisional (which may carry
	// the SDP this 200 repeats) waits for its PRACK. Waited for before
	// the leg counts as answering, so that a CANCEL meanwhile still ends
	// it as unanswered.
	l.relMu.Lock()
	l.relMu.Unlock() //nolint:staticcheck // SA2001: waiting for the pending one is the point
	l.mu.Lock()
	switch l.state {
	case stateEnded:
		l.mu.Unlock()
		return l.Err()
	case stateAnswering, stateAnswered:
		l.mu.Unlock()
		return nil
	}
	if err := l.inboundAnswerLocked(); err != nil {
		l.mu.Unlock()
		l.Hangup(call.Failure)
		return fmt.Errorf("answer: %w", err)
	}
	l.state = stateAnswering
	body := l.sdpLocked()
	tx := l.tx
	l.mu.Unlock()

	res := l.response(200, "OK", body)
	res.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sipgosip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
	l.timerHeadersUAS(res, l.timerAns)
	// The 2xx is retransmitted until the ACK arrives (onAck).
	err := l.respond2xx(tx, res, l.inv.CSeq().SeqNo)
	close(l.acking)
	l.mu.Lock()
	// The transaction (with the INVITE's 2xx) has served its purpose:
	// the leg no longer keeps it for the rest of the call.
	l.tx = nil
	if l.state == stateAnswering {
		l.state = stateAnswered
		l.answerAt = time.Now()
	}
	// A BYE that overtook the ACK (reordering, a lost ACK) still proves
	// the caller got the 200 (RFC 3261 §13.3.1.4): the call was answered
	// and is billable, it just ended at once.
	byeFirst := err != nil && l.state == stateEnded && l.cause == call.Normal && l.hangupBy == "remote"
	if byeFirst && l.answerAt.IsZero() {
		l.answerAt = l.endAt
	}
	l.mu.Unlock()
	if byeFirst {
		return nil
	}
	if errors.Is(err, errNoAck) {
		return l.endUnacknowledged()
	}
	if err != nil {
		l.log.Info("answer not acknowledged", "error", err)
		l.Hangup(call.Failure)
		return fmt.Errorf("answer: %w", err)
	}
	if l.lateOffer {
		if err := l.takeAckAnswer(); err != nil {
			// RFC 3261 §13.2.1 / RFC 6337 §3.1.2: a 200 offer left
			// unanswered leaves no session: the call ends with a BYE.
			l.log.Info("late offer not answered in the ACK", "error", err)
			l.Hangup(call.Failure)
			return fmt.Errorf("answer: %w", err)
		}
	}
	if l.timerAns.on {
		l.startSessionTimer(l.timerAns.interval, l.timerAns.weRefresh)
	}
	return nil
}

// endUnacknowledged ends an answered call whose ACK never came (a caller
// that vanished, or a flood of INVITEs that never acknowledge to hold the
// box's media ports): the leg ends at once, freeing its ports, then the
// BYE goes out (RFC 3261 §13.3.1.4).
func (l *Leg) endUnacknowledged() error {
	l.s.caps.ackTimeouts.Add(1)
	l.log.Warn("answer not acknowledged within 64*T1: call ended, media released",
		"call_id", l.inv.CallID().Value(), "source", l.inv.Source())
	l.mu.Lock()
	byeSent := l.hangingUp // a Hangup waiting for the ACK wait sends its BYE
	l.hangingUp = true
	l.mu.Unlock()
	bye := l.uasRequest(sipgosip.BYE)
	l.finish(call.NoAck, "local")
	if byeSent {
		return fmt.Errorf("answer: %w", call.NoAck)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if _, err := transact(ctx, l.s.client(l.inv.Transport()), bye); err != nil {
		l.log.Debug("bye after no ACK", "error", err)
	}
	return fmt.Errorf("answer: %w", call.NoAck)
}

// takeAckAnswer applies the SDP answer a late-offer call's ACK carried.
func (l *Leg) takeAckAnswer() error {
	l.mu.Lock()
	body := l.ackSDP
	l.mu.Unlock()
	if len(body) == 0 {
		return errors.New("the ACK carries no SDP")
	}
	ans, err := media.ParseSDP(body)
	if err != nil {
		return err
	}
	// The first codec of the answer the box offered and can handle.
	i := slices.IndexFunc(ans.Codecs, media.Supported)
	if i < 0 {
		return fmt.Errorf("answer: %w", media.ErrNoCommonCodec)
	}
	ans.Codecs = append([]media.Codec{ans.Codecs[i]}, slices.Delete(slices.Clone(ans.Codecs), i, i+1)...)
	l.mu.Lock()
	err = l.takeAnswerCryptoLocked(ans, l.inv.Transport())
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	l.stream.SetRemote(ans)
	l.mu.Lock()
	l.offer = ans
	l.mu.Unlock()
	return nil
}

// Hangup implements call.Leg: before answer an inbound leg gets the final
// response for c and an outbound leg is cancelled; after answer a BYE is
// sent. It returns at once; Done closes when the leg has ended.
func (l *Leg) Hangup(c call.Cause) {
	l.mu.Lock()
	if l.state == stateEnded || l.hangingUp {
		l.mu.Unlock()
		return
	}
	l.hangingUp = true
	st, tx := l.state, l.tx
	if !l.inbound && st == stateOffered {
		// Cancelled under l.mu, which answered takes to leave
		// stateOffered: the ring goroutine, which finishes the leg, then
		// sees the hangup even when a branch answers at this moment.
		l.cancelRing(c)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()

	if !l.inbound {
		go func() {
			l.waitRefer()
			l.mu.Lock()
			d := l.uac
			l.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			if d != nil {
				if err := d.bye(ctx); err != nil {
					l.log.Debug("bye failed", "error", err)
				}
				d.tx.Terminate()
			}
			l.finish(c, "local")
		}()
		return
	}
	go func() {
		var acked sipgosip.ServerTransaction
		switch st {
		case stateOffered, stateEarly:
			// The transaction absorbs retransmissions and the ACK; the leg
			// is over as soon as the final response is out.
			code, reason := c.SIPStatus()
			if code >= 500 {
				l.s.refusals.refused(l.inv, code, reason, "call ended before answer: "+c.String())
			}
			res := l.response(code, reason, nil)
			if c == call.Shutdown {
				res.AppendHeader(l.s.retryAfter())
			}
			if err := tx.Respond(res); err != nil {
				l.log.Debug("final response failed", "error", err)
			} else {
				acked = tx
			}
		default:
			// RFC 3261 §15: no BYE before the ACK of the 2xx (or its
			// wait has ended).
			<-l.acking
			l.waitRefer()
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			if _, err := transact(ctx, l.s.client(l.inv.Transport()), l.uasRequest(sipgosip.BYE)); err != nil {
				l.log.Debug("bye failed", "error", err)
			}
			cancel()
		}
		l.finish(c, "local")
		if acked != nil {
			absorbAck(acked)
		}
	}()
}

// watchInbound keeps the INVITE's goroutine (sipgo's, which terminates
// the transaction when it returns) until the leg is answered and the ACK
// wait is over, or the leg ended. Before the answer a CANCEL or a
// transport error ends the leg (the transaction's callbacks, see onInvite);
// after it a BYE (onBye), a Hangup or RTP silence (watchMedia).
func (l *Leg) watchInbound() {
	select {
	case <-l.done:
	case <-l.acking:
	}
}

// watchMedia hangs up answered legs whose RTP stopped (media.Stream's
// Timeout): one sweep a second over all legs rather than a goroutine per
// leg waiting for it, which cost a goroutine stack per leg for the whole
// call.
func (s *Server) watchMedia(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var silent []*Leg
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		for l := range s.legs {
			select {
			case <-l.stream.Timeout():
				silent = append(silent, l)
			default:
			}
		}
		s.mu.Unlock()
		for i, l := range silent {
			l.mu.Lock()
			hangup := l.state == stateAnswered && !l.hangingUp
			l.mu.Unlock()
			if hangup {
				l.log.Info("media timeout")
				l.Hangup(call.MediaTimeout)
			}
			silent[i] = nil
		}
		silent = silent[:0]
	}
}

// uasRequest builds a request the box sends in an inbound leg's dialog
// (RFC 3261 §12.2.1.1): to the caller's Contact through the Record-Route
// set, From the INVITE's To with the box's tag. With no Record-Route it
// goes to where the INVITE came from, which is right behind NAT.
func (l *Leg) uasRequest(method sipgosip.RequestMethod) *sipgosip.Request {
	inv := l.inv
	req := sipgosip.NewRequest(method, inv.Contact().Address)
	from := inv.To().AsFrom()
	from.Params.Add("tag", l.tag)
	req.AppendHeader(&from)
	to := inv.From().AsTo()
	req.AppendHeader(&to)
	req.AppendHeader(sipgosip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sipgosip.CSeqHeader{SeqNo: l.localSeq.Add(1), MethodName: method})
	mf := sipgosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	rrs := inv.GetHeaders("Record-Route")
	for _, rr := range rrs {
		req.AppendHeader(sipgosip.NewHeader("Route", rr.Value()))
	}
	req.AppendHeader(sipgosip.NewHeader("User-Agent", l.s.userAgent()))
	req.SetTransport(inv.Transport())
	if rt := req.Route(); rt != nil {
		req.SetDestination(rt.Address.HostPort())
	} else {
		req.SetDestination(inv.Source())
	}
	req.SetBody(nil)
	l.s.setLaddr(req)
	return req
}

// ---- UAC dialog (outbound legs) ----

// uacDialog is an INVITE the box sent: the transaction, and after a 2xx
// what in-dialog requests need (RFC 3261 §12.1.2).
type uacDialog struct {
	s         *Server
	cli       *sipgo.Client
	invite    *sipgosip.Request
	tx        sipgosip.ClientTransaction
	dest      string // forced next hop (NAT'd contact), "" = by URI
	transport string
	res       *sipgosip.Response
	cseq      atomic.Uint32
	target    sipgosip.Uri
	routes    []string
	provision atomic.Bool // a provisional arrived (CANCEL allowed)
}

func (s *Server) setLaddr(req *sipgosip.Request) {
	if !strings.EqualFold(req.Transport(), "udp") || !s.ip.IsValid() {
		return
	}
	req.Laddr = sipgosip.Addr{IP: s.ip.AsSlice(), Port: s.port, Hostname: s.ip.String()}
}

// send sends the INVITE in a new client transaction.
func (d *uacDialog) send(ctx context.Context) error {
	if d.dest != "" {
		d.invite.SetDestination(d.dest)
	}
	tx, err := d.cli.TransactionRequest(ctx, d.invite)
	if err != nil {
		return err
	}
	d.tx = tx
	d.cseq.Store(d.invite.CSeq().SeqNo)
	return nil
}

// established records the 2xx: remote target, route set, tags.
func (d *uacDialog) established(res *sipgosip.Response) {
	d.res = res
	d.target = d.invite.Recipient
	if c := res.Contact(); c != nil {
		d.target = c.Address
	}
	rr := res.GetHeaders("Record-Route")
	d.routes = d.routes[:0]
	for i := len(rr) - 1; i >= 0; i-- {
		d.routes = append(d.routes, rr[i].Value())
	}
}

func (d *uacDialog) key() string {
	return sipgosip.DialogIDMake(d.invite.CallID().Value(), tagOf(d.invite.From().Params), tagOf(d.res.To().Params))
}

func tagOf(p sipgosip.HeaderParams) string {
	t, _ := p.Get("tag")
	return t
}

// request builds an in-dialog request.
func (d *uacDialog) request(method sipgosip.RequestMethod, cseq uint32) *sipgosip.Request {
	req := sipgosip.NewRequest(method, d.target)
	req.AppendHeader(sipgosip.HeaderClone(d.invite.From()))
	req.AppendHeader(sipgosip.HeaderClone(d.res.To()))
	req.AppendHeader(sipgosip.HeaderClone(d.invite.CallID()))
	req.AppendHeader(&sipgosip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sipgosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range d.routes {
		req.AppendHeader(sipgosip.NewHeader("Route", r))
	}
	req.SetTransport(d.transport)
	if len(d.routes) == 0 && d.dest != "" {
		req.SetDestination(d.dest)
	} else if rt := req.Route(); rt != nil {
		req.SetDestination(rt.Address.HostPort())
	}
	req.SetBody(nil)
	d.s.setLaddr(req)
	return req
}

func (d *uacDialog) ack() error {
	ack := d.request(sipgosip.ACK, d.invite.CSeq().SeqNo)
	return d.cli.WriteRequest(ack, sipgo.ClientRequestAddVia)
}

func (d *uacDialog) bye(ctx context.Context) error {
	bye := d.request(sipgosip.BYE, d.cseq.Add(1))
	bye.AppendHeader(sipgosip.NewHeader("User-Agent", d.s.userAgent()))
	res, err := d.do(ctx, bye)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("bye: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

func (d *uacDialog) do(ctx context.Context, req *sipgosip.Request) (*sipgosip.Response, error) {
	return transact(ctx, d.cli, req)
}

// errNoFinal: a client transaction ended without a final response and
// without saying why (sipgo can close it so).
var errNoFinal = errors.New("sip: transaction ended without a final response")

func txEnded(tx sipgosip.ClientTransaction) error {
	if err := tx.Err(); err != nil {
		return err
	}
	return errNoFinal
}

// transact sends an in-dialog request in a client transaction and returns
// its final response; the transaction is terminated on return (its state
// is not kept for Timer K).
func transact(ctx context.Context, cli *sipgo.Client, req *sipgosip.Request) (*sipgosip.Response, error) {
	tx, err := cli.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, err
	}
	return finalResponse(ctx, tx, nil)
}

// finalResponse waits for tx's final response and terminates tx; a stop
// channel that closes (nil: none) ends the wait with errServerStopped.
func finalResponse(ctx context.Context, tx sipgosip.ClientTransaction, stop <-chan struct{}) (*sipgosip.Response, error) {
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res == nil || res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, txEnded(tx)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-stop:
			return nil, errServerStopped
		}
	}
}

// cancel sends CANCEL for the INVITE (RFC 3261 §9.1), with a Reason when
// the call was answered elsewhere (RFC 3326) so phones log no missed call.
func (d *uacDialog) cancel(ctx context.Context, reason string) error {
	inv := d.invite
	c := sipgosip.NewRequest(sipgosip.CANCEL, inv.Recipient)
	c.AppendHeader(sipgosip.HeaderClone(inv.Via()))
	c.AppendHeader(sipgosip.HeaderClone(inv.From()))
	c.AppendHeader(sipgosip.HeaderClone(inv.To()))
	c.AppendHeader(sipgosip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sipgosip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipgosip.CANCEL})
	mf := sipgosip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	sipgosip.CopyHeaders("Route", inv, c)
	if reason != "" {
		c.AppendHeader(sipgosip.NewHeader("Reason", reason))
	}
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	c.SetBody(nil)
	tx, err := d.cli.TransactionRequest(ctx, c, func(*sipgo.Client, *sipgosip.Request) error { return nil })
	if err != nil {
		return err
	}
	defer tx.Terminate()
	select {
	case <-tx.Responses():
		return nil
	case <-tx.Done():
		return tx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

const reasonElsewhere = `SIP;cause=200;text="Call completed elsewhere"`

// ---- 2xx retransmission ----

var (
	errNoAck    = errors.New("no ACK for the 2xx within 64*T1")
	errLegEnded = errors.New("leg ended before the ACK")
)

// respond2xx sends a 2xx to an INVITE or re-INVITE and retransmits it (T1
// doubling to T2) until the ACK arrives: nil then, errNoAck after 64*T1,
// errLegEnded when the leg ended first (a BYE that overtook the ACK).
// The retransmissions go straight to the transport, not through tx: the
// transaction is kept only briefly after a 2xx (Timer L, see timers.go)
// and sipgo does not retransmit a UAS 2xx itself.
func (l *Leg) respond2xx(tx sipgosip.ServerTransaction, res *sipgosip.Response, cseq uint32) error {
	ackC := make(chan struct{})
	l.mu.Lock()
	if l.ackWait == nil {
		l.ackWait = make(map[uint32]chan struct{})
	}
	l.ackWait[cseq] = ackC
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.ackWait, cseq)
		l.mu.Unlock()
	}()
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("send 2xx: %w", err)
	}
	// An ACK that reuses the INVITE's branch (RFC 2543 peers) reaches the
	// transaction, not onAck.
	ack, err := awaitAck(ackC, tx.Acks(), l.done, sipgosip.IsReliable(res.Transport()), func() {
		if err := l.s.srv.WriteResponse(res); err != nil {
			l.log.Debug("2xx retransmission failed", "error", err)
		}
	})
	if ack != nil && cseq == l.inviteSeq() {
		l.mu.Lock()
		l.ackSDP = ack.Body()
		l.mu.Unlock()
	}
	return err
}

// awaitAck waits for a 2xx's ACK: from onAck (ackC closed) or the
// transaction (acks, which returns it), calling resend at T1, doubling
// to T2, over an unreliable transport. It gives up with errNoAck after
// 64*T1, or errLegEnded when done closes first. Apart from the network
// so that its timing is tested under testing/synctest.
func awaitAck(ackC <-chan struct{}, acks <-chan *sipgosip.Request, done <-chan struct{}, reliable bool, resend func()) (*sipgosip.Request, error) {
	deadline := time.NewTimer(64 * sipgosip.T1)
	defer deadline.Stop()
	var resendC <-chan time.Time
	interval := sipgosip.T1
	var t *time.Timer
	if !reliable {
		t = time.NewTimer(interval)
		defer t.Stop()
		resendC = t.C
	}
	for {
		select {
		case <-ackC:
			return nil, nil
		case ack := <-acks:
			return ack, nil
		case <-done:
			return nil, errLegEnded
		case <-deadline.C:
			return nil, errNoAck
		case <-resendC:
			resend()
			interval = min(interval*2, sipgosip.T2)
			t.Reset(interval)
		}
	}
}
