package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"weak"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
	"ringbox/firmware/site"
)

// inviteSeq is the CSeq number of an inbound leg's INVITE (0 outbound).
func (l *Leg) inviteSeq() uint32 {
	if l.inv == nil {
		return 0
	}
	return l.inv.CSeq().SeqNo
}

// onInvite handles INVITEs: new calls, and re-INVITEs inside a dialog.
func (s *Server) onInvite(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReinvite(req, tx)
		return
	}
	txKey, err := sipgosip.ServerTxKeyMake(req)
	if err != nil {
		return // sipgo made a transaction of it, so this cannot happen
	}
	if s.knownInvite(txKey) {
		// A retransmission that outlived its transaction (kept only
		// briefly after the 2xx): the call it set up exists or existed.
		return
	}
	if s.draining.Load() {
		s.refuse(tx, req, 503, "Service Unavailable", "shutting down", s.retryAfter())
		return
	}
	// Overload: refuse early and cheaply rather than take on memory the
	// box may not have (docs/benchmarks.md).
	if n := s.inCalls.Load(); s.cfg.MaxCalls > 0 && n >= int64(s.cfg.MaxCalls) {
		s.refuse(tx, req, 503, "Service Unavailable", fmt.Sprintf("%d calls up, the most allowed (MaxCalls)", n), s.busyRetry())
		return
	}
	if s.cfg.Admit != nil {
		if err := s.cfg.Admit(); err != nil {
			s.refuse(tx, req, 503, "Service Unavailable", err.Error(), s.busyRetry())
			return
		}
	}
	if req.Contact() == nil || req.From() == nil || req.CallID() == nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	info := CallInfo{CallID: req.CallID().Value(), To: req.Recipient.User}
	from := req.From()
	info.From = call.Party{Number: from.Address.User, Name: from.DisplayName}

	ctx := context.Background()
	snap := s.cfg.Site()
	prackRequired := false
	// Which trunk, if any, the call is from (trunkid.go): a phone at a
	// trunk's address is challenged and routed as a phone.
	var trunk *site.Trunk
	cand, fromTrunk := s.identifyTrunk(ctx, snap, req)
	if fromTrunk && !cand.auth {
		trunk = &cand.trunk
	} else {
		lookup := s.cfg.Lookup
		if fromTrunk {
			lookup = s.trunkLookup(cand.trunk)
		}
		acct, ok := s.authenticateWith(req, tx, true, lookup)
		if !ok {
			return
		}
		if acct.Trunk != "" {
			trunk = &cand.trunk
		} else {
			info.Extension = acct.Extension
			// The caller is who authenticated, whatever the From says.
			info.From.Number = acct.Extension
			if info.From.Name == "" {
				info.From.Name = acct.Name
			}
		}
	}
	if t := trunk; t != nil {
		prackRequired = t.PrackMode() == site.PrackRequired
		info.Trunk = t.ID
		info.DID = req.Recipient.User
		if info.DID == "" && req.To() != nil {
			info.DID = req.To().Address.User
		}
		info.To = info.DID
		info.Asserted = assertedUser(req.GetHeader("P-Asserted-Identity"))
	}
	// A BLF key pressed while its extension rings: the phone replaces the
	// ringing dialog its dialog-info showed (dialoginfo.go), which is the
	// directed pickup of that extension.
	if h := req.GetHeader("Replaces"); h != nil && info.Extension != "" {
		if ext, ok := pickupTarget(h.Value(), s.host); ok {
			info.To = directedPickupPrefix + ext
		}
	}

	// No body: a late offer (RFC 3261 §13.2.1), which carriers and some
	// phones send; the box offers in its 200 and reads the ACK's answer.
	lateOffer := len(req.Body()) == 0
	var offer media.Desc
	if !lateOffer {
		var err error
		offer, err = media.ParseSDP(req.Body())
		if err != nil {
			s.log.Info("invite without usable sdp", "call_id", info.CallID, "error", err)
			s.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		if _, err := media.Answer(offer, offer.Addr); err != nil {
			s.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		if err := acceptableOffer(offer, req.Transport(), trunk != nil && trunk.PlainMedia()); err != nil { // srtp.go
			s.log.Info("invite refused", "call_id", info.CallID, "error", err)
			s.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
	}
	timer, ok := s.negotiateTimer(req, tx)
	if !ok {
		return
	}
	if s.cfg.Media == nil {
		s.refuse(tx, req, 503, "Service Unavailable", "no media engine")
		return
	}
	// Caps on calls in set-up and in progress, per trunk or per source,
	// before the call takes media ports.
	hold, ok := s.admitInbound(tx, req, snap, trunk)
	if !ok {
		return
	}
	st, err := s.cfg.Media.Open()
	if err != nil {
		hold.end()
		s.refuse(tx, req, 503, "Service Unavailable", "no media port: "+err.Error())
		return
	}
	l := s.newLeg(true, "", st)
	l.plainMedia = trunk != nil && trunk.PlainMedia()
	l.hold = hold
	l.inv = req
	l.tx = tx
	l.tag = sipgosip.GenerateTagN(16)
	l.remoteSeq.Store(req.CSeq().SeqNo)
	l.offer = offer
	l.lateOffer = lateOffer
	// Reliable provisionals when the caller requires them, or supports
	// them and comes from a trunk marked prack: required.
	l.rel100 = hasOptionTag(req, "Require", "", "100rel") || prackRequired && supports(req, "100rel")
	l.timerAns = timer
	l.remote = info.From
	hctx := l.ctx // ends with the leg
	// The transaction's callbacks end an unanswered leg on CANCEL or a
	// transport error. They hold the leg weakly: sipgo keeps a transaction
	// (and so its callbacks) reachable for a while after it ends.
	wl := weak.Make(l)
	if !tx.OnCancel(func(*sipgosip.Request) {
		if l := wl.Value(); l != nil {
			l.endUnanswered(call.Cancelled)
		}
	}) || !tx.OnTerminate(func(_ string, err error) {
		if l := wl.Value(); l != nil {
			c := call.Failure
			if errors.Is(err, sipgosip.ErrTransactionCanceled) {
				c = call.Cancelled
			}
			l.endUnanswered(c)
		}
	}) {
		// Cancelled (sipgo answered 487) or failed before it was read.
		l.log.Info("invite ended before it was read", "call_id", info.CallID, "error", tx.Err())
		l.finish(call.Cancelled, "remote")
		return
	}
	if err := tx.Respond(s.newResponse(req, 100, "Trying", nil)); err != nil {
		l.log.Info("invite: 100 Trying not sent", "call_id", info.CallID, "error", err)
		l.finish(call.Failure, "remote")
		return
	}
	l.index(sipgosip.DialogIDMake(info.CallID, l.tag, tagOf(from.Params)))
	l.index(txKey)
	l.log.Info("inbound call", "call_id", info.CallID, "from", info.From.Number, "to", info.To,
		"ext", info.Extension, "trunk", info.Trunk)

	if s.cfg.Handler == nil {
		l.Hangup(call.Unavailable)
	} else {
		go s.cfg.Handler.HandleCall(hctx, l, info)
	}
	l.watchInbound()
	hold.endSetup() // acknowledged, or over
}

// endUnanswered ends a leg whose INVITE transaction was cancelled or
// failed before the box answered; after an answer it does nothing (the
// transaction ends on its own then).
func (l *Leg) endUnanswered(c call.Cause) {
	l.mu.Lock()
	st := l.state
	l.mu.Unlock()
	if st == stateOffered || st == stateEarly {
		l.finish(c, "remote")
	}
}

// knownInvite says whether an INVITE's transaction key belongs to a call
// that exists or ended less than 64*T1 ago.
func (s *Server) knownInvite(txKey string) bool {
	s.mu.Lock()
	_, live := s.dialogs[txKey]
	s.mu.Unlock()
	if live {
		return true
	}
	_, ok := s.recent.get(txKey, time.Now())
	return ok
}

// lookupDialog finds the leg an in-dialog request belongs to.
func (s *Server) lookupDialog(req *sipgosip.Request) *Leg {
	id, err := sipgosip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialogs[id]
}

func (s *Server) onAck(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	l := s.lookupDialog(req)
	if l == nil || req.CSeq() == nil {
		return
	}
	seq := req.CSeq().SeqNo
	l.mu.Lock()
	ackC := l.ackWait[seq]
	delete(l.ackWait, seq)
	if ackC != nil && l.inbound && seq == l.inv.CSeq().SeqNo {
		l.ackSDP = req.Body() // a late offer's answer
	}
	l.mu.Unlock()
	if ackC != nil {
		close(ackC)
		return
	}
	l.log.Debug("ack not for a pending 2xx", "cseq", seq)
}

func (s *Server) onBye(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	// The BYE's transaction is not kept for Timer J (64*T1 of parsed
	// messages per call): its key and status are remembered instead, and a
	// retransmission gets the same status.
	defer tx.Terminate()
	key, err := sipgosip.ServerTxKeyMake(req)
	if err != nil {
		return
	}
	if code, ok := s.recent.get(key, time.Now()); ok {
		s.respond(tx, req, code, phrase(code))
		return
	}
	l := s.lookupDialog(req)
	// A second BYE (a new transaction: retransmissions of the first are
	// absorbed by its transaction) may arrive before the leg has forgotten
	// its dialog: it concerns a dialog that no longer exists.
	if l == nil || !l.byeSeen.CompareAndSwap(false, true) {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if l.inbound {
		if req.CSeq().SeqNo < l.inv.CSeq().SeqNo {
			s.refuse(tx, req, 500, "Server Internal Error", "BYE with a CSeq below the INVITE's")
			return
		}
		l.mu.Lock()
		itx := l.tx
		l.mu.Unlock()
		if itx != nil {
			itx.Terminate()
		}
	} else {
		l.mu.Lock()
		d := l.uac
		l.mu.Unlock()
		if d != nil {
			d.tx.Terminate()
		}
	}
	s.respond(tx, req, 200, "OK")
	s.recent.add(key, 200, time.Now())
	l.finish(call.Normal, "remote")
}

// onReinvite answers a re-INVITE locally: media is anchored, so hold,
// resume and codec changes only concern this leg's own stream.
func (s *Server) onReinvite(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	l := s.lookupDialog(req)
	if l == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if !l.reinviteBusy.CompareAndSwap(false, true) {
		// RFC 3261 §14.2: a re-INVITE while one is pending.
		s.respond(tx, req, 491, "Request Pending")
		return
	}
	defer l.reinviteBusy.Store(false)
	// Our own CSeq check: sipgo's Dialog.ReadRequest would move the number
	// ReadAck compares with, and an ACK overtaken by the next re-INVITE
	// (each message has its own goroutine) would then be lost.
	seq := req.CSeq().SeqNo
	for {
		last := l.remoteSeq.Load()
		if seq <= last {
			s.refuse(tx, req, 500, "Server Internal Error", fmt.Sprintf("re-INVITE CSeq %d not above %d", seq, last),
				sipgosip.NewHeader("Retry-After", "1"))
			return
		}
		if l.remoteSeq.CompareAndSwap(last, seq) {
			break
		}
	}
	ta, ok := l.refreshTimer(req, tx)
	if !ok {
		return
	}
	body, code := l.updateMedia(req.Body())
	if code != 200 {
		s.respond(tx, req, code, "Not Acceptable Here")
		return
	}
	res := s.newResponse(req, 200, "OK", body)
	res.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(s.contactHeader("", req.Transport()))
	res.AppendHeader(sipgosip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
	l.refreshed(res, ta)
	if err := l.respond2xx(tx, res, req.CSeq().SeqNo); err != nil && !errors.Is(err, errLegEnded) {
		l.log.Info("re-INVITE 2xx not acknowledged", "error", err)
	}
}

// onUpdate answers an UPDATE (RFC 3311) the same way, without ACK.
func (s *Server) onUpdate(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	l := s.lookupDialog(req)
	if l == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	ta, ok := l.refreshTimer(req, tx)
	if !ok {
		return
	}
	if len(req.Body()) == 0 {
		// A session refresh (RFC 4028) or a target refresh without SDP.
		res := s.newResponse(req, 200, "OK", nil)
		res.AppendHeader(s.contactHeader("", req.Transport()))
		res.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
		l.refreshed(res, ta)
		if err := tx.Respond(res); err != nil {
			l.log.Debug("update respond", "error", err)
		}
		return
	}
	body, code := l.updateMedia(req.Body())
	if code != 200 {
		s.respond(tx, req, code, "Not Acceptable Here")
		return
	}
	res := s.newResponse(req, 200, "OK", body)
	res.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(s.contactHeader("", req.Transport()))
	res.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
	l.refreshed(res, ta)
	if err := tx.Respond(res); err != nil {
		l.log.Debug("update respond", "error", err)
	}
}

// updateMedia applies a new offer to the leg's stream and returns the SDP
// answer, keeping the negotiated codec. No offer (empty body): the box's
// current SDP is sent again (RFC 3261 §14.2 lets the ACK carry the answer).
func (l *Leg) updateMedia(offerBody []byte) ([]byte, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(offerBody) == 0 {
		l.origin.Version++
		return l.sdpLocked(), 200
	}
	offer, err := media.ParseSDP(offerBody)
	if err != nil {
		return nil, 488
	}
	ans, err := media.AnswerCodec(offer, l.stream.Local(), l.stream.Codec().Name)
	if err != nil {
		ans, err = media.Answer(offer, l.stream.Local())
		if err != nil {
			return nil, 488
		}
	}
	if err := l.answerCryptoLocked(offer, &ans); err != nil { // srtp.go
		return nil, 488
	}
	l.stream.SetRemote(offer)
	l.local = ans
	l.origin.Version++
	return l.sdpLocked(), 200
}

// onInfo takes DTMF from SIP INFO (application/dtmf-relay, application/dtmf).
func (s *Server) onInfo(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	// Like BYE: remembered compactly, so a retransmitted INFO is answered
	// again without queueing its digit twice.
	defer tx.Terminate()
	key, err := sipgosip.ServerTxKeyMake(req)
	if err != nil {
		return
	}
	now := time.Now()
	if code, ok := s.recent.get(key, now); ok {
		s.respond(tx, req, code, phrase(code))
		return
	}
	l := s.lookupDialog(req)
	if l == nil {
		s.respond(tx, req, 481, phrase(481))
		s.recent.add(key, 481, now)
		return
	}
	defer s.recent.add(key, 200, now)
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	if d, ok := parseInfoDigit(ct, string(req.Body())); ok {
		l.stream.InjectDigit(d)
	}
	s.respond(tx, req, 200, "OK")
}

func parseInfoDigit(ct, body string) (call.Digit, bool) {
	var d call.Digit
	valid := func(k string) bool {
		return len(k) == 1 && strings.ContainsAny(strings.ToUpper(k), "0123456789*#ABCD")
	}
	switch {
	case strings.HasPrefix(ct, "application/dtmf-relay"):
		for _, line := range strings.Split(body, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				if v == "10" {
					v = "*"
				} else if v == "11" {
					v = "#"
				}
				if valid(v) {
					d.Key = strings.ToUpper(v)[0]
				}
			case "duration":
				if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 60000 {
					d.Duration = time.Duration(n) * time.Millisecond
				}
			}
		}
	case strings.HasPrefix(ct, "application/dtmf"):
		v := strings.TrimSpace(body)
		if valid(v) {
			d.Key = strings.ToUpper(v)[0]
		}
	}
	return d, d.Key != 0
}

// phrase is the reason phrase the box sends with a status it replays.
func phrase(code int) string {
	switch code {
	case 200:
		return "OK"
	case 481:
		return "Call/Transaction Does Not Exist"
	default:
		return "Server Internal Error"
	}
}
