package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"ringbox/firmware/call"
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
	Reason string `json:"reason"` // SkipOffHours, SkipOnCall, SkipDND
}

// Plan answers "a call reaching ring group groupID at at: who rings
// when?", assuming nobody answers. Agents are expanded by their ring
// preference; members off hours (judged at each stage's time) or on a
// call now are listed as skipped. When a whole stage is skipped the next
// one starts at once, as it does for a real call.
func (e *Engine) Plan(groupID string, at time.Time) (PlanResult, error) {
	return e.plan(groupID, at, e.presence().Busy)
}

func (e *Engine) plan(groupID string, at time.Time, busy func(...string) bool) (PlanResult, error) {
	snap := e.Config.Current()
	g := findGroup(snap.Site, groupID)
	if g == nil {
		return PlanResult{}, fmt.Errorf("plan %s: %w", groupID, ErrUnknownGroup)
	}
	entries := e.groupEntries(snap, g, call.Party{})
	slices.SortStableFunc(entries, func(a, b ringEntry) int { return int(a.at - b.at) })
	res := PlanResult{Group: g.ID, At: at.In(snap.Loc), NoAnswer: g.NoAnswerDest(), Rings: []PlanRing{}, Skipped: []PlanSkip{}}
	var shift, idleSince time.Duration
	var active []time.Duration // end times of what is ringing
	for _, en := range entries {
		active = slices.DeleteFunc(active, func(end time.Duration) bool {
			if end <= en.at {
				idleSince = max(idleSince, end)
				return true
			}
			return false
		})
		if len(active) == 0 && en.at > idleSince {
			shift += en.at - idleSince
		}
		idleSince = max(idleSince, en.at)
		off := en.at - shift
		if en.check != nil {
			if why := en.check(at.Add(off), busy); why != "" {
				s := PlanSkip{Round: en.round, Stage: en.stage, Member: en.member, At: Offset(off), Reason: why}
				if !slices.ContainsFunc(res.Skipped, func(p PlanSkip) bool {
					return p.Round == s.Round && p.Stage == s.Stage && p.Member == s.Member
				}) {
					res.Skipped = append(res.Skipped, s)
				}
				continue
			}
		}
		active = append(active, en.until)
		res.Rings = append(res.Rings, PlanRing{Round: en.round, Stage: en.stage, Member: en.member,
			Target: en.kind + ":" + en.target.Number, From: Offset(off), Until: Offset(en.until - shift), Confirm: en.confirm})
	}
	end := idleSince
	for _, a := range active {
		end = max(end, a)
	}
	res.End = Offset(end - shift)
	return res, nil
}
