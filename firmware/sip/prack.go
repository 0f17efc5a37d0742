package sip

// Reliable provisional responses (RFC 3262, "100rel"). Some carriers
// require every 180/183 to be acknowledged with PRACK, and send their own
// reliably: an INVITE with "Require: 100rel" used to be answered with
// unreliable provisionals, which such a carrier takes for lost ones.
//
// As UAS the box sends its 18x with Require: 100rel and an RSeq when the
// caller requires it, retransmits each (T1 doubling) until the PRACK that
// names it arrives, and sends no further reliable one before that (§3).
// As UAC it acknowledges each new reliable provisional with a PRACK
// carrying RAck (§4).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
)

// rack is a parsed RAck header: "RSeq CSeq-number method" (RFC 3262 §7.2).
type rack struct {
	rseq   uint32
	cseq   uint32
	method string
}

var errBadRAck = errors.New("bad RAck")

// parseRSeq parses an RSeq header: 1 to 2**31-1 (RFC 3262 §7.1).
func parseRSeq(v string) (uint32, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 10 {
		return 0, fmt.Errorf("bad RSeq %q", v)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 || n > 1<<31-1 {
		return 0, fmt.Errorf("bad RSeq %q", v)
	}
	return uint32(n), nil
}

func parseRAck(v string) (rack, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return rack{}, fmt.Errorf("%w %q: want RSeq, CSeq number and method", errBadRAck, v)
	}
	rs, err := parseRSeq(f[0])
	if err != nil {
		return rack{}, fmt.Errorf("%w: %w", errBadRAck, err)
	}
	if len(f[1]) > 10 {
		return rack{}, fmt.Errorf("%w: CSeq %q", errBadRAck, f[1])
	}
	cs, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return rack{}, fmt.Errorf("%w: CSeq %q", errBadRAck, f[1])
	}
	return rack{rseq: rs, cseq: uint32(cs), method: strings.ToUpper(f[2])}, nil
}

func (r rack) String() string { return fmt.Sprintf("%d %d %s", r.rseq, r.cseq, r.method) }

// ---- UAS ----

// errNoPrack: a reliable provisional was retransmitted for 64*T1 without
// its PRACK (RFC 3262 §3: reject the INVITE with a 5xx).
var errNoPrack = errors.New("no PRACK for a reliable provisional within 64*T1")

// sendProvisional sends an 18x to the caller's INVITE: reliably when the
// caller asked (l.rel100), waiting for its PRACK; else once.
func (l *Leg) sendProvisional(tx sipgosip.ServerTransaction, res *sipgosip.Response) error {
	if !l.rel100 {
		return tx.Respond(res)
	}
	// One reliable provisional at a time (RFC 3262 §3).
	l.relMu.Lock()
	defer l.relMu.Unlock()
	select {
	case <-l.done:
		return call.CauseOf(l.Err())
	default:
	}
	rseq := l.rseq.Add(1)
	res.AppendHeader(sipgosip.NewHeader("Require", "100rel"))
	res.AppendHeader(sipgosip.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	acked := make(chan struct{})
	l.mu.Lock()
	l.prackWait = &pendingPrack{rseq: rseq, acked: acked}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.prackWait = nil
		l.mu.Unlock()
	}()
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("send reliable %d: %w", res.StatusCode, err)
	}
	deadline := time.NewTimer(64 * sipgosip.T1)
	defer deadline.Stop()
	var resendC <-chan time.Time
	interval := sipgosip.T1
	var resend *time.Timer
	if !sipgosip.IsReliable(res.Transport()) {
		resend = time.NewTimer(interval)
		defer resend.Stop()
		resendC = resend.C
	}
	for {
		select {
		case <-acked:
			return nil
		case <-l.done:
			return call.CauseOf(l.Err())
		case <-deadline.C:
			l.log.Info("reliable provisional not acknowledged", "code", res.StatusCode, "rseq", rseq)
			l.Hangup(call.Failure)
			return errNoPrack
		case <-resendC:
			if err := tx.Respond(res); err != nil {
				l.log.Debug("reliable provisional retransmission failed", "error", err)
			}
			interval = min(interval*2, sipgosip.T2)
			resend.Reset(interval)
		}
	}
}

type pendingPrack struct {
	rseq  uint32
	acked chan struct{}
}

// onPrack takes a PRACK for one of the box's reliable provisionals.
func (s *Server) onPrack(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	l := s.lookupDialog(req)
	if l == nil || !l.inbound {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	ra, err := parseRAck(headerValue(req, "RAck", ""))
	if err != nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	l.mu.Lock()
	p := l.prackWait
	match := p != nil && ra.rseq == p.rseq && ra.cseq == l.inv.CSeq().SeqNo && ra.method == "INVITE"
	if match {
		l.prackWait = nil
	}
	l.mu.Unlock()
	if !match {
		// RFC 3262 §3: a PRACK for nothing unacknowledged.
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	// The PRACK's 200 first: released, the INVITE's 200 may follow at
	// once, and carriers expect them in that order.
	s.respond(tx, req, 200, "OK")
	close(p.acked)
}

// ---- UAC ----

// prackTracker remembers the last RSeq acknowledged per early dialog
// (To-tag) of one INVITE: a retransmission or an out-of-order reliable
// provisional is not acknowledged again (RFC 3262 §4).
type prackTracker map[string]uint32

// prack acknowledges a reliable provisional to the box's INVITE, when it
// is the next one of its early dialog.
func (l *Leg) prack(d *uacDialog, r *sipgosip.Response, seen prackTracker) {
	if !hasOptionTag(r, "Require", "", "100rel") || r.StatusCode == 100 {
		return
	}
	rseq, err := parseRSeq(headerValue(r, "RSeq", ""))
	if err != nil {
		l.log.Info("reliable provisional without a usable RSeq", "error", err)
		return
	}
	tag := tagOf(r.To().Params)
	if last, ok := seen[tag]; ok && rseq != last+1 {
		return // a retransmission (its PRACK's transaction retransmits)
	}
	seen[tag] = rseq
	early := &uacDialog{s: d.s, cli: d.cli, invite: d.invite, dest: d.dest, transport: d.transport}
	early.established(r)
	req := early.request(sipgosip.PRACK, d.cseq.Add(1))
	req.AppendHeader(sipgosip.NewHeader("RAck", rack{rseq: rseq, cseq: d.invite.CSeq().SeqNo, method: "INVITE"}.String()))
	req.AppendHeader(sipgosip.NewHeader("User-Agent", l.s.userAgent()))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		defer cancel()
		res, err := transact(ctx, d.cli, req)
		switch {
		case err != nil:
			l.log.Info("prack failed", "error", err)
		case !res.IsSuccess():
			l.log.Info("prack refused", "status", res.StatusCode)
		}
	}()
}
