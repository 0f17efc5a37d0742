// Package cpt recognises call-progress tones (dial, busy, congestion,
// ringback) in the audio of an FXO line, so the FXO engine knows when the
// exchange gave dial tone and when the far end hung up.
package cpt

import (
	"fmt"
	"math"

	"ringbox/audio/tone"
)

// Tone is a recognised call-progress tone.
type Tone int

const (
	None Tone = iota
	Dial
	Busy
	Congestion
	Ringback
)

func (t Tone) String() string {
	switch t {
	case None:
		return "none"
	case Dial:
		return "dial"
	case Busy:
		return "busy"
	case Congestion:
		return "congestion"
	case Ringback:
		return "ringback"
	}
	return fmt.Sprintf("tone(%d)", int(t))
}

// Detector recognises the call-progress tones of one zone in a stream of
// 20 ms frames. It is not safe for concurrent use; use one per line.
type Detector struct {
	set *tone.Set
}

// New builds a detector for a tone zone (an audio/tone zone name).
func New(zone string) (*Detector, error) {
	s, err := tone.Zone(zone)
	if err != nil {
		return nil, fmt.Errorf("cpt: %w", err)
	}
	return &Detector{set: s}, nil
}

// Feed takes the next 20 ms frame (160 samples at 8 kHz) and returns the
// tone established so far (None when nothing is recognised).
func (d *Detector) Feed(frame []int16) Tone { return None }

// Reset forgets everything heard.
func (d *Detector) Reset() {}

// Level is the frame's level in dBm0 (the reference of tone.Amplitude:
// a sine of that level has this mean power). Silence gives -Inf.
func Level(frame []int16) float64 {
	if len(frame) == 0 {
		return math.Inf(-1)
	}
	var e float64
	for _, s := range frame {
		e += float64(s) * float64(s)
	}
	ref := tone.Amplitude(0)
	return 10 * math.Log10(e/float64(len(frame))/(ref*ref/2))
}
