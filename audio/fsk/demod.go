package fsk

// Demod receives caller ID from a line: the FXO engine feeds it the audio
// heard between rings. It is not safe for concurrent use.
type Demod struct {
	std Standard
}

// NewDemod returns a receiver for std.
func NewDemod(std Standard) *Demod {
	return &Demod{std: std}
}

// Feed takes the next 20 ms frame (160 samples at 8 kHz). It returns a
// message once one is complete with a good checksum (DTMFCLIP: once the
// closing C digit is heard), and keeps listening after that.
func (d *Demod) Feed(frame []int16) (Message, bool) {
	return Message{}, false
}

// Reset forgets everything heard so far.
func (d *Demod) Reset() {}
