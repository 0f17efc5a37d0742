package site

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults are not written into a parsed Site, so that an export gives back
// what the installer wrote. The engine reads settings through these
// accessors, which apply the defaults of docs/site-file.md.

func orDur(d Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Ring is how long one offer rings an agent (agent_ring; default 15s).
func (q *Queue) Ring() time.Duration { return orDur(q.AgentRing, 15*time.Second) }

// RetryAfter is how long before the same agent is offered again
// (retry_delay; default 5s).
func (q *Queue) RetryAfter() time.Duration { return orDur(q.RetryDelay, 5*time.Second) }

// LevelAfter is how long a caller waits before the next level of agents is
// reached (level_wait; default 30s).
func (q *Queue) LevelAfter() time.Duration { return orDur(q.LevelWait, 30*time.Second) }

// ServiceTarget is the answer time of the service level (service_level;
// default 20s).
func (q *Queue) ServiceTarget() time.Duration { return orDur(q.ServiceLevel, 20*time.Second) }

// StrategyName is the queue's strategy (default longest_idle).
func (q *Queue) StrategyName() string { return orStr(q.Strategy, QueueLongestIdle) }

// Levels returns the agent's level in the queue: 1 for the first level.
func (a QueueAgent) Levels() int { return orInt(a.Level, 1) }

// Repeats is how many times the ring group goes through its stages
// (repeat; default 1).
func (g *RingGroup) Repeats() int { return orInt(g.Repeat, 1) }

// ConfirmMode is the ring group's confirm mode (default never).
func (g *RingGroup) ConfirmMode() string { return orStr(g.Confirm, ConfirmNever) }

// NoAnswerDest is where an unanswered call goes (default hangup).
func (g *RingGroup) NoAnswerDest() string { return orStr(g.NoAnswer, DestHangup) }

// RingTime is how long each member (or step) rings (ring; default 15s).
func (g *HuntGroup) RingTime() time.Duration { return orDur(g.Ring, 15*time.Second) }

// StrategyName is the hunt group's strategy (default sequential).
func (g *HuntGroup) StrategyName() string { return orStr(g.Strategy, HuntSequential) }

// Wait is how long the menu waits for a key after the greeting
// (timeout; default 10s).
func (m *IVR) Wait() time.Duration { return orDur(m.Timeout, 10*time.Second) }

// InterDigit is how long the menu waits between digits of a number
// (digit_timeout; default 2s).
func (m *IVR) InterDigit() time.Duration { return orDur(m.DigitTimeout, 2*time.Second) }

// InvalidTries is how many invalid keys are allowed (retries; default 3).
func (m *IVR) InvalidTries() int { return orInt(m.Retries, 3) }

// TimeoutTries is how many timeouts are allowed (timeout_retries; default 3).
func (m *IVR) TimeoutTries() int { return orInt(m.TimeoutRetries, 3) }

// InvalidDest is where the call goes after too many invalid keys
// (on_invalid; default hangup).
func (m *IVR) InvalidDest() string { return orStr(m.OnInvalid, DestHangup) }

// TimeoutDest is where the call goes after too many timeouts
// (on_timeout; default hangup).
func (m *IVR) TimeoutDest() string { return orStr(m.OnTimeout, DestHangup) }

// MaxLen is the longest message (max_length; default 3m).
func (m *Mailbox) MaxLen() time.Duration { return orDur(m.MaxLength, 3*time.Minute) }

// MinLen is the shortest message kept (min_length; default 2s).
func (m *Mailbox) MinLen() time.Duration { return orDur(m.MinLength, 2*time.Second) }

// Preference is how the agent is rung. Without ring_preference: both when
// the agent has an extension and a mobile, extension_only without a mobile,
// mobile_only without an extension.
func (a *Agent) Preference() string {
	switch {
	case a.RingPreference != "":
		return a.RingPreference
	case a.Mobile == "":
		return RingExtensionOnly
	case a.Extension == "":
		return RingMobileOnly
	}
	return RingBoth
}

// MobileDelay is how long the extension rings alone before the mobile joins
// with extension_then_mobile (mobile_after; default 15s).
func (a *Agent) MobileDelay() time.Duration { return orDur(a.MobileAfter, 15*time.Second) }

// WrapupFor is the agent's wrap-up after a call that is not a queue call:
// wrapup, else the longest wrap-up of the queues they serve in s, else 15s.
func (a *Agent) WrapupFor(s *Site) time.Duration {
	if a.Wrapup > 0 {
		return time.Duration(a.Wrapup)
	}
	var longest time.Duration
	for _, q := range s.Queues {
		for _, qa := range q.Agents {
			if qa.Agent == a.ID {
				longest = max(longest, q.Wrapup.D())
			}
		}
	}
	if longest > 0 {
		return longest
	}
	return 15 * time.Second
}

// IsManager reports whether the agent has the manager role.
func (a *Agent) IsManager() bool { return a.Role == RoleManager }

// PermissionClass is the extension's outbound permission (default national).
func (e *Extension) PermissionClass() string { return orStr(e.Permission, PermNational) }

// PermissionClass is the permission a caller needs for the route
// (default national).
func (r *OutboundRoute) PermissionClass() string { return orStr(r.Permission, PermNational) }

// CallerIDMode is the trunk's caller_id (default caller).
func (t *Trunk) CallerIDMode() string { return orStr(t.CallerID, CallerIDCaller) }

// OfficeNumberOr is the trunk's office number, else the site's.
func (t *Trunk) OfficeNumberOr(system string) string { return orStr(t.OfficeNumber, system) }

// TransportName is the trunk's SIP transport (default udp).
func (t *Trunk) TransportName() string { return orStr(t.Transport, "udp") }

// TimezoneName is system.timezone, UTC when empty.
func (s *System) TimezoneName() string { return orStr(s.Timezone, "UTC") }

// Zone is the tone zone (default us).
func (s *System) Zone() string { return orStr(s.ToneZone, "us") }

// Lang is the prompt language (default en).
func (s *System) Lang() string { return orStr(s.Language, "en") }

// Loops is how many times one call may enter the same destination before
// it goes to LoopDest (loop_limit; default 5).
func (s *System) Loops() int { return orInt(s.LoopLimit, 5) }

// DefaultTransferRecall is system.transfer_recall when the site sets none.
const DefaultTransferRecall = 30 * time.Second

// Recall is how long a blind transfer may ring before it comes back to
// the transferrer (system.transfer_recall, default 30s).
func (s *System) Recall() time.Duration {
	if s.TransferRecall > 0 {
		return time.Duration(s.TransferRecall)
	}
	return DefaultTransferRecall
}

// Park defaults: system.park_slots and system.park_timeout.
const (
	DefaultParkSlots   = "701-709"
	DefaultParkTimeout = 120 * time.Second
	// MaxParkSlots bounds a park_slots range.
	MaxParkSlots = 100
)

// ParkTime is how long a call stays parked before it rings the parker
// back (system.park_timeout, default 120s).
func (s *System) ParkTime() time.Duration {
	if s.ParkTimeout > 0 {
		return time.Duration(s.ParkTimeout)
	}
	return DefaultParkTimeout
}

// Slots are the park slot numbers (system.park_slots, default 701-709),
// in order; nil when the setting is not a valid range.
func (s *System) Slots() []string {
	slots, _ := ParseParkSlots(orStr(s.ParkSlots, DefaultParkSlots))
	return slots
}

// ParseParkSlots parses "701-709" (or one number "701") into the slot
// numbers, keeping the width of the first ("0701-0709").
func ParseParkSlots(v string) ([]string, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(v), "-")
	if !found {
		hi = lo
	}
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if lo == "" || hi == "" || err1 != nil || err2 != nil || a < 0 || strings.ContainsAny(lo+hi, "+-") {
		return nil, fmt.Errorf("park slots %q: want a range of numbers such as 701-709", v)
	}
	if b < a {
		return nil, fmt.Errorf("park slots %q: the range ends before it starts", v)
	}
	if b-a >= MaxParkSlots { // b-a cannot overflow: 0 <= a <= b
		return nil, fmt.Errorf("park slots %q: more than %d slots", v, MaxParkSlots)
	}
	out := make([]string, 0, b-a+1)
	// Counted, not compared with b: n <= b is always true at MaxInt.
	for k := 0; k <= b-a; k++ {
		out = append(out, fmt.Sprintf("%0*d", len(lo), a+k))
	}
	return out, nil
}

// LoopDest is where a looping call goes (loop_to; default hangup).
func (s *System) LoopDest() string { return orStr(s.LoopTo, DestHangup) }

// The algorithms of system.sip_digest, as written in the site file, and
// their RFC 7616 names.
const (
	DigestMD5    = "md5"
	DigestSHA256 = "sha256"
)

// DigestNames are the accepted values of system.sip_digest.
var DigestNames = []string{DigestMD5, DigestSHA256}

// Digest is system.sip_digest in RFC 7616 spelling (MD5, SHA-256), in
// order; MD5 alone when empty. Entries that do not validate are skipped.
func (s *System) Digest() []string {
	algs, _ := ParseDigest(s.SIPDigest)
	if len(algs) == 0 {
		return []string{"MD5"}
	}
	return algs
}

// ParseDigest turns digest algorithm names (md5, sha256; any case, sha-256
// too) into their RFC 7616 spelling, in order. It reports the first name it
// does not know and a name given twice; the valid ones are returned anyway.
func ParseDigest(names []string) ([]string, error) {
	var out []string
	var err error
	for _, n := range names {
		var alg string
		switch strings.ToLower(strings.TrimSpace(n)) {
		case DigestMD5:
			alg = "MD5"
		case DigestSHA256, "sha-256":
			alg = "SHA-256"
		default:
			if err == nil {
				err = fmt.Errorf("unknown digest algorithm %q (use md5, sha256 or both)", n)
			}
			continue
		}
		if slices.Contains(out, alg) {
			if err == nil {
				err = fmt.Errorf("digest algorithm %s is listed twice", strings.ToLower(n))
			}
			continue
		}
		out = append(out, alg)
	}
	return out, err
}
