// Package cdr defines the call detail record: one per call, written once
// when the call ends, append-only.
//
// Its JSON form is the API's: snake_case names, times in RFC 3339 and
// durations in whole seconds (billable_seconds, duration_seconds).
package cdr

import (
	"context"
	"encoding/json"
	"time"
)

// Directions.
const (
	Internal = "internal" // extension to extension (or a feature code)
	Inbound  = "inbound"  // from a trunk or an FXO line
	Outbound = "outbound" // from an extension to an outside number
)

// Who hung up.
const (
	ByCaller = "caller"
	ByCallee = "callee"
	BySystem = "system"
)

// Record is one call.
type Record struct {
	CallID     string `json:"call_id"` // the box's call id (also the SIP Call-ID of the first leg)
	Caller     string `json:"caller"`  // number of who called
	CallerName string `json:"caller_name"`
	Callee     string `json:"callee"` // what was dialled (extension, DID or outside number as dialled)
	Direction  string `json:"direction"`
	// Trunk is the trunk an inbound call came in on, or the trunk an
	// outside call left by (the one that answered, else the last tried).
	Trunk string `json:"trunk,omitempty"`
	// NumberSent is the number sent to the trunk for an outside call
	// (after the route's strip and prefix), which may differ from Callee.
	NumberSent string `json:"number_sent,omitempty"`
	// Agent is the agent who took the call, AnsweredBy the leg target that
	// answered ("agent:bob/ext:101", "ext:102", "external:+1555…").
	Agent      string        `json:"agent,omitempty"`
	AnsweredBy string        `json:"answered_by,omitempty"`
	Path       []string      `json:"path"` // destinations the call went through: "ivr:main", "queue:service", ...
	Legs       []Leg         `json:"legs"` // each leg tried
	Start      time.Time     `json:"-"`
	Answer     time.Time     `json:"-"`         // the box answered the caller; zero when never
	End        time.Time     `json:"-"`         // when the call ended
	Billable   time.Duration `json:"-"`         // End - Answer, whole seconds
	Cause      string        `json:"cause"`     // call.Cause name of the end
	HangupBy   string        `json:"hangup_by"` // caller | callee | system
	Recording  string        `json:"recording,omitempty"`
}

// Leg is one leg tried during a call.
type Leg struct {
	ID     string `json:"id"`
	Target string `json:"target"` // "ext:101", "external:+1555...", "agent:bob/ext:101"
	Agent  string `json:"agent,omitempty"`
	// Trunk and Number are the trunk an outside leg went through and the
	// number sent to it.
	Trunk  string    `json:"trunk,omitempty"`
	Number string    `json:"number_sent,omitempty"`
	Start  time.Time `json:"-"`
	Answer time.Time `json:"-"`
	End    time.Time `json:"-"`
	Cause  string    `json:"cause"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// MarshalJSON writes the record in the API's form.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record // without this method
	legs := r.Legs
	if legs == nil {
		legs = []Leg{}
	}
	path := r.Path
	if path == nil {
		path = []string{}
	}
	p := plain(r)
	p.Legs, p.Path = legs, path
	var dur int64
	if !r.End.IsZero() {
		dur = int64(r.End.Sub(r.Start) / time.Second)
	}
	return json.Marshal(struct {
		plain
		Start    string `json:"start"`
		Answer   string `json:"answer,omitempty"`
		End      string `json:"end,omitempty"`
		Duration int64  `json:"duration_seconds"`
		Billable int64  `json:"billable_seconds"`
	}{p, rfc3339(r.Start), rfc3339(r.Answer), rfc3339(r.End), dur, int64(r.Billable / time.Second)})
}

// MarshalJSON writes the leg in the API's form.
func (l Leg) MarshalJSON() ([]byte, error) {
	type plain Leg
	return json.Marshal(struct {
		plain
		Start  string `json:"start,omitempty"`
		Answer string `json:"answer,omitempty"`
		End    string `json:"end,omitempty"`
	}{plain(l), rfc3339(l.Start), rfc3339(l.Answer), rfc3339(l.End)})
}

// Writer stores records. The store implements it.
type Writer interface {
	InsertCDR(ctx context.Context, r Record) error
}

// Tracker keeps the calls in progress where the next start finds them, so
// that a call the process never ended (a crash, a watchdog reset) still
// gets a record, with cause "restart". A [Writer] may implement it (the
// store does); neither method waits for the database.
type Tracker interface {
	// CallStarted records r's call id, parties, direction, trunk and start.
	CallStarted(r Record)
	// CallAnswered records when the call was answered.
	CallAnswered(callID string, at time.Time)
}
