package analog

import "time"

// Line states as the API and the web page show them.
const (
	StateIdle     = "idle"      // on hook, nothing happening
	StateDialTone = "dial_tone" // FXS: off hook, dial tone, no digit yet
	StateDialing  = "dialing"   // FXS: collecting digits; FXO: seized, dialling out
	StateRinging  = "ringing"   // FXS: ringing the phone; FXO: the exchange rings the box
	StateCalling  = "calling"   // the call is being routed or rings elsewhere
	StateTalking  = "talking"   // answered, audio both ways
	StateBusy     = "busy"      // FXS: busy or congestion tone after a failed call or a far-end hang-up
	StateHeld     = "held"      // FXS: a call on hold after a hook flash
)

// Health of a port.
const (
	HealthOK        = "ok"
	HealthNoBattery = "no_battery" // FXO: no line voltage (cable, exchange fault)
	HealthInUse     = "in_use"     // FXO: another phone on the pair holds the line
	HealthFault     = "fault"      // the chip reported a fault
	HealthMissing   = "missing"    // the site names a port this board lacks
)

// LineInfo is one analog port as the API shows it.
type LineInfo struct {
	Port      string    `json:"port"` // "fxs:1", "fxo:1"
	Kind      string    `json:"kind"` // "fxs" or "fxo"
	Extension string    `json:"extension,omitempty"`
	Trunk     string    `json:"trunk,omitempty"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Digits    string    `json:"digits,omitempty"` // FXS: digits collected; FXO: digits dialled
	Remote    string    `json:"remote,omitempty"` // the other party's number
	Health    string    `json:"health"`
	Detail    string    `json:"detail,omitempty"` // why the health is not ok
}
