// Package call is the technology-neutral call model: the seams between the
// SIP edge, the analog board and the routing code.
//
// A [Leg] is one party of a call, whatever carries it (a SIP dialog, an FXS
// port, an FXO port). A [Target] is something that can be rung; a [Dialer]
// turns Targets into ringing Legs. Routing code (packages flow and acd) sees
// only these types and never imports sip or board.
//
// # Causes
//
// Every Leg ends with a [Cause]. Causes travel through context cancellation
// too: a ring group cancels its losers with context.WithCancelCause(ctx,
// AnsweredElsewhere) and each leg hangs up with [CauseOf] of that context.
package call

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Cause says why a leg or a call ended. It is an error so that it can be a
// context's cause and be wrapped.
type Cause int

// Causes, with their SIP and Q.850 meanings in [Cause.SIPStatus].
const (
	Normal            Cause = iota // normal clearing: someone hung up
	Busy                           // 486
	NoAnswer                       // ring timeout (480 on the caller's side)
	Unavailable                    // 480: not registered, DND, off hours
	NotFound                       // 404
	Rejected                       // 603: declined
	Cancelled                      // the caller gave up before answer (487)
	AnsweredElsewhere              // another leg won; no missed-call mark
	Forbidden                      // 403: not permitted (toll fraud guard)
	Congestion                     // 503: no trunk, no port, overload
	MediaTimeout                   // no RTP for the inactivity time
	Failure                        // anything else (500)
	Loop                           // the flow looped too often
	Shutdown                       // the box is stopping
	// Restart: the call was up when the box stopped without ending it (a
	// crash, a watchdog reset, a power cut); its CDR is written at the
	// next start.
	Restart
	// SessionExpired: the SIP session timer (RFC 4028) ran out: the far
	// end stopped refreshing the call, or did not answer the box's refresh.
	SessionExpired
	// NoAck: the box answered and the caller never acknowledged (no ACK
	// within 64*T1): the call was ended and its media released.
	NoAck
)

var causeNames = [...]string{
	Normal:            "normal",
	Busy:              "busy",
	NoAnswer:          "no_answer",
	Unavailable:       "unavailable",
	NotFound:          "not_found",
	Rejected:          "rejected",
	Cancelled:         "cancelled",
	AnsweredElsewhere: "answered_elsewhere",
	Forbidden:         "forbidden",
	Congestion:        "congestion",
	MediaTimeout:      "media_timeout",
	Failure:           "failure",
	Loop:              "loop",
	Shutdown:          "shutdown",
	Restart:           "restart",
	SessionExpired:    "session_expired",
	NoAck:             "no_ack",
}

// String is the cause's name as CDRs and the API show it.
func (c Cause) String() string {
	if int(c) >= 0 && int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "unknown"
}

// Error makes Cause an error.
func (c Cause) Error() string { return "call: " + c.String() }

// SIPStatus is the final response a caller's INVITE gets for c.
func (c Cause) SIPStatus() (int, string) {
	switch c {
	case Busy:
		return 486, "Busy Here"
	case NoAnswer, Unavailable:
		return 480, "Temporarily Unavailable"
	case NotFound:
		return 404, "Not Found"
	case Rejected:
		return 603, "Decline"
	case Cancelled, AnsweredElsewhere:
		return 487, "Request Terminated"
	case Forbidden:
		return 403, "Forbidden"
	case Congestion, Shutdown:
		return 503, "Service Unavailable"
	case Loop:
		return 482, "Loop Detected"
	default:
		return 500, "Server Internal Error"
	}
}

// CauseFromSIP maps a SIP final status to a Cause.
func CauseFromSIP(status int) Cause {
	switch {
	case status >= 200 && status < 300:
		return Normal
	case status == 486 || status == 600:
		return Busy
	case status == 404 || status == 604:
		return NotFound
	case status == 408:
		return NoAnswer
	case status == 480:
		return Unavailable
	case status == 487:
		return Cancelled
	case status == 603:
		return Rejected
	case status == 403:
		return Forbidden
	case status == 503:
		return Congestion
	default:
		return Failure
	}
}

// CauseOf returns the Cause in err's chain (including a context's cause),
// Normal for nil, and Failure for anything else.
func CauseOf(err error) Cause {
	if err == nil {
		return Normal
	}
	var c Cause
	if errors.As(err, &c) {
		return c
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return NoAnswer
	}
	if errors.Is(err, context.Canceled) {
		return Cancelled
	}
	return Failure
}

// Party identifies one end of a call as a phone shows it.
type Party struct {
	Number string // E.164 or an extension number
	Name   string // caller-ID name
}

// Leg is one party of a call: a SIP dialog, an FXS port or an FXO port.
//
// A Leg is created ringing (outbound, by a Dialer) or offered (inbound, by
// the edge). All methods are safe for concurrent use.
type Leg interface {
	// ID is unique for the life of the process (the CDR leg id).
	ID() string
	// Remote is who is at the other end of this leg.
	Remote() Party
	// Answer answers an inbound leg (200 OK, or taking an FXO line off hook).
	// For outbound legs it waits until the far end answers or ctx ends.
	Answer(ctx context.Context) error
	// Progress sends early media or ringing to an unanswered inbound leg
	// (SIP 180/183) so that the caller hears the box's own ringback or music.
	Progress(ctx context.Context) error
	// Hangup ends the leg with c. It is idempotent.
	Hangup(c Cause)
	// Media plays to and hears from the leg.
	Media() Media
	// Done is closed when the leg has ended, from either side.
	Done() <-chan struct{}
	// Err is the Cause the leg ended with, once Done is closed.
	Err() error
}

// Media is what routing code does with a leg's audio.
type Media interface {
	// Play sends 20 ms frames from src until it ends, ctx ends, or (when
	// bargeIn) a DTMF digit arrives; the digit is then left for Digits.
	Play(ctx context.Context, src Source, bargeIn bool) error
	// Digits is the leg's DTMF: RFC 4733, SIP INFO or in-band, de-duplicated.
	Digits() <-chan Digit
	// Codec is the negotiated audio codec ("PCMU", "PCMA", "G722").
	Codec() string
	// Codecs lists the audio codecs the leg can use, best first: all that
	// the far end offered until the box answered it or sent it early
	// media, then only the negotiated one. A Dialer offers these first to
	// the legs it rings for this one, so a bridge rarely transcodes.
	Codecs() []string
}

// CodecPreferrer is implemented by the Media of an inbound leg that can
// still choose its codec (neither answered nor in early media): the box
// then answers with name when the caller offered it, so that the bridge to
// an outbound leg that answered with name relays without transcoding.
type CodecPreferrer interface {
	PreferCodec(name string)
}

// Digit is one DTMF key press.
type Digit struct {
	Key      byte          // '0'-'9', '*', '#', 'A'-'D'
	Duration time.Duration // 0 when unknown
}

// Source is a stream of 20 ms audio frames at 8 kHz (or 16 kHz for G.722),
// as produced by prompts, tones and music on hold.
type Source interface {
	// ReadFrame fills f with the next frame and reports whether there was
	// one. A source that ends returns false.
	ReadFrame(f []int16) bool
}

// Target kinds.
type TargetKind int

const (
	TargetExtension TargetKind = iota // all registered contacts of an extension, forked
	TargetExternal                    // a number outside, through the outbound routes (package dialplan)
	TargetFXS                         // an analog port
	TargetTrunk                       // one number through one trunk: what outbound routing dials
	TargetBrowser                     // an agent's browser pages (Number is the agent id): package webrtc
)

// Target is something that can be rung.
type Target struct {
	Kind TargetKind
	// Number is the extension number, the outside number as dialled
	// (TargetExternal), the number sent to the trunk (TargetTrunk), the
	// FXS port number, or the agent id (TargetBrowser).
	Number string
	// Trunk is the trunk id of a TargetTrunk.
	Trunk string
	// From is the caller as the target is shown: the flow sets the name
	// prefix; outbound routing sets the number a trunk may show.
	From Party
	// Asserted is the identity the box asserts toward a trunk (SIP
	// P-Asserted-Identity): the office number; "" for none.
	Asserted string
	// Diversion is the number an outside call was for when the box sends
	// it on to another outside number (a mobile): SIP Diversion, so the
	// carrier accepts the original caller's number in From. "" otherwise.
	Diversion string
	// Agent is the agent this target rings on behalf of, if any (for busy
	// tracking and the CDR).
	Agent string
	// Via is what the call came through (a ring group or queue name), for
	// a browser's incoming-call banner; "" when it came straight.
	Via string
	// Call is the id of the call a TargetBrowser is rung for, as the
	// agent's offers name it (agent.offered call_id, the page's Decline):
	// the page matches the browser's ringing to the offer by it.
	Call string
	// Class is the caller's outbound permission, for external targets.
	Class string
	// Codecs are the caller's audio codecs, best first (Media.Codecs): the
	// Dialer offers them first, then the other codecs the box can
	// transcode to, so a phone that shares none still gets the call.
	Codecs []string
}

// Dialer turns a Target into a ringing Leg.
type Dialer interface {
	// Dial starts ringing t and returns at once with the outbound leg. The
	// leg's Answer waits for the far end. ctx governs the ringing only: when
	// it ends before the answer, the leg stops ringing and ends with
	// CauseOf(context.Cause(ctx)); once answered, the leg lives until Hangup
	// or the far end hangs up. Dial fails fast (NotFound,
	// Unavailable, Forbidden, Congestion) when t cannot ring at all.
	Dial(ctx context.Context, t Target) (Leg, error)
}

// Bridger connects two answered legs until one ends.
type Bridger interface {
	// Bridge relays media between a and b until either leg ends or ctx
	// ends, then returns. It does not hang up either leg.
	Bridge(ctx context.Context, a, b Leg) error
}

// Unwrap returns the leg that carries l's audio: a leg that stands for
// others in turn (an outbound route trying its trunks one after the other)
// implements Unwrap() Leg; bridges and recorders work on what it returns.
func Unwrap(l Leg) Leg {
	for {
		u, ok := l.(interface{ Unwrap() Leg })
		if !ok {
			return l
		}
		n := u.Unwrap()
		if n == nil || n == l {
			return l
		}
		l = n
	}
}

// AfterEnd arranges for f to run in its own goroutine once l has ended
// and returns a function that cancels it (false if f already started).
// A leg whose life is a context's (Context() context.Context, ending with
// the leg) costs nothing until then; any other leg costs a goroutine
// waiting on Done, which per established call adds up to megabytes of
// stacks on a box holding a thousand of them.
func AfterEnd(l Leg, f func()) (stop func() bool) {
	if c, ok := l.(interface{ Context() context.Context }); ok {
		return context.AfterFunc(c.Context(), f)
	}
	var (
		mu     sync.Mutex
		state  int // 0 waiting, 1 f started, 2 stopped
		cancel = make(chan struct{})
	)
	go func() {
		select {
		case <-l.Done():
			mu.Lock()
			run := state == 0
			if run {
				state = 1
			}
			mu.Unlock()
			if run {
				f()
			}
		case <-cancel:
		}
	}()
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		if state != 0 {
			return false
		}
		state = 2
		close(cancel)
		return true
	}
}

// Ringer is implemented by outbound legs that report when the far end
// starts ringing (SIP 180/183), so the caller can hear ringback.
type Ringer interface {
	Ringing() <-chan struct{}
}

// Hearer is implemented by a leg's Media when the box can hear the leg:
// Hear calls sink with every 20 ms frame of audio received from the leg,
// decoded to PCM at the Media's rate (8 kHz, 16 kHz for G.722), gaps filled
// with silence, until ctx ends or the leg ends. Voicemail and in-band DTMF
// detection use it.
type Hearer interface {
	Hear(ctx context.Context, sink func(frame []int16)) error
}

// Recording is the result of a recorded bridge.
type Recording struct {
	Path     string        // the WAV file (stereo: a left, b right)
	Duration time.Duration // length of the conversation recorded
	Err      error         // why recording stopped early (disk full), nil otherwise
}

// RecordingBridger bridges two legs like Bridger and records the
// conversation to a stereo WAV at path. A recording failure never ends the
// call: the bridge goes on and Recording.Err says why the file stopped.
type RecordingBridger interface {
	BridgeRecorded(ctx context.Context, a, b Leg, path string) (Recording, error)
}

// Transfer is a party's request, made on its own leg, that the box hand
// the other party of the call it is bridged in on: to a destination (a
// blind transfer) or to the other party of another call of the
// transferrer's (an attended transfer, Replaces). A SIP phone asks with
// REFER; an analog line's flash-hook, a browser phone or a feature code
// (## and *2 while bridged) ask the same way, so the flow's transfer
// logic is one for all of them.
type Transfer struct {
	// To is the destination as dialled: an extension, an outside number,
	// a site destination ("queue:service") or the id of a queue, ring
	// group, hunt group or IVR. Empty for an attended transfer.
	To string
	// Replaces is the ID of the transferrer's leg in the other call
	// (the consult call): its other party joins this call's other party.
	Replaces string
	// Report tells the transferrer how it goes: 100 at once, then one
	// final status (200 when the transfer completed, else the failure's
	// SIP-style status, see Cause.SIPStatus). It must not block; nil when
	// the transferrer wants no reports.
	Report func(code int, reason string)
}

// Kind is "attended" when t replaces another call, else "blind".
func (t Transfer) Kind() string {
	if t.Replaces != "" {
		return "attended"
	}
	return "blind"
}

// Transferor is implemented by legs whose party can ask for transfers:
// the flow reads Transfers while the leg is bridged. The edge must not
// block on the channel: a request nobody takes within a moment is
// refused at the edge (no bridged call to transfer).
type Transferor interface {
	Transfers() <-chan Transfer
}
