// Package pcm is the analog ports' TDM voice bus, seen as one ALSA card
// with N interleaved 16-bit channels at 8 kHz: slot i is channel i (the
// chips' PCM start counts put port i's samples there).
//
// The audio callback only copies between the device's buffers and fixed
// per-slot FIFOs, never allocates or blocks; ReadFrame blocks on the
// slot's FIFO and so is paced by the bus clock. Builds without cgo (or
// off Linux) have no bus: Open returns audio/device.ErrNoAudio.
package pcm

import "ringbox/board/line"

// Config selects the bus's ALSA card.
type Config struct {
	Device   string // substring of the card's name; "" for the default
	Channels int    // slots on the bus
	Null     bool   // miniaudio's null backend (tests)
}

// Slot returns slot i's voice path: 20 ms frames of [line.FrameSamples]
// samples at [line.Rate]; ReadFrame blocks for the next frame.
func (b *Bus) Slot(i int) line.Audio { return &slot{b: b, i: i} }

type slot struct {
	b *Bus
	i int
}

func (s *slot) ReadFrame(f []int16) error  { return s.b.read(s.i, f) }
func (s *slot) WriteFrame(f []int16) error { return s.b.write(s.i, f) }
