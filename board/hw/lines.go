package hw

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"

	"ringbox/board/line"
	"ringbox/board/pcm"
	"ringbox/board/proslic"
	"ringbox/board/si3050"
)

// Slots is the PCM bus as the ports need it.
type Slots interface {
	Slot(i int) line.Audio
	Close() error
}

// SPIClock is the clock the chips' SPI runs at. Both the ProSLIC and the
// Si3050 take far more; 4 MHz keeps a poll cycle of every port well under
// a millisecond and is kind to long board traces.
const SPIClock = 4 * physic.MegaHertz

// OpenLines opens each distinct SPI device once, the chips on them and the
// PCM bus, and returns the ports in spec order. The closer closes all of
// it. On an error it closes what it opened; the error names the spec
// ("fxs:2: si3215 on SPI0.1: ...").
func OpenLines(specs []LineSpec, pcmSpec PCMSpec, opt LineOptions, spiOpen func(name string) (spi.Conn, io.Closer, error), bus func(PCMSpec) (Slots, error)) ([]line.Port, io.Closer, error) {
	l := &lines{}
	ports, err := l.open(specs, pcmSpec, opt, spiOpen, bus)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return ports, l, nil
}

// lines is what OpenLines opened, closed in reverse.
type lines struct {
	closers []io.Closer
}

func (l *lines) Close() error {
	var errs []error
	for i := len(l.closers) - 1; i >= 0; i-- {
		if err := l.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	l.closers = nil
	return errors.Join(errs...)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (l *lines) open(specs []LineSpec, pcmSpec PCMSpec, opt LineOptions, spiOpen func(string) (spi.Conn, io.Closer, error), bus func(PCMSpec) (Slots, error)) ([]line.Port, error) {
	country := opt.Country
	if country == "" {
		country = "us"
		if opt.RingHz == 25 {
			country = "ctr21"
		}
	}
	// Check everything before touching hardware.
	seen := map[string]string{} // port name or SPI+channel -> the spec using it
	for _, s := range specs {
		name := fmt.Sprintf("%s:%d", s.Kind, s.N)
		if err := checkChip(s); err != nil {
			return nil, fmt.Errorf("%s: %s on %s: %w", name, s.Chip, s.SPI, err)
		}
		if other, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s: listed twice (also %s)", name, other)
		}
		seen[name] = name
		key := fmt.Sprintf("%s/%d", s.SPI, s.Channel)
		if other, ok := seen[key]; ok {
			return nil, fmt.Errorf("%s: %s on %s channel %d: already used by %s", name, s.Chip, s.SPI, s.Channel, other)
		}
		seen[key] = name
		if s.Slot < 0 || (pcmSpec.Channels > 0 && s.Slot >= pcmSpec.Channels) {
			return nil, fmt.Errorf("%s: PCM slot %d: the bus has %d", name, s.Slot, pcmSpec.Channels)
		}
	}
	slots, err := bus(pcmSpec)
	if err != nil {
		return nil, fmt.Errorf("pcm %q: %w", pcmSpec.Device, err)
	}
	l.closers = append(l.closers, slots)

	conns := map[string]spi.Conn{}
	var ports []line.Port
	for _, s := range specs {
		name := fmt.Sprintf("%s:%d", s.Kind, s.N)
		wrap := func(err error) error { return fmt.Errorf("%s: %s on %s: %w", name, s.Chip, s.SPI, err) }
		c, ok := conns[s.SPI]
		if !ok {
			conn, closer, err := spiOpen(s.SPI)
			if err != nil {
				return nil, wrap(err)
			}
			if closer != nil {
				l.closers = append(l.closers, closer)
			}
			conns[s.SPI], c = conn, conn
		}
		a := slots.Slot(s.Slot)
		switch s.Kind {
		case line.FXS:
			chip, err := proslic.Open(c, proslic.Config{RingHz: opt.RingHz, Poll: opt.Poll, Slot: s.Slot})
			if err != nil {
				return nil, wrap(err)
			}
			l.closers = append(l.closers, chip)
			ports = append(ports, chip.Port(s.Channel, s.N, a))
		case line.FXO:
			chip, err := si3050.Open(c, si3050.Config{Country: country, Poll: opt.Poll, Slot: s.Slot})
			if err != nil {
				return nil, wrap(err)
			}
			l.closers = append(l.closers, chip)
			ports = append(ports, chip.Port(s.N, a))
		}
	}
	return ports, nil
}

// checkChip reports whether spec's chip can drive its kind of port.
func checkChip(s LineSpec) error {
	switch strings.ToLower(s.Chip) {
	case "si3210", "si3215":
		if s.Kind != line.FXS {
			return fmt.Errorf("a ProSLIC drives FXS ports, not %s", s.Kind)
		}
		if s.Channel != 0 {
			return fmt.Errorf("channel %d: the chip has one channel", s.Channel)
		}
	case "si3050":
		if s.Kind != line.FXO {
			return fmt.Errorf("an Si3050 DAA drives FXO ports, not %s", s.Kind)
		}
		if s.Channel != 0 {
			return fmt.Errorf("channel %d: the chip has one channel", s.Channel)
		}
	default:
		return errors.New("unknown chip (have si3210 and si3215 for fxs, si3050 for fxo)")
	}
	return nil
}

// DefaultSPI opens a periph SPI device by its spireg name ("SPI0.1") in
// mode 3 at [SPIClock]. The caller registers the host drivers
// (periph.io/x/host/v3/sysfs) first.
func DefaultSPI(name string) (spi.Conn, io.Closer, error) {
	p, err := spireg.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open spi %s: %w", name, err)
	}
	c, err := p.Connect(SPIClock, spi.Mode3, 8)
	if err != nil {
		p.Close()
		return nil, nil, fmt.Errorf("connect spi %s: %w", name, err)
	}
	return c, p, nil
}

// DefaultPCM opens the PCM bus through ALSA.
func DefaultPCM(spec PCMSpec) (Slots, error) {
	b, err := pcm.Open(pcm.Config{Device: spec.Device, Channels: spec.Channels})
	if err != nil {
		return nil, err
	}
	return b, nil
}
