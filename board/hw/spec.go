// Package hw is the real board: GPIO buttons and LEDs through periph.io,
// and the analog ports' chips (board/proslic, board/si3050) on SPI with
// their voice path on a PCM (TDM) bus through ALSA (board/pcm), assembled
// from a board profile (board/profile).
package hw

import (
	"time"

	"ringbox/board/line"
)

// LineSpec is one analog port of a board profile.
type LineSpec struct {
	Kind    line.Kind // line.FXS or line.FXO
	N       int       // the port's number within its kind, from 1
	Chip    string    // "si3215" (FXS, ProSLIC class) or "si3050" (FXO DAA)
	SPI     string    // periph spireg name of the chip's SPI device, e.g. "SPI0.0"
	Channel int       // channel on a multi-channel chip, from 0
	Slot    int       // the port's PCM slot: the ALSA channel, from 0
	Reset   string    // GPIO line of the chip's reset pin; "" for none
	IRQ     string    // GPIO line of the chip's interrupt pin; "" to poll
}

// PCMSpec is the PCM bus that carries every port's voice.
type PCMSpec struct {
	Device   string // substring of the ALSA card's name; "" for the default
	Channels int    // slots on the bus (interleaved channels)
}

// LineOptions are the site-dependent settings of the chips.
type LineOptions struct {
	RingHz int           // ringing frequency: 20 (North America) or 25 (Europe)
	Poll   time.Duration // how often hook and line state are read when there is no IRQ; 0: 5 ms
	// Country is the FXO line interface (DC termination, AC impedance):
	// "us" (FCC) or "ctr21" (Europe); "": ctr21 if RingHz is 25, else us.
	Country string
}
