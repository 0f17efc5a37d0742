package flow

import (
	"context"
	"slices"
	"sync"
	"time"

	"ringbox/audio/prompts"
	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/ring"
)

// Call park (docs/features.md, Park). A party of a bridged call parks
// the other party by a blind transfer to a park code: ##*70# typed
// during the call, or the phone's transfer key to *70 (REFER); *71 does
// the same. The box takes the first free slot of system.park_slots
// (701-709 by default), says its number to the parker, and ends the
// parker's leg; the parked party hears hold music. Any extension dialling
// the slot number takes the call (the retriever is bridged to it). Nobody
// within system.park_timeout (120 s): the parker rings again (the
// transfer recall), and if nobody answers there the call ends.
//
// *70 parks only as a transfer's destination: dialled from an idle phone,
// *70N records prompt N (promptrecord.go). A transfer's destination is
// never a prompt recording, so the two do not clash; *71 is kept for
// phones configured with it.
const (
	FeaturePark    = "*70"
	FeatureParkAlt = "*71"
)

// isParkCode reports whether a transfer's destination asks for a park.
func isParkCode(to string) bool { return to == FeaturePark || to == FeatureParkAlt }

// parkLot is the calls parked, by slot.
type parkLot struct {
	mu sync.Mutex // protects m
	m  map[string]*parkedCall
}

// parkedCall is one parked call as retrievers reach it.
type parkedCall struct {
	retrieve chan retrieveReq
	done     chan struct{} // closed when the call left the slot
}

type retrieveReq struct {
	leg   call.Leg
	entry ring.Entry
	reply chan bool
}

// take gives p the first free slot of slots; "" when all are taken.
func (l *parkLot) take(slots []string, p *parkedCall) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*parkedCall{}
	}
	for _, s := range slots {
		if l.m[s] == nil {
			l.m[s] = p
			return s
		}
	}
	return ""
}

func (l *parkLot) free(slot string, p *parkedCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[slot] == p {
		delete(l.m, slot)
		close(p.done)
	}
}

func (l *parkLot) get(slot string) *parkedCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[slot]
}

// Parked lists the slots that hold a call, in order.
func (e *Engine) Parked() []string {
	e.parks.mu.Lock()
	defer e.parks.mu.Unlock()
	var out []string
	for s := range e.parks.m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// park parks c.in (the kept party) for x.out, the parker, who asked with
// the blind transfer t. On return x is who c.in is bridged to next (the
// retriever, or the parker rung back), or x.over.
func (c *Call) park(ctx context.Context, x *bridged, t call.Transfer) error {
	by := x.out
	byExt, back := x.transferrer()
	xr := cdr.Transfer{Kind: cdr.Blind, By: byExt, ByLeg: by.ID(), To: t.To, At: time.Now()}
	p := &parkedCall{retrieve: make(chan retrieveReq), done: make(chan struct{})}
	slot := c.e.parks.take(c.snap.Site.System.Slots(), p)
	if slot == "" {
		// Every slot holds a call: the parker keeps this one.
		c.log.Info("park: every slot is taken", "by", byExt)
		report(t, call.Busy)
		xr.Result = call.Busy.String()
		c.rec.Transfers = append(c.rec.Transfers, xr)
		c.playDeclined(ctx, by)
		return nil
	}
	defer c.e.parks.free(slot, p)
	timer := time.NewTimer(c.snap.Site.System.ParkTime())
	defer timer.Stop()
	c.log.Info("parked", "slot", slot, "by", byExt)
	xr.To, xr.Result = "park:"+slot, "parked"
	c.rec.Transfers = append(c.rec.Transfers, xr)
	// The parked party hears hold music at once; the parker hears the
	// slot, and the transfer completes (a phone that sent REFER hangs up
	// on the final NOTIFY, so that comes after the announcement).
	stopMusic := c.ringback(ctx, "default")
	c.announceSlot(ctx, by, slot)
	report(t, call.Normal)
	c.endParty(x, call.Normal)
	c.setLive(LiveParked, nil)
	for {
		select {
		case r := <-p.retrieve:
			stopMusic()
			c.e.parks.free(slot, p)
			r.reply <- true
			c.log.Info("park: retrieved", "slot", slot, "by", r.entry.Label)
			now := time.Now()
			x.out, x.ext, x.recorded = r.leg, entryExtension(r.entry), false
			x.rec = cdr.Leg{ID: r.leg.ID(), Target: r.entry.Label, Agent: r.entry.Agent, Start: now, Answer: now}
			c.joined(x, r.entry.Keys)
			c.peer = r.leg
			c.rec.AnsweredBy = r.entry.Label
			c.setLive(LiveTalking, nil)
			return nil
		case <-timer.C:
			stopMusic()
			c.e.parks.free(slot, p)
			c.log.Info("park timeout: ringing the parker", "slot", slot, "ext", byExt)
			return c.recall(ctx, x, back, byExt)
		case <-c.in.Done():
			stopMusic()
			x.over, x.cause = true, call.Normal
			return nil
		case <-ctx.Done():
			stopMusic()
			x.over, x.cause = true, call.CauseOf(context.Cause(ctx))
			return nil
		}
	}
}

// announceSlot says slot to l, digit by digit ("seven zero one"); a
// character that is not a digit is a short pause.
func (c *Call) announceSlot(ctx context.Context, l call.Leg, slot string) {
	rate := rateOf(l.Media())
	lang := c.snap.Site.System.Lang()
	var clips [][]int16
	for _, d := range slot {
		if pcm, ok := prompts.Digit(lang, int(d-'0'), rate); ok {
			clips = append(clips, pcm)
		} else {
			clips = append(clips, make([]int16, rate/4))
		}
	}
	if len(clips) == 0 {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l.Media().Play(pctx, prompts.Source(clips...), false)
}

// retrieve hands the retriever's leg (this call's caller) to the call
// parked on slot, and waits while that call has it. An empty slot is the
// busy tone.
func (c *Call) retrieve(ctx context.Context, slot string) call.Cause {
	if err := c.answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	en := c.pickerEntry()
	if p := c.e.parks.get(slot); p != nil {
		r := retrieveReq{leg: c.in, entry: en, reply: make(chan bool, 1)}
		select {
		case p.retrieve <- r:
			<-r.reply
			c.handedIn = true
			select {
			case <-c.in.Done():
			case <-ctx.Done():
			}
			return call.Normal
		case <-p.done:
		case <-ctx.Done():
			return call.CauseOf(context.Cause(ctx))
		}
	}
	c.log.Info("park: nothing on slot", "slot", slot)
	zone, err := tone.Zone(c.snap.Site.System.Zone())
	if err != nil {
		return call.NotFound
	}
	pctx, cancel := context.WithTimeout(ctx, pickupTone)
	defer cancel()
	c.in.Media().Play(pctx, zone.Source(tone.Busy, rateOf(c.in.Media())), false)
	return call.NotFound
}

// isParkSlot reports whether num is one of the site's park slots.
func (c *Call) isParkSlot(num string) bool {
	return num != "" && slices.Contains(c.snap.Site.System.Slots(), num)
}
