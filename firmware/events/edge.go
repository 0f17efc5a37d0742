package events

import "time"

// The SIP edge filter (package edge, docs/security.md).

// SIPBanned: the edge filter banned a source address or an extension
// after repeated authentication failures; the box ignores it until Until.
type SIPBanned struct {
	Key     string    `json:"key"` // an address, or ext:NUMBER
	Reason  string    `json:"reason"`
	Count   int       `json:"count"`
	Offence int       `json:"offence"`
	Until   time.Time `json:"until"`
}

func (SIPBanned) Type() string { return "security.sip_ban" }

// SIPBanLifted: a ban ended, lifted by an administrator (By) or expired
// (By "").
type SIPBanLifted struct {
	Key string `json:"key"`
	By  string `json:"by,omitempty"`
}

func (SIPBanLifted) Type() string { return "security.sip_ban_lifted" }
