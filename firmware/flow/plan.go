package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"ringbox/firmware/config"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

// ErrUnknownGroup is returned by Plan for a ring group id the site does
// not have.
var ErrUnknownGroup = errors.New("flow: unknown ring group")

// Offset is a time from the start of the ringing; JSON writes it the way
// the site file writes durations ("20s", "1m15s").
type Offset time.Duration

// MarshalJSON writes o as a duration string.
func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(site.Duration(o).String()) }

// PlanResult is a dry run of a ring group: who rings when, for a call
// arriving at At with the presence the engine knows now.
type PlanResult struct {
	Group    string     `json:"group"`
	At       time.Time  `json:"at"`
	Rings    []PlanRing `json:"rings"`
	Skipped  []PlanSkip `json:"skipped"`
	End      Offset     `json:"end"`       // when the group gives up if nobody answers
	NoAnswer string     `json:"no_answer"` // where the call goes then
}

// PlanRing is one target ringing.
type PlanRing struct {
	Round   int    `json:"round"` // pass through the stages, from 1
	Stage   int    `json:"stage"` // from 1
	Member  string `json:"member"`
	Target  string `json:"target"` // "ext:101", "mobile:+1555…", "fxs:1", "external:+1555…"
	From    Offset `json:"from"`
	Until   Offset `json:"until"`
	Confirm bool   `json:"confirm,omitempty"` // must press 1 before being bridged
}

// PlanSkip is a member not rung in a stage, and why.
type PlanSkip struct {
	Round  int    `json:"round"`
	Stage  int    `json:"stage"`
	Member string `json:"member"`
	At     Offset `json:"at"`
	Reason string `json:"reason"` // ring.SkipOffHours, SkipOnCall, SkipDND, or the ACD's reason
}

// Plan answers "a call reaching ring group groupID at at: who rings
// when?", assuming nobody answers. Agents are expanded by their ring
// preference; members off hours (judged at each stage's time), not
// available to the ACD or on a call now are listed as skipped; busy names
// more agents (or presence keys such as "ext:101") to treat as on a call.
// When a whole stage is skipped the next one starts at once, as it does for
// a real call.
func (e *Engine) Plan(groupID string, at time.Time, busy ...string) (PlanResult, error) {
	return e.PlanOn(e.Config.Current(), groupID, at, busy...)
}

// PlanOn is Plan on another configuration than the one in use (the
// console's draft), with the presence and agent states the engine knows now.
func (e *Engine) PlanOn(snap *config.Snapshot, groupID string, at time.Time, busy ...string) (PlanResult, error) {
	extra := map[string]bool{}
	for _, k := range busy {
		if !strings.Contains(k, ":") {
			k = "agent:" + k
		}
		extra[k] = true
	}
	pres := e.presence()
	isBusy := func(keys ...string) bool {
		for _, k := range keys {
			if extra[k] {
				return true
			}
		}
		return pres.Busy(keys...)
	}
	g := findGroup(snap.Site, groupID)
	if g == nil {
		return PlanResult{}, fmt.Errorf("plan %s: %w", groupID, ErrUnknownGroup)
	}
	av := ring.Avail{Snap: snap, Busy: isBusy}
	if e.Agents != nil {
		av.Agents = e.Agents
	}
	entries := groupEntries(av, g, ring.Group(g.RingUnavailableAgents))
	slices.SortStableFunc(entries, func(a, b ring.Entry) int { return int(a.At - b.At) })
	res := PlanResult{Group: g.ID, At: at.In(snap.Loc), NoAnswer: g.NoAnswerDest(), Rings: []PlanRing{}, Skipped: []PlanSkip{}}
	var shift, idleSince time.Duration
	var active []time.Duration // end times of what is ringing
	for _, en := range entries {
		active = slices.DeleteFunc(active, func(end time.Duration) bool {
			if end <= en.At {
				idleSince = max(idleSince, end)
				return true
			}
			return false
		})
		if len(active) == 0 && en.At > idleSince {
			shift += en.At - idleSince
		}
		idleSince = max(idleSince, en.At)
		off := en.At - shift
		if en.Check != nil {
			if why := en.Check(at.Add(off)); why != "" {
				s := PlanSkip{Round: en.Round, Stage: en.Stage, Member: en.Member, At: Offset(off), Reason: why}
				if !slices.ContainsFunc(res.Skipped, func(p PlanSkip) bool {
					return p.Round == s.Round && p.Stage == s.Stage && p.Member == s.Member
				}) {
					res.Skipped = append(res.Skipped, s)
				}
				continue
			}
		}
		active = append(active, en.Until)
		res.Rings = append(res.Rings, PlanRing{Round: en.Round, Stage: en.Stage, Member: en.Member,
			Target: en.Kind + ":" + en.Target.Number, From: Offset(off), Until: Offset(en.Until - shift), Confirm: en.Confirm})
	}
	end := idleSince
	for _, a := range active {
		end = max(end, a)
	}
	res.End = Offset(end - shift)
	return res, nil
}
