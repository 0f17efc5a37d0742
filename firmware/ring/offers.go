package ring

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
)

// ErrNoOffer is returned by [Offers.Decline] when the agent's devices are
// not ringing for the call (any more): it was answered, ended or never
// offered.
var ErrNoOffer = errors.New("ring: no such offer ringing")

// recentOffers is how long an ended offer is remembered for
// [Offers.WasOffered]: the agent's page may still pop the caller's history
// up or save a note a while after the phone stopped ringing.
const recentOffers = 24 * time.Hour

// maxRecent bounds the remembered offers per agent.
const maxRecent = 200

// CallInfo describes the call a ringing is for, for the agent offer
// events ([events.AgentOffered]). A Request without an ID publishes none.
type CallInfo struct {
	ID    string
	From  call.Party // the caller as the box received them (no prefix)
	Via   string     // "queue:ID", "ringgroup:ID", "hunt:ID", or the DID
	Since time.Time  // when the caller reached the box
}

// Offers is the registry of agents being rung: it publishes
// [events.AgentOffered] when an agent's first device starts ringing for a
// call and [events.AgentOfferEnded] when the last one stops, and lets the
// agent decline from elsewhere (the web page) with [Offers.Decline]. The
// zero value is not usable; make one with [NewOffers]. It is safe for
// concurrent use.
type Offers struct {
	publish func(events.Payload)

	mu     sync.Mutex // protects following
	live   map[offerKey]*liveOffer
	recent map[string][]recentOffer // agent -> offers that ended, oldest first
}

type offerKey struct{ agent, call string }

// liveOffer is one agent rung for one call, over all their legs and all
// the ringings (requests) that ring them for it.
type liveOffer struct {
	ev       events.AgentOffered
	legs     map[*offerLeg]struct{}
	answered bool
	declined bool
	last     call.Cause // the cause the last leg ended with
}

type offerLeg struct {
	cancel context.CancelCauseFunc
}

type recentOffer struct {
	caller string
	call   string
	at     time.Time
}

// NewOffers returns a registry that publishes on publish (nil: nowhere).
func NewOffers(publish func(events.Payload)) *Offers {
	if publish == nil {
		publish = func(events.Payload) {}
	}
	return &Offers{publish: publish, live: map[offerKey]*liveOffer{}, recent: map[string][]recentOffer{}}
}

// begin registers one ringing leg of agent for the call; cancel ends that
// leg's ringing with a cause. It returns what to call when the leg stops
// ringing: with won when it took the call, else with the cause it ended
// with.
func (o *Offers) begin(agent string, ci CallInfo, targets []string, cancel context.CancelCauseFunc) func(won bool, c call.Cause) {
	k := offerKey{agent, ci.ID}
	leg := &offerLeg{cancel: cancel}
	o.mu.Lock()
	lo := o.live[k]
	first := lo == nil
	if first {
		lo = &liveOffer{legs: map[*offerLeg]struct{}{}, ev: events.AgentOffered{
			Agent: agent, CallID: ci.ID, Caller: ci.From.Number, CallerName: ci.From.Name,
			Via: ci.Via, Since: ci.Since, Targets: targets,
		}}
		o.live[k] = lo
		o.rememberLocked(agent, ci.From.Number, ci.ID)
	}
	lo.legs[leg] = struct{}{}
	ev := lo.ev
	o.mu.Unlock()
	if first {
		// Published outside the lock: the bus never blocks, but a
		// subscriber's filter should not run under our mutex either.
		o.publish(ev)
	}
	var once sync.Once
	return func(won bool, c call.Cause) {
		once.Do(func() { o.end(k, lo, leg, won, c) })
	}
}

func (o *Offers) end(k offerKey, lo *liveOffer, leg *offerLeg, won bool, c call.Cause) {
	o.mu.Lock()
	delete(lo.legs, leg)
	lo.answered = lo.answered || won
	lo.declined = lo.declined || c == call.Rejected
	lo.last = c
	done := len(lo.legs) == 0 && o.live[k] == lo
	if done {
		delete(o.live, k)
	}
	o.mu.Unlock()
	if !done {
		return
	}
	o.publish(events.AgentOfferEnded{Agent: k.agent, CallID: k.call, Outcome: outcome(lo)})
}

// outcome names how an offer ended, from its legs.
func outcome(lo *liveOffer) string {
	switch {
	case lo.answered:
		return events.OfferAnswered
	case lo.declined:
		return events.OfferDeclined
	}
	switch lo.last {
	case call.AnsweredElsewhere:
		return events.OfferElsewhere
	case call.Cancelled:
		return events.OfferCallerGone
	}
	return events.OfferMissed
}

func (o *Offers) rememberLocked(agent, caller, callID string) {
	now := time.Now()
	rs := o.recent[agent]
	// Forget what is too old, and keep the list bounded.
	i := 0
	for i < len(rs) && (now.Sub(rs[i].at) > recentOffers || len(rs)-i >= maxRecent) {
		i++
	}
	o.recent[agent] = append(rs[i:], recentOffer{caller: caller, call: callID, at: now})
}

// Decline ends every ringing leg of agent for callID with call.Rejected at
// once: the ringing moves on as if the agent had pressed 2, and a queue
// counts it as declined. ErrNoOffer when nothing of theirs rings for it.
func (o *Offers) Decline(agent, callID string) error {
	o.mu.Lock()
	lo := o.live[offerKey{agent, callID}]
	var cancels []context.CancelCauseFunc
	if lo != nil {
		for l := range lo.legs {
			cancels = append(cancels, l.cancel)
		}
	}
	o.mu.Unlock()
	if len(cancels) == 0 {
		return ErrNoOffer
	}
	for _, c := range cancels {
		c(call.Rejected)
	}
	return nil
}

// Live returns the offers ringing for agent now, oldest caller first (the
// page shows them when it opens mid-ring).
func (o *Offers) Live(agent string) []events.AgentOffered {
	o.mu.Lock()
	var out []events.AgentOffered
	for k, lo := range o.live {
		if k.agent == agent {
			ev := lo.ev
			ev.Targets = slices.Clone(ev.Targets)
			out = append(out, ev)
		}
	}
	o.mu.Unlock()
	slices.SortFunc(out, func(a, b events.AgentOffered) int { return a.Since.Compare(b.Since) })
	return out
}

// WasOffered reports whether a call from number was offered to agent
// (ringing now, or within the last day): the agent may read that caller's
// history.
func (o *Offers) WasOffered(agent, number string) bool {
	if number == "" {
		return false
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.recent[agent] {
		if r.caller == number && now.Sub(r.at) <= recentOffers {
			return true
		}
	}
	return false
}

// OfferedCall reports whether call callID was offered to agent (ringing
// now, or within the last day), and from which number.
func (o *Offers) OfferedCall(agent, callID string) (string, bool) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.recent[agent] {
		if r.call == callID && now.Sub(r.at) <= recentOffers {
			return r.caller, true
		}
	}
	return "", false
}

// Target names of the devices an agent is rung on.
const (
	TargetExtension = "extension"
	TargetMobile    = "mobile"
	TargetBrowser   = "browser"
)

// targetName is the device an entry rings, as AgentOffered names it.
func targetName(e Entry) string {
	switch e.Kind {
	case "mobile", "external":
		return TargetMobile
	case "browser", "webrtc":
		return TargetBrowser
	}
	return TargetExtension
}

// agentTargets are the devices of agent that entries ring, in a stable
// order.
func agentTargets(entries []Entry, agent string) []string {
	var out []string
	for _, e := range entries {
		if e.Agent != agent {
			continue
		}
		if t := targetName(e); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
