// Package cdr defines the call detail record: one per call, written once
// when the call ends, append-only.
//
// Its JSON form is the API's: snake_case names, times in RFC 3339 and
// durations in whole seconds (billable_seconds, duration_seconds).
package cdr

import (
	"context"
	"encoding/json"
	"fmt"
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
	// Transfers are the transfers made during the call, in order. On the
	// transferred call's record each names the transferrer and, for an
	// attended transfer, the consult call whose party joined; on the
	// consult call's record it names the call its party went to.
	Transfers []Transfer `json:"transfers,omitempty"`
	// TransferOf is the call this one was split from: when a call's
	// caller transfers the other party, that party goes on in a call of
	// its own, whose record names the original here (and the original's
	// transfer names this one).
	TransferOf string `json:"transfer_of,omitempty"`
}

// Transfer kinds.
const (
	Blind    = "blind"    // the transferrer named a destination (REFER, ##)
	Attended = "attended" // the transferrer joined the party of another call (REFER with Replaces, *2)
)

// Transfer is one transfer of a call's party.
type Transfer struct {
	Kind string `json:"kind"` // blind | attended
	// By is the transferrer (an extension number, or "agent:ID" for an
	// agent without an extension: a browser phone or a mobile) and ByLeg
	// its leg in this call.
	By    string `json:"by"`
	ByLeg string `json:"by_leg,omitempty"`
	// To is the destination (blind) or the party joined (attended).
	To string `json:"to"`
	// Leg is the id of the leg the party was transferred to ("" when the
	// transfer failed or went into a queue or group).
	Leg string `json:"leg,omitempty"`
	// Call links the two records of an attended transfer: on the
	// transferred call, the consult call; on the consult call, the call
	// its party joined.
	Call string    `json:"call,omitempty"`
	At   time.Time `json:"-"`
	// Result is "completed", or the cause it failed with (rejected,
	// no_answer, forbidden, ...); Recalled says the transferrer was rung
	// back after a blind transfer failed.
	Result   string `json:"result"`
	Recalled bool   `json:"recalled,omitempty"`
}

// MarshalJSON writes the transfer in the API's form.
func (t Transfer) MarshalJSON() ([]byte, error) {
	type plain Transfer
	return json.Marshal(struct {
		plain
		At string `json:"at,omitempty"`
	}{plain(t), rfc3339(t.At)})
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
	// TransferBy is who transferred the call to this leg, as
	// Transfer.By ("" for a leg the call rang itself).
	TransferBy string `json:"transfer_by,omitempty"`
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

// UnmarshalJSON reads the form MarshalJSON writes (the store keeps a
// record's transfers so).
func (t *Transfer) UnmarshalJSON(b []byte) error {
	type plain Transfer
	var v struct {
		plain
		At string `json:"at"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Transfer(v.plain)
	t.At = time.Time{}
	if v.At != "" {
		at, err := time.Parse(time.RFC3339Nano, v.At)
		if err != nil {
			return fmt.Errorf("cdr: transfer time %q: %w", v.At, err)
		}
		t.At = at
	}
	return nil
}

// Writer stores records. The store implements it.
type Writer interface {
	InsertCDR(ctx context.Context, r Record) error
}

// Tracker keeps the calls in progress where the next start finds them, so
// that a call the process never ended (a crash, a watchdog reset) still
// gets a record, with cause "restart". A [Writer] may implement it (the
// store does); no method waits for the database.
type Tracker interface {
	// CallStarted records r's call id, parties, direction, trunk and start.
	CallStarted(r Record)
	// CallAnswered records when the call was answered (a zero at: it was
	// not after all). The returned channel is closed once that is in the
	// database (or failed to be, which the tracker logs): the flow answers
	// the caller only then, so that no call anyone heard answered is lost
	// or recorded as unanswered by a crash.
	CallAnswered(callID string, at time.Time) (stored <-chan struct{})
	// CallRouted records the trunk an outside leg of the call answered on
	// and the number sent to it (Record.Trunk, Record.NumberSent).
	CallRouted(callID, trunk, numberSent string)
}
