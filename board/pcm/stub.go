//go:build !cgo || !linux

package pcm

import (
	"ringbox/audio/device"
	"ringbox/board/line"
)

// Bus is an open PCM bus; in this build none can be opened.
type Bus struct{}

// Open returns [device.ErrNoAudio]: this build has no sound support.
func Open(cfg Config) (*Bus, error) { return nil, device.ErrNoAudio }

func (b *Bus) read(i int, f []int16) error  { return line.ErrClosed }
func (b *Bus) write(i int, f []int16) error { return line.ErrClosed }

// Close does nothing.
func (b *Bus) Close() error { return nil }
