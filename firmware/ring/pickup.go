package ring

import (
	"context"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
)

// Call pickup: while a Ring runs, the extensions it rings can be answered
// from another phone (group pickup *8, directed pickup **EXT; package flow
// decides who may pick whose calls). The picker's own leg, already
// answered, then wins the ringing exactly as a rung leg that answered
// would: the other legs stop as answered elsewhere, Request.Claim is asked
// first (a queue offering one caller to several agents), and Ring returns
// it as the Answer with the picker's Entry. Whoever rang (a group, an
// extension destination, the ACD's offer) connects it like any answer,
// so a queue counts the call answered by the picker.

// pickable is one Ring in progress as pickups see it.
type pickable struct {
	start time.Time
	pick  chan pickReq
	done  chan struct{} // closed when the Ring returns

	mu   sync.Mutex // protects exts
	exts map[int]string
}

// pickReq hands a picker's leg to a ringing.
type pickReq struct {
	leg   call.Leg
	entry Entry
	reply chan bool
}

// ringingExt is the extension an entry rings, if it rings a desk phone:
// an extension target, or an agent's extension.
func ringingExt(e Entry) string {
	if e.Target.Kind == call.TargetExtension {
		return e.Target.Number
	}
	for _, k := range e.Keys {
		if n, ok := strings.CutPrefix(k, "ext:"); ok {
			return n
		}
	}
	return ""
}

func (p *pickable) ringing(i int, ext string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exts[i] = ext
}

func (p *pickable) stopped(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.exts, i)
}

func (p *pickable) rings(match func(ext string) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.exts {
		if match(x) {
			return true
		}
	}
	return false
}

func (r *Ringer) addPickable(p *pickable) {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	if r.pickables == nil {
		r.pickables = map[*pickable]struct{}{}
	}
	r.pickables[p] = struct{}{}
}

func (r *Ringer) delPickable(p *pickable) {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	delete(r.pickables, p)
}

// candidates are the ringings that ring an extension match accepts,
// longest ringing first.
func (r *Ringer) candidates(match func(ext string) bool) []*pickable {
	r.pmu.Lock()
	var ps []*pickable
	for p := range r.pickables {
		if p.rings(match) {
			ps = append(ps, p)
		}
	}
	r.pmu.Unlock()
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].start.Before(ps[j-1].start); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	return ps
}

// Pickup hands leg (the picker's answered leg, entry naming it) to the
// ringing that has rung longest an extension match accepts. It reports
// whether a ringing took it; false: nothing matching rings (or every
// candidate was answered meanwhile), and leg is still the picker's.
func (r *Ringer) Pickup(ctx context.Context, leg call.Leg, entry Entry, match func(ext string) bool) bool {
	for _, p := range r.candidates(match) {
		req := pickReq{leg: leg, entry: entry, reply: make(chan bool, 1)}
		select {
		case p.pick <- req:
		case <-ctx.Done():
			return false
		case <-p.done:
			continue // that ringing ended meanwhile
		}
		select {
		case ok := <-req.reply:
			if ok {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
	return false
}

// picked is the Answer of a picker's leg.
func picked(q pickReq) *Answer {
	now := time.Now()
	return &Answer{Leg: q.leg, Entry: q.entry, Rec: cdr.Leg{ID: q.leg.ID(), Target: q.entry.Label, Agent: q.entry.Agent, Start: now, Answer: now}}
}
