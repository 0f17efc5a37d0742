package flow

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/events"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

// Call transfer, whatever asked for it: a SIP phone's REFER (the edge
// turns it into a call.Transfer on the leg's Transfers channel), or the
// in-call feature codes ## (blind) and *2 (attended: consult) typed on
// any leg that carries DTMF.
//
// While a call is bridged, bridgeTransfers watches both parties. The
// party that asks is the transferrer; the other is kept and goes on:
//
//   - blind (Transfer.To): the kept party hears ringback while the
//     destination rings for system.transfer_recall. Answered: the kept
//     party is bridged to it and the transferrer's leg ends. Not answered,
//     busy, declined or refused (the transferrer may not call that
//     number): the transferrer is told (the final NOTIFY; two seconds of
//     the zone's busy tone) and gets the call back: at once while its leg
//     is up, else its extension is rung again (the recall) for the
//     extension ring time. A queue, group, hunt group or IVR takes the
//     call at once and keeps it (no recall: they hold the caller).
//   - attended (Transfer.Replaces): the transferrer's leg in another
//     bridged call (the consult call) names that call; its far party
//     leaves it and is bridged to the kept party, and both of the
//     transferrer's legs end.
//
// When the transferrer is the call's caller (its leg carries the call's
// life, its context), the other party goes on in a new call of its own,
// whose record names the original call (cdr.Record.TransferOf); that call
// carries the transfer out the same way (handOff).

// transferTone is what the transferrer hears before a failed blind
// transfer comes back: the zone's busy tone, this long.
const transferTone = 2 * time.Second

// Feature codes typed during a bridged call.
const (
	FeatureBlindTransfer    = "##" // ## then the number, then # or a pause
	FeatureAttendedTransfer = "*2" // *2 then the number: talk to them first, hang up to transfer
)

// digitGap ends a number typed after ## when no digit follows.
const digitGap = 3 * time.Second

// bridged is the far party of a connected call as transfers change it.
type bridged struct {
	out      call.Leg
	rec      cdr.Leg // out's CDR leg
	ext      string  // out's extension, when an extension's phone answered
	recorded bool    // rec was added to the CDR already
	handed   bool    // out or the caller joined another call
	over     bool    // the call went on elsewhere and ended there with cause
	cause    call.Cause
	pending  *call.Transfer // to carry out before the first bridge (handOff)
	// pendingConsult: pending is a *2 consultation, not a transfer.
	pendingConsult bool
	// endPres ends the presence mark of out (on a call), set by connect.
	endPres func()
	// leave are what ends with out's part in the call (the ACD told an
	// agent is talking); leaveDone tells a queue its agent is done.
	leave     []func()
	leaveDone func()
}

// entryExtension is the extension whose phone answered e, if any.
// transferrer names x.out, who asks for a transfer: label for the call
// record (the extension whose phone answered, else "agent:ID" for an
// agent's browser or mobile) and the ring member that rings them back
// ("" when there is none).
func (x *bridged) transferrer() (label, member string) {
	switch {
	case x.ext != "":
		return x.ext, "ext:" + x.ext
	case x.rec.Agent != "":
		return "agent:" + x.rec.Agent, x.rec.Agent
	}
	return "", ""
}

func entryExtension(e ring.Entry) string {
	if e.Target.Kind == call.TargetExtension {
		return e.Target.Number
	}
	return ""
}

// placedCalls are the calls extensions placed, by the caller's leg id,
// with the number dialled: a REFER with Replaces naming one that is not
// bridged yet (still ringing) is carried out as a blind transfer to that
// number.
type placedCalls struct {
	mu sync.Mutex // protects m
	m  map[string]placedCall
}

type placedCall struct {
	leg call.Leg
	to  string
}

// add registers leg's call to `to`; the returned func removes it.
func (p *placedCalls) add(leg call.Leg, to string) (remove func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]placedCall{}
	}
	p.m[leg.ID()] = placedCall{leg: leg, to: to}
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.m, leg.ID())
	}
}

func (p *placedCalls) get(id string) (placedCall, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc, ok := p.m[id]
	return pc, ok
}

// bridges finds the bridged call a leg is in, for attended transfers.
type bridges struct {
	mu sync.Mutex // protects m
	m  map[string]*bridgeCtl
}

// bridgeCtl is one bridged call as other calls reach it.
type bridgeCtl struct {
	c    *Call
	take chan takeReq
}

// takeReq asks a bridged call to give up the party that is not leg.
type takeReq struct {
	leg   string // the transferrer's leg in the consult call
	into  string // the call taking the party
	reply chan taken
}

type taken struct {
	leg   call.Leg // nil: the call could not give it
	label string   // the party as the CDR names it
	call  string   // the consult call's id
}

func (b *bridges) set(id string, ctl *bridgeCtl) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*bridgeCtl{}
	}
	b.m[id] = ctl
}

func (b *bridges) del(id string, ctl *bridgeCtl) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m[id] == ctl {
		delete(b.m, id)
	}
}

func (b *bridges) get(id string) *bridgeCtl {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[id]
}

func transfersOf(l call.Leg) <-chan call.Transfer {
	if t, ok := l.(call.Transferor); ok {
		return t.Transfers()
	}
	if t, ok := call.Unwrap(l).(call.Transferor); ok {
		return t.Transfers()
	}
	return nil
}

// bridgeTransfers bridges c.in and x.out until the call ends, carrying out
// the transfers either side asks for on the way. It returns the last
// bridge's error; x says what became of the call.
func (c *Call) bridgeTransfers(ctx context.Context, x *bridged) error {
	ctl := &bridgeCtl{c: c, take: make(chan takeReq)}
	c.e.xfers.set(c.in.ID(), ctl)
	defer c.e.xfers.del(c.in.ID(), ctl)
	var fc, fcIn featureCode // the far party's and the caller's in-call codes
	inDigits := c.in.Media().Digits()
	for {
		if t := x.pending; t != nil {
			// A call handed off by its caller starts with the transfer.
			x.pending = nil
			var err error
			if x.pendingConsult {
				err = c.consult(ctx, x, t.To)
			} else {
				err = c.transfer(ctx, x, *t)
			}
			if err != nil || x.over {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		c.e.xfers.set(x.out.ID(), ctl)
		outID := x.out.ID()
		bctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.bridge(bctx, x.out) }()
		var (
			t      call.Transfer
			by     call.Leg
			take   *takeReq
			ended  bool
			berr   error
			feat   string // the in-call code typed, if that is what asked
			digits = x.out.Media().Digits()
		)
		for by == nil && take == nil && !ended {
			select {
			case berr = <-done:
				ended = true
			case t = <-transfersOf(x.out):
				by = x.out
			case t = <-transfersOf(c.in):
				by = c.in
			case r := <-ctl.take:
				take = &r
			case d := <-digits:
				if code, num, ok := fc.add(d.Key); ok {
					t, by, feat = call.Transfer{To: num}, x.out, code
				}
			case <-fc.timeout():
				if code, num, ok := fc.flush(); ok {
					t, by, feat = call.Transfer{To: num}, x.out, code
				}
			case d := <-inDigits:
				if code, num, ok := fcIn.add(d.Key); ok {
					t, by, feat = call.Transfer{To: num}, c.in, code
				}
			case <-fcIn.timeout():
				if code, num, ok := fcIn.flush(); ok {
					t, by, feat = call.Transfer{To: num}, c.in, code
				}
			}
		}
		stop()
		if !ended {
			berr = <-done
		}
		c.e.xfers.del(outID, ctl)
		switch {
		case ended:
			return berr
		case take != nil:
			if c.giveUp(*take, x) {
				return nil
			}
		case by == c.in:
			// The caller transfers: the call's life is the caller's
			// leg's (its context), so the other party goes on in a call
			// of its own that carries the transfer out (handOff).
			c.handOff(ctx, x, t, feat == FeatureAttendedTransfer)
			return nil
		case feat == FeatureAttendedTransfer:
			if err := c.consult(ctx, x, t.To); err != nil || x.over {
				return err
			}
		default:
			if err := c.transfer(ctx, x, t); err != nil || x.over {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func ended(l call.Leg) bool {
	select {
	case <-l.Done():
		return true
	default:
		return false
	}
}

func report(t call.Transfer, cause call.Cause) {
	if t.Report == nil {
		return
	}
	if cause == call.Normal {
		t.Report(200, "OK")
		return
	}
	t.Report(cause.SIPStatus())
}

// transfer carries out t asked by x.out, the transferrer; c.in is kept.
// On return x is who the caller is bridged to next, or x.over.
func (c *Call) transfer(ctx context.Context, x *bridged, t call.Transfer) error {
	if t.Replaces != "" {
		return c.attended(ctx, x, t)
	}
	return c.blind(ctx, x, t)
}

// blind sends the caller to t.To and brings the call back to the
// transferrer when nobody there takes it within transfer_recall.
func (c *Call) blind(ctx context.Context, x *bridged, t call.Transfer) error {
	if isParkCode(t.To) {
		return c.park(ctx, x, t)
	}
	by, byExt := x.out, x.ext
	byLabel, back := x.transferrer()
	xr := cdr.Transfer{Kind: cdr.Blind, By: byLabel, ByLeg: by.ID(), To: t.To, At: time.Now()}
	c.log.Info("blind transfer", "by", byLabel, "to", t.To)
	if dest, ok := c.transferDestination(t.To); ok {
		// A queue, group or menu takes the caller now and keeps them.
		report(t, call.Normal)
		xr.Result = "completed"
		c.rec.Transfers = append(c.rec.Transfers, xr)
		c.endParty(x, call.Normal)
		x.over, x.cause = true, c.run(ctx, dest)
		return nil
	}
	res := c.ring(ctx, c.transferEntries(t.To, byExt, c.snap.Site.System.Recall(), c.opts(ring.Opts{})), "")
	if res.Answer != nil {
		report(t, call.Normal)
		xr.Result, xr.Leg = "completed", res.Leg.ID()
		c.rec.Transfers = append(c.rec.Transfers, xr)
		c.endParty(x, call.Normal)
		x.out, x.rec, x.ext, x.recorded = res.Leg, res.Rec, entryExtension(res.Entry), false
		x.rec.TransferBy = byLabel
		c.joined(x, res.Entry.Keys)
		c.rec.AnsweredBy = res.Entry.Label
		c.peer = res.Leg
		return nil
	}
	if ctx.Err() != nil || res.Cause == call.Cancelled {
		// The caller hung up while the destination rang.
		report(t, res.Cause)
		xr.Result = res.Cause.String()
		c.rec.Transfers = append(c.rec.Transfers, xr)
		return nil
	}
	cause := res.Cause
	if res.Declined {
		cause = call.Rejected
	}
	c.log.Info("blind transfer failed", "to", t.To, "cause", cause)
	report(t, cause)
	xr.Result = cause.String()
	if !ended(by) {
		// The transferrer waited on the line: the call comes back,
		// unless their phone hangs up on hearing of the failure (some
		// end the call on a failed transfer's NOTIFY): then the recall.
		c.playDeclined(ctx, by)
		if !ended(by) {
			c.rec.Transfers = append(c.rec.Transfers, xr)
			return nil
		}
	}
	if ctx.Err() != nil {
		c.rec.Transfers = append(c.rec.Transfers, xr)
		return nil
	}
	xr.Recalled = true
	c.rec.Transfers = append(c.rec.Transfers, xr)
	return c.recall(ctx, x, back, byLabel)
}

// handOff gives the call's other party (x.out) to a new call when the
// caller (c.in, the transferrer) asks for a transfer: the new call owns
// both legs (the other party as its caller, the transferrer as the party
// it is bridged to) and starts with the transfer, so a failed blind
// transfer comes back to the transferrer as in any call. This call ends
// without hanging up either.
func (c *Call) handOff(ctx context.Context, x *bridged, t call.Transfer, consult bool) {
	k, by, byExt := x.out, c.in, c.info.Extension
	n := c.e.handoffs.Add(1)
	id := fmt.Sprintf("%s-x%d", c.info.CallID, n)
	now := time.Now()
	x.rec.End, x.rec.Cause = now, "transferred"
	c.addLeg(x.rec)
	x.recorded, x.handed = true, true
	c.handedIn = true
	kind := t.Kind()
	if consult {
		kind = cdr.Attended
	}
	c.rec.Transfers = append(c.rec.Transfers, cdr.Transfer{Kind: kind, By: byExt, ByLeg: by.ID(), To: t.To,
		Leg: k.ID(), Call: id, At: now, Result: "handed_off"})
	c.log.Info("caller transfers: the call goes on as its own", "by", byExt, "new_call", id)

	info := Inbound{CallID: id, From: k.Remote(), To: t.To, Trunk: c.info.Trunk, DID: c.info.DID}
	if strings.HasPrefix(x.rec.Target, "ext:") {
		info.Extension = strings.TrimPrefix(x.rec.Target, "ext:")
	}
	// The new call lives until its caller (the other party) hangs up:
	// its context is that leg's end, not the old caller's.
	nctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := call.AfterEnd(k, func() { cancel(call.Normal) })
	c.e.calls.add()
	go func() {
		defer c.e.calls.done()
		defer cancel(nil)
		defer stop()
		c.e.handleHandedOff(nctx, k, by, byExt, info, t, consult, c)
	}()
}

// handleHandedOff runs the call handOff made: k is its caller (answered
// already), by the transferrer.
func (e *Engine) handleHandedOff(ctx context.Context, k, by call.Leg, byExt string, info Inbound, t call.Transfer, consult bool, from *Call) {
	c := e.newCall(k, info)
	c.snap = from.snap
	c.rec.Direction, c.rec.TransferOf = from.rec.Direction, from.info.CallID
	c.rec.Start, c.rec.Answer = time.Now(), time.Now()
	c.answered, c.progressed = true, true
	if t, ok := e.CDR.(cdr.Tracker); ok {
		// The new call is up already: a restart must find it too.
		t.CallStarted(c.rec)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer e.live.add(LiveCall{ID: info.CallID, Direction: c.rec.Direction, Caller: info.From.Number,
		CallerName: c.rec.CallerName, Callee: info.To, Extension: info.Extension, Trunk: info.Trunk,
		State: LiveTalking, StateSince: c.rec.Start, Started: c.rec.Start, Path: []string{}}, cancel)()
	e.publish(events.CallStarted{Call: info.CallID, From: info.From.Number, To: info.To, Direction: c.rec.Direction})
	now := time.Now()
	entry := ring.Entry{Label: "ext:" + byExt, Target: call.Target{Kind: call.TargetExtension, Number: byExt},
		Keys: ring.ExtKeys(from.snap.Site, byExt)}
	if byExt == "" {
		entry.Label = "caller:" + from.info.From.Number
		entry.Target = call.Target{Kind: call.TargetExternal, Number: from.info.From.Number}
		entry.Keys = nil
	}
	a := &ring.Answer{Leg: by, Entry: entry, Rec: cdr.Leg{ID: by.ID(), Target: entry.Label, Start: now, Answer: now}}
	c.pendingTransfer, c.pendingConsult = &t, consult
	c.finish(c.connect(ctx, a, nil))
}

// joined marks the party a transfer connected as on a call (presence),
// for as long as it is the call's far party.
func (c *Call) joined(x *bridged, keys []string) {
	if x.endPres != nil {
		x.endPres()
	}
	x.endPres = c.e.presence().Begin(keys...)
}

// transferEntries rings num (an extension, else an outside number judged
// with the transferrer's permission) for at most until.
func (c *Call) transferEntries(num, byExt string, until time.Duration, o ring.Opts) []ring.Entry {
	if ring.FindExt(c.snap.Site, num) != nil {
		return ring.Member(c.avail(), "ext:"+num, 0, until, o)
	}
	tg := call.Target{Kind: call.TargetExternal, Number: num, From: o.From, Class: extClass(c.snap.Site, byExt),
		Codecs: o.Codecs, Diversion: o.Diversion}
	return []ring.Entry{{Target: tg, Label: "external:" + num, Keys: ring.NumberKeys(c.snap.Site, num),
		Member: num, Kind: "external", Until: until}}
}

// consult is *2 + number: the caller waits (hearing ringback) while the
// transferrer calls num and talks to them; the transferrer hanging up
// then completes the transfer (the caller is bridged to num). num not
// answering, declining or hanging up first brings the caller back to the
// transferrer.
func (c *Call) consult(ctx context.Context, x *bridged, num string) error {
	by, byExt := x.out, x.ext
	byLabel, back := x.transferrer()
	xr := cdr.Transfer{Kind: cdr.Attended, By: byLabel, ByLeg: by.ID(), To: num, At: time.Now()}
	c.log.Info("consult transfer", "by", byLabel, "to", num)
	stopHold := c.ringback(ctx, "")
	defer stopHold()
	// The transferrer hears ringback too while num rings; num is shown
	// the transferrer, who is calling them.
	stopTone := c.playTone(ctx, by, tone.Ringback)
	o := ring.Opts{From: call.Party{Number: byExt, Name: by.Remote().Name}}
	if x := ring.FindExt(c.snap.Site, byExt); x != nil && x.Name != "" {
		o.From.Name = x.Name
	}
	o.Codecs = by.Media().Codecs()
	// The ringing goes on when the transferrer hangs up before num
	// answers (a transfer completed while ringing, as on other PBXs): the
	// caller is then connected to whoever answers, and nobody answering
	// rings the transferrer back. Only the caller hanging up stops it.
	res := c.e.ringer().Ring(ctx, ring.Request{Dialer: &c.router, Entries: c.transferEntries(num, byExt, c.e.extensionRing(), o),
		Caller: c.in, Record: c.addLeg, Wait: &c.bg, Log: c.log})
	stopTone()
	if res.Answer == nil {
		cause := res.Cause
		if res.Declined {
			cause = call.Rejected
		}
		xr.Result = cause.String()
		if ctx.Err() != nil {
			c.rec.Transfers = append(c.rec.Transfers, xr)
			return nil
		}
		if !ended(by) {
			c.playDeclined(ctx, by)
		}
		if !ended(by) {
			c.rec.Transfers = append(c.rec.Transfers, xr)
			return nil // back to the caller
		}
		xr.Recalled = true
		c.rec.Transfers = append(c.rec.Transfers, xr)
		stopHold()
		return c.recall(ctx, x, back, byLabel)
	}
	peer, prec := res.Leg, res.Rec
	if ended(by) {
		c.log.Info("consult answered after the transferrer hung up: transfer completed", "to", num)
	} else if c.consultBridge(ctx, by, peer) { // *3: a three-way call (conference.go)
		stopHold()
		c.threeWay(ctx, x, by, peer, prec, xr)
		return nil
	}
	stopHold()
	switch {
	case ctx.Err() != nil || ended(c.in):
		peer.Hangup(call.Normal)
		prec.End, prec.Cause = time.Now(), call.Normal.String()
		c.addLeg(prec)
		xr.Result = call.Cancelled.String()
		c.rec.Transfers = append(c.rec.Transfers, xr)
		return nil
	case ended(by) && !ended(peer):
		xr.Result, xr.Leg = "completed", peer.ID()
		c.rec.Transfers = append(c.rec.Transfers, xr)
		c.endParty(x, call.Normal)
		x.out, x.rec, x.ext, x.recorded = peer, prec, entryExtension(res.Entry), false
		x.rec.TransferBy = byLabel
		c.joined(x, res.Entry.Keys)
		c.rec.AnsweredBy = res.Entry.Label
		c.peer = peer
		return nil
	default:
		// num hung up first: the transferrer has the caller back.
		peer.Hangup(call.Normal)
		prec.End, prec.Cause = time.Now(), call.Normal.String()
		c.addLeg(prec)
		xr.Result = "returned"
		c.rec.Transfers = append(c.rec.Transfers, xr)
		if ended(by) {
			x.over, x.cause = true, call.Normal
		}
		return nil
	}
}

// playTone plays the zone's tone k to l until the returned stop is
// called; stop waits for the player.
func (c *Call) playTone(ctx context.Context, l call.Leg, k tone.Kind) (stop func()) {
	zone, err := tone.Zone(c.snap.Site.System.Zone())
	if err != nil {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Media().Play(pctx, zone.Source(k, rateOf(l.Media())), false)
	}()
	return func() {
		cancel()
		<-done
	}
}

// recall rings the transferrer's extension again after a blind transfer
// failed; answered, they hear the busy tone briefly and have the caller
// back. Not answered: the call is over.
func (c *Call) recall(ctx context.Context, x *bridged, member, label string) error {
	c.endParty(x, call.Normal)
	entries := ring.Member(c.avail(), member, 0, c.e.extensionRing(), c.opts(ring.Opts{}))
	if member == "" || len(entries) == 0 {
		x.over, x.cause = true, call.NoAnswer
		return nil
	}
	c.log.Info("transfer recall", "to", label)
	res := c.ring(ctx, entries, "")
	if res.Answer == nil {
		// Nobody took the call back: the transferrer's mailbox takes a
		// message, as it would for a call to their extension.
		ext, isExt := strings.CutPrefix(member, "ext:")
		if xt := ring.FindExt(c.snap.Site, ext); isExt && xt != nil {
			if next, _ := c.afterNoAnswer(ext, xt.Voicemail, res.Cause); next != "" && ctx.Err() == nil && !ended(c.in) {
				c.log.Info("transfer recall not answered: the transferrer's mailbox", "ext", ext)
				x.over, x.cause = true, c.run(ctx, next)
				return nil
			}
		}
		x.over, x.cause = true, res.Cause
		return nil
	}
	c.playDeclined(ctx, res.Leg)
	x.out, x.rec, x.ext, x.recorded = res.Leg, res.Rec, entryExtension(res.Entry), false
	x.rec.TransferBy = label
	c.joined(x, res.Entry.Keys)
	c.peer = res.Leg
	return nil
}

// playDeclined tells the transferrer their transfer failed: the zone's
// busy tone for transferTone.
func (c *Call) playDeclined(ctx context.Context, l call.Leg) {
	zone, err := tone.Zone(c.snap.Site.System.Zone())
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, transferTone)
	defer cancel()
	l.Media().Play(pctx, zone.Source(tone.Busy, rateOf(l.Media())), false)
}

// endParty ends the far party's leg (the transferrer's), clears its
// presence mark and records it.
func (c *Call) endParty(x *bridged, cause call.Cause) {
	x.out.Hangup(cause)
	if x.endPres != nil {
		x.endPres()
		x.endPres = func() {}
	}
	for _, f := range x.leave {
		f()
	}
	x.leave = nil
	if x.leaveDone != nil {
		x.leaveDone()
		x.leaveDone = nil
	}
	if !x.recorded {
		x.rec.End = time.Now()
		x.rec.Cause = cause.String()
		c.addLeg(x.rec)
		x.recorded = true
	}
}

// attended bridges the caller to the far party of the consult call named
// by t.Replaces.
func (c *Call) attended(ctx context.Context, x *bridged, t call.Transfer) error {
	byLabel, _ := x.transferrer()
	xr := cdr.Transfer{Kind: cdr.Attended, By: byLabel, ByLeg: x.out.ID(), At: time.Now()}
	ctl := c.e.xfers.get(t.Replaces)
	if ctl == nil {
		if p, ok := c.e.placed.get(t.Replaces); ok {
			// A semi-attended transfer: the transferrer pressed transfer
			// while the consult call still rang (or waited in a queue or
			// menu). It becomes a blind transfer to the number they
			// dialled: the consult call ends and that number is called
			// for the caller, with the blind transfer's recall.
			c.log.Info("attended transfer to a consult call not answered: a blind transfer to its number", "leg", t.Replaces, "to", p.to)
			p.leg.Hangup(call.Normal)
			return c.blind(ctx, x, call.Transfer{To: p.to, Report: t.Report})
		}
	}
	if ctl == nil || ctl.c == c {
		c.log.Info("attended transfer: the consult call is not bridged", "leg", t.Replaces)
		report(t, call.NotFound)
		return nil
	}
	req := takeReq{leg: t.Replaces, into: c.info.CallID, reply: make(chan taken, 1)}
	timer := time.NewTimer(2 * time.Second)
	defer timer.Stop()
	var got taken
	select {
	case ctl.take <- req:
		got = <-req.reply
	case <-timer.C:
	case <-ctx.Done():
	}
	if got.leg == nil {
		report(t, call.NotFound)
		return nil
	}
	report(t, call.Normal)
	c.log.Info("attended transfer", "by", x.ext, "joined", got.label, "consult", got.call)
	xr.To, xr.Leg, xr.Call, xr.Result = got.label, got.leg.ID(), got.call, "completed"
	c.rec.Transfers = append(c.rec.Transfers, xr)
	by := x.ext
	c.endParty(x, call.Normal)
	now := time.Now()
	x.out, x.ext, x.recorded = got.leg, "", false
	x.rec = cdr.Leg{ID: got.leg.ID(), Target: got.label, Start: now, Answer: now, TransferBy: by}
	if i := strings.LastIndex(got.label, "ext:"); i >= 0 {
		x.ext = got.label[i+len("ext:"):]
		c.joined(x, ring.ExtKeys(c.snap.Site, x.ext))
	}
	c.rec.AnsweredBy = got.label
	c.peer = got.leg
	return nil
}

// giveUp hands this call's party that is not r.leg to another call (an
// attended transfer there) and ends r.leg; false when r.leg is not in
// this call any more.
func (c *Call) giveUp(r takeReq, x *bridged) bool {
	var keep, end call.Leg
	var label string
	switch r.leg {
	case x.out.ID():
		keep, end = c.in, x.out
		label = c.rec.Caller
		if c.info.Extension != "" {
			label = "ext:" + c.info.Extension
		} else if label != "" {
			label = "external:" + label
		}
	case c.in.ID():
		keep, end, label = x.out, c.in, x.rec.Target
	default:
		r.reply <- taken{}
		return false
	}
	r.reply <- taken{leg: keep, label: label, call: c.info.CallID}
	by := x.ext
	if end == c.in {
		by = c.info.Extension
	}
	c.rec.Transfers = append(c.rec.Transfers, cdr.Transfer{Kind: cdr.Attended, By: by, ByLeg: end.ID(), To: label,
		Leg: keep.ID(), Call: r.into, At: time.Now(), Result: "completed"})
	end.Hangup(call.Normal)
	if keep == c.in {
		c.handedIn = true
		x.rec.End = time.Now()
		x.rec.Cause = call.Normal.String()
		c.addLeg(x.rec)
		x.recorded = true
	} else {
		x.rec.End = time.Now()
		x.rec.Cause = "transferred"
		c.addLeg(x.rec)
		x.recorded = true
	}
	x.handed = true
	return true
}

// transferDestination is the site destination t names when it is not a
// number to ring: "kind:id", or the bare id of a queue, ring group, hunt
// group or IVR.
func (c *Call) transferDestination(to string) (string, bool) {
	s := c.snap.Site
	if kind, id, ok := strings.Cut(to, ":"); ok && id != "" {
		switch kind {
		case site.DestQueue, site.DestRingGroup, site.DestHunt, site.DestIVR, site.DestVoicemail, site.DestAgent:
			return to, true
		}
		return "", false
	}
	for _, q := range s.Queues {
		if q.ID == to {
			return site.DestQueue + ":" + to, true
		}
	}
	for _, g := range s.RingGroups {
		if g.ID == to {
			return site.DestRingGroup + ":" + to, true
		}
	}
	for _, h := range s.HuntGroups {
		if h.ID == to {
			return site.DestHunt + ":" + to, true
		}
	}
	for _, v := range s.IVRs {
		if v.ID == to {
			return site.DestIVR + ":" + to, true
		}
	}
	return "", false
}

// extClass is the outbound permission of extension ext ("internal" for
// none): a transfer to an outside number is judged as a call ext placed.
func extClass(s *site.Site, ext string) string {
	if x := ring.FindExt(s, ext); x != nil {
		return x.PermissionClass()
	}
	return site.PermInternal
}

// featureCode follows the digits a party types during a bridged call for
// ## + number (blind transfer) and *2 + number (attended transfer).
type featureCode struct {
	buf   []byte
	timer *time.Timer
}

// add takes one digit; it returns the code (## or *2) and the number
// once the number ended with # (a pause ends it too: timeout, flush).
func (f *featureCode) add(k byte) (code, num string, ok bool) {
	switch len(f.buf) {
	case 0:
		if k != '#' && k != '*' {
			return "", "", false // not a feature code: the digit is the far end's
		}
	case 1:
		if !(f.buf[0] == '#' && k == '#') && !(f.buf[0] == '*' && k == '2') {
			f.reset()
			return "", "", false
		}
	default:
		if k == '#' {
			code, num = string(f.buf[:2]), string(f.buf[2:])
			f.reset()
			return code, num, num != ""
		}
	}
	f.buf = append(f.buf, k)
	if len(f.buf) > 2+32 {
		f.reset()
		return "", "", false
	}
	if f.timer == nil {
		f.timer = time.NewTimer(digitGap)
	} else {
		f.timer.Reset(digitGap)
	}
	return "", "", false
}

// timeout fires digitGap after the last digit of a code in progress.
func (f *featureCode) timeout() <-chan time.Time {
	if f.timer == nil || len(f.buf) == 0 {
		return nil
	}
	return f.timer.C
}

// flush ends a code in progress: the code and number typed so far.
func (f *featureCode) flush() (code, num string, ok bool) {
	defer f.reset()
	if len(f.buf) > 2 {
		return string(f.buf[:2]), string(f.buf[2:]), true
	}
	return "", "", false
}

func (f *featureCode) reset() {
	f.buf = f.buf[:0]
	if f.timer != nil {
		f.timer.Stop()
	}
}
