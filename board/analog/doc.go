// Package analog is the line engine of the box's analog ports: it turns
// the signalling and PCM of a board/line port into calls.
//
// An FXS port is an extension (site lines:): off hook it plays the zone's
// dial tone, collects DTMF or pulse digits and places the call through the
// routing engine like a SIP phone; rung, it plays the zone's ring cadence
// with caller ID between the first and second ring. An FXO port is a
// trunk (site trunks[].fxo): the exchange's ringing, validated by cadence,
// becomes an inbound call with the caller ID decoded between rings, and
// outbound routes seize it and dial.
package analog
