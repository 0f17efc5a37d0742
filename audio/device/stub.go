//go:build !cgo || !linux

package device

// Stream is an open duplex device; in this build none can be opened.
type Stream struct{}

// Open returns ErrNoAudio: this build has no sound device support.
func Open(cfg Config) (*Stream, error) { return nil, ErrNoAudio }

// Rate is the stream's sample rate.
func (s *Stream) Rate() int { return 0 }

// ReadFrame returns ErrClosed.
func (s *Stream) ReadFrame(f []int16) error { return ErrClosed }

// WriteFrame returns ErrClosed.
func (s *Stream) WriteFrame(f []int16) error { return ErrClosed }

// Close does nothing.
func (s *Stream) Close() error { return nil }
