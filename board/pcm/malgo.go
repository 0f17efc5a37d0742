//go:build cgo && linux

package pcm

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gen2brain/malgo"

	"ringbox/board/line"
)

// Bus is an open PCM bus.
type Bus struct {
	*slots
	ctx *malgo.AllocatedContext
	dev *malgo.Device

	closeOnce sync.Once
}

// Open opens the bus's ALSA card as one duplex device with
// cfg.Channels interleaved 16-bit channels at 8 kHz and starts it.
func Open(cfg Config) (*Bus, error) {
	if cfg.Channels < 1 {
		return nil, fmt.Errorf("pcm: %d channels", cfg.Channels)
	}
	backends := []malgo.Backend{malgo.BackendAlsa}
	if cfg.Null {
		backends = []malgo.Backend{malgo.BackendNull + 1} // malgo's enum is off by one (audio/device)
	}
	mctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("pcm: audio context: %w", err)
	}
	b := &Bus{slots: newSlots(cfg.Channels), ctx: mctx}
	dc := malgo.DefaultDeviceConfig(malgo.Duplex)
	dc.SampleRate = line.Rate
	dc.PeriodSizeInMilliseconds = 20
	dc.Capture.Format, dc.Capture.Channels = malgo.FormatS16, uint32(cfg.Channels)
	dc.Playback.Format, dc.Playback.Channels = malgo.FormatS16, uint32(cfg.Channels)
	dc.Alsa.NoMMap = 1
	if cfg.Device != "" {
		for _, kind := range []malgo.DeviceType{malgo.Capture, malgo.Playback} {
			infos, err := mctx.Devices(kind)
			if err != nil {
				b.free()
				return nil, fmt.Errorf("pcm: list devices: %w", err)
			}
			var names []string
			found := false
			for i := range infos {
				if strings.Contains(infos[i].Name(), cfg.Device) {
					if kind == malgo.Capture {
						dc.Capture.DeviceID = infos[i].ID.Pointer()
					} else {
						dc.Playback.DeviceID = infos[i].ID.Pointer()
					}
					found = true
					break
				}
				names = append(names, infos[i].Name())
			}
			if !found {
				b.free()
				return nil, fmt.Errorf("pcm: no %v device named like %q (have %q)", kind, cfg.Device, names)
			}
		}
	}
	dev, err := malgo.InitDevice(mctx.Context, dc, malgo.DeviceCallbacks{
		Data: func(out, in []byte, frames uint32) { b.process(out, in, int(frames)) },
	})
	if err != nil {
		b.free()
		return nil, fmt.Errorf("pcm: open device: %w", err)
	}
	b.dev = dev
	if err := dev.Start(); err != nil {
		dev.Uninit()
		b.free()
		return nil, fmt.Errorf("pcm: start device: %w", err)
	}
	return b, nil
}

// Close stops the bus; every slot's ReadFrame returns line.ErrClosed.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		close(b.done)
		if b.dev != nil {
			b.dev.Uninit()
		}
		b.free()
	})
	return nil
}

func (b *Bus) free() {
	_ = b.ctx.Uninit()
	b.ctx.Free()
}
