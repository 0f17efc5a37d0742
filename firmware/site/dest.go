package site

import (
	"fmt"
	"strings"
)

// Destination kinds: the part before the colon of a destination string.
const (
	DestIVR       = "ivr"
	DestRingGroup = "ringgroup"
	DestHunt      = "hunt"
	DestQueue     = "queue"
	DestAnnounce  = "announce"
	DestExtension = "extension"
	DestAgent     = "agent"
	DestVoicemail = "voicemail"
	DestExternal  = "external"
	DestDISA      = "disa"
	DestHangup    = "hangup"
	// DestConference joins a meet-me room (conferences:, by id).
	DestConference = "conference"
	// DestBusy and DestReject end an unanswered call with busy (SIP 486)
	// or declined (603): treatments for unwanted callers (skills.go).
	DestBusy   = "busy"
	DestReject = "reject"
)

// Dest is a parsed destination: where a call is sent next.
type Dest struct {
	Kind string // one of the Dest* constants
	ID   string // empty for disa and hangup
}

// String writes d back the way the site file does.
func (d Dest) String() string {
	if d.ID == "" {
		return d.Kind
	}
	return d.Kind + ":" + d.ID
}

// destKinds maps each kind to whether it takes an ID.
var destKinds = map[string]bool{
	DestIVR: true, DestRingGroup: true, DestHunt: true, DestQueue: true,
	DestAnnounce: true, DestExtension: true, DestAgent: true, DestVoicemail: true,
	DestExternal: true, DestDISA: false, DestHangup: false,
	DestConference: true,
	DestBusy:       false, DestReject: false,
}

// ParseDestination checks the syntax of a destination such as "queue:service",
// "external:+15550100" or "hangup". It does not check that the object exists;
// Validate does.
func ParseDestination(s string) (Dest, error) {
	kind, id, hasID := strings.Cut(s, ":")
	takesID, known := destKinds[kind]
	switch {
	case s == "":
		return Dest{}, fmt.Errorf("empty destination")
	case !known:
		return Dest{}, fmt.Errorf("unknown destination %q (write ivr:ID, ringgroup:ID, hunt:ID, queue:ID, announce:ID, extension:NUM, agent:ID, voicemail:BOX, external:NUMBER, conference:ID, disa, hangup, busy or reject)", s)
	case !takesID && hasID:
		return Dest{}, fmt.Errorf("bad destination %q: %s takes nothing after it", s, kind)
	case takesID && id == "":
		return Dest{}, fmt.Errorf("bad destination %q: %s needs a name after the colon, like %s:ID", s, kind, kind)
	case kind == DestExtension && !isDigits(id):
		return Dest{}, fmt.Errorf("bad destination %q: an extension number is digits only", s)
	case kind == DestExternal && !isPhoneNumber(id):
		return Dest{}, fmt.Errorf("bad destination %q: an external number is digits, optionally after a +", s)
	case takesID && kind != DestExternal && !validID(id):
		return Dest{}, fmt.Errorf("bad destination %q: %q is not a valid name (letters, digits, - _ . only)", s, id)
	}
	return Dest{Kind: kind, ID: id}, nil
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isPhoneNumber reports whether s is digits, optionally after a leading +.
func isPhoneNumber(s string) bool {
	return isDigits(strings.TrimPrefix(s, "+"))
}

// validID reports whether s can name an object: it starts with a letter or
// digit and holds only letters, digits, '-', '_' and '.'.
func validID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}
