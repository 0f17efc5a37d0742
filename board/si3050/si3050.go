// Package si3050 drives a Silicon Labs Si3050 DAA (with its Si3018/19
// line side) over SPI and gives it to the line engine as a
// [line.FXOPort].
package si3050

import (
	"errors"
	"time"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/line"
)

// Config is a DAA's setup.
type Config struct {
	Country        string        // "us" (FCC) or "ctr21" (European); DC termination / AC impedance per DAHDI fxo_modes.h
	Poll, Debounce time.Duration // 0: 5 ms and 64 ms (DAHDI battdebounce)
}

// Chip is an open DAA.
type Chip struct {
	conn spi.Conn
	cfg  Config
}

// Open checks the DAA's ID, brings up the line side and starts polling.
func Open(conn spi.Conn, cfg Config) (*Chip, error) {
	return nil, errors.New("si3050: not implemented")
}

// Port returns the DAA's line as the FXO port numbered n, with a as its
// voice path.
func (c *Chip) Port(n int, a line.Audio) line.FXOPort { return nil }

// Close puts the line on hook and stops polling.
func (c *Chip) Close() error { return nil }
