package hw

import (
	"errors"
	"io"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/line"
	"ringbox/board/pcm"
)

// Slots is the PCM bus as the ports need it.
type Slots interface {
	Slot(i int) line.Audio
	Close() error
}

// OpenLines opens each distinct SPI device once, the chips on them and the
// PCM bus, and returns the ports in spec order. The closer closes all of
// it. On an error it closes what it opened; the error names the spec.
func OpenLines(specs []LineSpec, pcmSpec PCMSpec, opt LineOptions, spiOpen func(name string) (spi.Conn, io.Closer, error), bus func(PCMSpec) (Slots, error)) ([]line.Port, io.Closer, error) {
	return nil, nil, errors.New("hw: lines not implemented")
}

// DefaultSPI opens a periph SPI device by its spireg name. The caller
// registers the host drivers (periph.io/x/host/v3/sysfs) first.
func DefaultSPI(name string) (spi.Conn, io.Closer, error) {
	return nil, nil, errors.New("hw: spi not implemented")
}

// DefaultPCM opens the PCM bus through ALSA.
func DefaultPCM(spec PCMSpec) (Slots, error) {
	b, err := pcm.Open(pcm.Config{Device: spec.Device, Channels: spec.Channels})
	if err != nil {
		return nil, err
	}
	return b, nil
}
