package webrtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Signal is one message between the box and an agent's browser page, sent
// as JSON over the page's WebSocket. Which fields are set depends on Type.
type Signal struct {
	Type       string `json:"type"`
	CallID     string `json:"call_id,omitempty"`
	SDP        string `json:"sdp,omitempty"`
	Candidate  string `json:"candidate,omitempty"` // reserved: the protocol is non-trickle
	Digit      string `json:"digit,omitempty"`
	Caller     string `json:"caller,omitempty"`      // incoming: the caller's number
	CallerName string `json:"caller_name,omitempty"` // incoming: the caller's name
	Via        string `json:"via,omitempty"`         // incoming: the group, queue or number the call came through
	Offer      string `json:"offer,omitempty"`       // incoming: the call's id in the agent's offers (agent.offered call_id)
	Reason     string `json:"reason,omitempty"`      // cancel, hangup: a call.Cause name; transfer: the status's reason
	To         string `json:"to,omitempty"`          // transfer (page to box): where the other party goes
	Code       int    `json:"code,omitempty"`        // transfer (box to page): 100 under way, 200 done, else the failure's SIP-style status
}

// Signal types, box to page.
const (
	TypeIncoming = "incoming" // a call rings this page: CallID, Caller, CallerName, Via, Offer
	TypeAnswer   = "answer"   // the box's SDP answer to the page's accept: CallID, SDP
	TypeCancel   = "cancel"   // the call stopped ringing here: CallID, Reason
	TypeHangup   = "hangup"   // also page to box: the call ended: CallID, Reason
	// TypeTransfer is also box to page: how the page's transfer goes:
	// CallID, Code, Reason.
)

// Signal types, page to box.
const (
	TypeAccept  = "accept"  // answer the call: CallID, SDP (a complete offer, ICE gathered)
	TypeDecline = "decline" // refuse the call: CallID
	TypeDTMF    = "dtmf"    // a keypad press: CallID, Digit
	TypeMute    = "mute"    // stop sending the microphone to the far end: CallID
	TypeUnmute  = "unmute"  // CallID
	TypeHold    = "hold"    // CallID
	TypeUnhold  = "unhold"  // CallID
	// TypeTransfer hands the other party to To (a blind transfer, as a
	// SIP phone's REFER does): CallID, To.
	TypeTransfer = "transfer"
)

// Limits on what a page may send. A browser's audio-only offer is 2-6 KB;
// the limits only bound the work a hostile page can cause.
const (
	MaxSignalBytes = 64 << 10 // one JSON message
	maxSDP         = 32 << 10
	maxCallID      = 64
	maxTransferTo  = 64
)

// ErrBadSignal is wrapped by every validation failure of a page's message.
var ErrBadSignal = errors.New("webrtc: bad signal")

// DecodeSignal parses one message from a page and validates it as
// [Signal.Validate] does. The web layer calls it on every WebSocket text
// frame before [Hub.Receive].
func DecodeSignal(b []byte) (Signal, error) {
	if len(b) > MaxSignalBytes {
		return Signal{}, fmt.Errorf("decode signal of %d bytes: %w", len(b), ErrBadSignal)
	}
	var s Signal
	if err := json.Unmarshal(b, &s); err != nil {
		return Signal{}, fmt.Errorf("decode signal: %w: %w", ErrBadSignal, err)
	}
	if err := s.Validate(); err != nil {
		return Signal{}, err
	}
	return s, nil
}

// Validate checks a message from a page: a known page-to-box type, a call
// id, an SDP offer for accept and one DTMF key for dtmf.
func (s Signal) Validate() error {
	switch s.Type {
	case TypeAccept, TypeDecline, TypeHangup, TypeDTMF, TypeMute, TypeUnmute, TypeHold, TypeUnhold, TypeTransfer:
	default:
		return fmt.Errorf("signal type %q: %w", s.Type, ErrBadSignal)
	}
	if s.CallID == "" || len(s.CallID) > maxCallID || strings.ContainsFunc(s.CallID, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fmt.Errorf("signal %s call id %q: %w", s.Type, s.CallID, ErrBadSignal)
	}
	switch s.Type {
	case TypeAccept:
		if len(s.SDP) > maxSDP || !strings.HasPrefix(s.SDP, "v=0") {
			return fmt.Errorf("signal accept: sdp offer missing or too long: %w", ErrBadSignal)
		}
	case TypeDTMF:
		if len(s.Digit) != 1 || !strings.Contains("0123456789*#ABCD", s.Digit) {
			return fmt.Errorf("signal dtmf digit %q: %w", s.Digit, ErrBadSignal)
		}
	case TypeTransfer:
		if !validTransferTo(s.To) {
			return fmt.Errorf("signal transfer to %q: %w", s.To, ErrBadSignal)
		}
	}
	return nil
}

// Session is one attached browser page, as the web layer implements it on
// its WebSocket. Send must not block for long (the web layer queues) and
// must be safe for concurrent use; an error means the page is gone.
type Session interface {
	Send(Signal) error
}

// validTransferTo accepts what a user types as a transfer destination: a
// number (digits, *, #, a leading +) or a site destination such as
// "queue:service" (letters, digits, ':', '-', '_', '.').
func validTransferTo(to string) bool {
	if to == "" || len(to) > maxTransferTo {
		return false
	}
	for _, r := range to {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case strings.ContainsRune("*#+:-_.", r):
		default:
			return false
		}
	}
	return true
}
