//go:build !cgo || !linux

package pcm

import (
	"errors"
	"testing"

	"ringbox/audio/device"
)

func TestStub(t *testing.T) {
	if _, err := Open(Config{Channels: 4}); !errors.Is(err, device.ErrNoAudio) {
		t.Errorf("Open = %v, want device.ErrNoAudio", err)
	}
}
