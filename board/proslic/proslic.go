// Package proslic drives a ProSLIC-class FXS line interface chip
// (Silicon Labs Si3210/Si3215) over SPI and gives each channel to the
// line engine as a [line.FXSPort].
package proslic

import (
	"errors"
	"time"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/line"
)

// Config is a chip's setup.
type Config struct {
	Channels int           // channels on the chip (1 for Si3215/Si32178; 2 for dual parts)
	RingHz   int           // 20 or 25 (ring oscillator)
	RingVrms float64       // 0: 45
	Poll     time.Duration // hook polling period when no IRQ; 0: 5 ms
	Debounce time.Duration // 0: 20 ms (short enough for 60 ms pulse-dial breaks)
}

// Chip is an open ProSLIC.
type Chip struct {
	conn spi.Conn
	cfg  Config
}

// Open checks the chip's ID, runs its init sequence and starts polling.
func Open(conn spi.Conn, cfg Config) (*Chip, error) {
	return nil, errors.New("proslic: not implemented")
}

// Port returns channel ch as the FXS port numbered n, with a as its voice
// path.
func (c *Chip) Port(ch, n int, a line.Audio) line.FXSPort { return nil }

// Close opens every channel's linefeed and stops polling.
func (c *Chip) Close() error { return nil }
