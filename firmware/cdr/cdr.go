// Package cdr defines the call detail record: one per call, written once
// when the call ends, append-only.
package cdr

import (
	"context"
	"time"
)

// Record is one call.
type Record struct {
	CallID     string // the box's call id (also the SIP Call-ID of the first leg)
	Caller     string // number of who called
	CallerName string
	Callee     string   // what was dialled (extension, DID or external number)
	Direction  string   // internal | inbound | outbound
	Trunk      string   // trunk id, for inbound and outbound calls
	Path       []string // destinations the call went through: "ivr:main", "ringgroup:front", ...
	Legs       []Leg    // each leg tried
	Start      time.Time
	Answer     time.Time // zero when never answered
	End        time.Time
	Billable   time.Duration // End - Answer, whole seconds
	Cause      string        // call.Cause name of the end
	HangupBy   string        // caller | callee | system
	Recording  string        // file path of the recording, if any
}

// Leg is one leg tried during a call.
type Leg struct {
	ID     string
	Target string // "ext:101", "external:+1555...", "agent:bob"
	Start  time.Time
	Answer time.Time
	End    time.Time
	Cause  string
}

// Writer stores records. The store implements it.
type Writer interface {
	InsertCDR(ctx context.Context, r Record) error
}
