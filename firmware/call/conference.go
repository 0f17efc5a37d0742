package call

import "context"

// Conferencer opens audio conferences: the media engine's mixer
// (package media) implements it for legs whose audio the box anchors.
type Conferencer interface {
	Conference() Conference
}

// Conference mixes the audio of its members: each hears the sum of the
// others, not itself. All methods are safe for concurrent use.
type Conference interface {
	// Join adds an answered leg and keeps it in the conference until ctx
	// ends, the leg ends or the conference is closed; it returns why (a
	// context's cause, or an error saying the leg or the conference
	// ended). While a leg is a member its digits still reach its
	// Media().Digits; nothing else may play to it.
	Join(ctx context.Context, l Leg) error
	// SetMuted mutes (the others no longer hear it) or unmutes a member;
	// false when l is not a member.
	SetMuted(l Leg, muted bool) bool
	// Muted reports whether member l is muted.
	Muted(l Leg) bool
	// Announce mixes src (20 ms frames at 16 kHz) into what member to
	// hears, or, when to is nil, into what every member hears, until src
	// ends: join and leave tones, a mute confirmation.
	Announce(to Leg, src Source)
	// Len is the number of members.
	Len() int
	// Close ends the conference: every Join returns.
	Close()
}
