//go:build !cgo || !linux

package device

import "testing"

func TestStub(t *testing.T) {
	if _, err := Open(Config{}); err != ErrNoAudio {
		t.Errorf("Open = %v, want ErrNoAudio", err)
	}
}
