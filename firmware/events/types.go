package events

import (
	"time"

	"ringbox/firmware/config"
)

// Payload is the data of one kind of event: every kind is one Go type, and
// Type is its dotted name ("call.started"), which subscribers filter on and
// the live stream sends as the event name.
type Payload interface {
	Type() string
}

// Calls (package flow).

// CallStarted: a call reached the box.
type CallStarted struct {
	Call      string `json:"call"`
	From      string `json:"from"`
	To        string `json:"to"`
	Direction string `json:"direction"` // internal | inbound | outbound
}

// CallAnswered: someone answered the call.
type CallAnswered struct {
	Call  string `json:"call"`
	By    string `json:"by"` // the leg target: "agent:bob/ext:101", "ext:102", "external:+1555…"
	Agent string `json:"agent,omitempty"`
}

// CallEnded: the call is over and its CDR written.
type CallEnded struct {
	Call     string  `json:"call"`
	Cause    string  `json:"cause"`
	Billable float64 `json:"billable"` // seconds
}

// CallState: a call in progress moved on (an IVR, ringing, a queue,
// voicemail), so the live dashboard can show where it is. Dest is the
// destination it reached, if it reached one.
type CallState struct {
	Call  string `json:"call"`
	State string `json:"state"` // routing | menu | announcement | ringing | queued | voicemail
	Dest  string `json:"dest,omitempty"`
}

// CallDTMF: a digit the caller pressed during the tone test (*44).
type CallDTMF struct {
	Call       string `json:"call"`
	Digit      string `json:"digit"`
	DurationMS int64  `json:"duration_ms"`
}

// RecordingStopped: a recording ended early (disk full) while the call
// went on.
type RecordingStopped struct {
	Call   string `json:"call"`
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// ScheduleOverride: a schedule was forced open or closed, or returned to
// its ranges ("auto").
type ScheduleOverride struct {
	Schedule string `json:"schedule"`
	Override string `json:"override"` // open | closed | auto
}

// PresenceChanged: a presence key ("ext:101", "agent:bob", "mobile:+1…")
// went on or off a call.
type PresenceChanged struct {
	Key    string `json:"key"`
	OnCall bool   `json:"on_call"`
}

// SIP (package sip).

// SIPRegistered: a phone registered a contact.
type SIPRegistered struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
}

// SIPUnregistered: a contact went away.
type SIPUnregistered struct {
	Extension string `json:"extension"`
	Contact   string `json:"contact"`
	Source    string `json:"source"`
	Reason    string `json:"reason"` // expired | unregister
}

// Agents and queues (package acd).

// AgentStatus: an agent's chosen status changed.
type AgentStatus struct {
	Agent  string    `json:"agent"`
	Status string    `json:"status"` // logged_out | available | unavailable
	From   string    `json:"from"`
	Reason string    `json:"reason,omitempty"`
	Source string    `json:"source"` // api | button | feature_code | schedule | system
	Until  time.Time `json:"until,omitzero"`
}

// AgentState: what is happening to an agent changed (or their wrap-up was
// extended: State equals From).
type AgentState struct {
	Agent string    `json:"agent"`
	State string    `json:"state"` // idle | offered | on_call | wrapup
	From  string    `json:"from"`
	Queue string    `json:"queue,omitempty"`
	Call  string    `json:"call,omitempty"`
	Until time.Time `json:"until,omitzero"` // end of wrap-up
}

// AgentQueue: an agent logged in to or out of one queue alone (logging in
// or out of all their queues is AgentStatus).
type AgentQueue struct {
	Agent    string `json:"agent"`
	Queue    string `json:"queue"`
	LoggedIn bool   `json:"logged_in"`
	Source   string `json:"source"`
}

// AgentMaxNoAnswer: an agent missed max_no_answer offers in a row and was
// set unavailable.
type AgentMaxNoAnswer struct {
	Agent  string `json:"agent"`
	Missed int    `json:"missed"`
	Queue  string `json:"queue"`
}

// QueueCaller: a caller joined, was connected, left or completed.
type QueueCaller struct {
	Queue    string `json:"queue"`
	Call     string `json:"call"`
	Event    string `json:"event"` // joined | connected | completed | abandoned | timeout | empty | exit_key
	From     string `json:"from,omitempty"`
	Position int    `json:"position,omitempty"`
	Agent    string `json:"agent,omitempty"`
	To       string `json:"to,omitempty"` // where a caller who left went
}

// QueueEmptyWarning: the last present agent left a queue with callers
// waiting; they go to the queue's on_empty.
type QueueEmptyWarning struct {
	Queue   string `json:"queue"`
	Waiting int    `json:"waiting"`
	Agent   string `json:"agent,omitempty"`
	To      string `json:"to"`
}

// AgentOffered: the ringing engine started ringing an agent's devices for
// a call (a queue offer, a ring or hunt group, an agent: destination). The
// agent's page pops the caller up from it.
type AgentOffered struct {
	Agent      string    `json:"agent"`
	CallID     string    `json:"call_id"`
	Caller     string    `json:"caller"`
	CallerName string    `json:"caller_name,omitempty"`
	Via        string    `json:"via"`   // "queue:service", "ringgroup:front", "hunt:support", or the DID
	Since      time.Time `json:"since"` // when the caller reached the box
	// Targets are the agent's devices that ring: "extension", "mobile",
	// "browser".
	Targets []string `json:"targets"`
}

// Offer outcomes (AgentOfferEnded.Outcome).
const (
	OfferAnswered   = "answered"
	OfferDeclined   = "declined"
	OfferMissed     = "missed"
	OfferElsewhere  = "elsewhere"
	OfferCallerGone = "caller_gone"
)

// AgentOfferEnded: the agent's devices stopped ringing for the call.
type AgentOfferEnded struct {
	Agent   string `json:"agent"`
	CallID  string `json:"call_id"`
	Outcome string `json:"outcome"` // answered | declined | missed | elsewhere | caller_gone
}

// The box.

// ConfigChanged: a new configuration was published.
type ConfigChanged struct {
	Version int64          `json:"version"`
	Changes config.Changes `json:"changes"`
}

// BoardButton: a queue button on the box was pressed (the simulated board
// through the API).
type BoardButton struct {
	Button int  `json:"button"`
	Long   bool `json:"long"`
}

// LineChanged: an analog port (FXS or FXO) changed state or health.
// Health is "ok", "no_battery" (FXO: no line voltage), "in_use" (FXO:
// another phone on the pair holds the line), "fault" (the chip reported
// one) or "missing" (the site names a port the board lacks).
type LineChanged struct {
	Port   string `json:"port"` // "fxs:1", "fxo:1"
	State  string `json:"state"`
	Health string `json:"health"`
	Detail string `json:"detail,omitempty"`
}

// FactoryReset: the box's service button was held for a factory reset,
// which waits for an admin to confirm it in the web page; State is
// "requested", "cancelled", "expired" or "confirmed".
type FactoryReset struct {
	State string `json:"state"`
	By    string `json:"by,omitempty"` // the login that confirmed or cancelled
}

// UserLogin: someone logged in to the web page.
type UserLogin struct {
	Login string `json:"login"`
	Role  string `json:"role"`
	IP    string `json:"ip"`
}

func (CallStarted) Type() string       { return "call.started" }
func (CallAnswered) Type() string      { return "call.answered" }
func (CallEnded) Type() string         { return "call.ended" }
func (CallDTMF) Type() string          { return "call.dtmf" }
func (CallState) Type() string         { return "call.state" }
func (RecordingStopped) Type() string  { return "recording.stopped" }
func (ScheduleOverride) Type() string  { return "schedule.override" }
func (PresenceChanged) Type() string   { return "presence.changed" }
func (SIPRegistered) Type() string     { return "sip.registered" }
func (SIPUnregistered) Type() string   { return "sip.unregistered" }
func (AgentStatus) Type() string       { return "agent.status" }
func (AgentState) Type() string        { return "agent.state" }
func (AgentMaxNoAnswer) Type() string  { return "agent.max_no_answer" }
func (AgentQueue) Type() string        { return "agent.queue" }
func (AgentOffered) Type() string      { return "agent.offered" }
func (AgentOfferEnded) Type() string   { return "agent.offer_ended" }
func (QueueCaller) Type() string       { return "queue.caller" }
func (QueueEmptyWarning) Type() string { return "queue.empty_warning" }
func (ConfigChanged) Type() string     { return "config.changed" }
func (BoardButton) Type() string       { return "board.button" }
func (UserLogin) Type() string         { return "user.login" }
func (LineChanged) Type() string       { return "line.changed" }
func (FactoryReset) Type() string      { return "board.factory_reset" }
