package main

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"github.com/VictoriaMetrics/metrics"

	"ringbox/board"
	"ringbox/board/panel"
	"ringbox/firmware/acd"
	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/media"
	"ringbox/firmware/presence"
	"ringbox/firmware/sip"
	"ringbox/firmware/site"
	"ringbox/firmware/voicemail"
)

// sipHandler hands new SIP calls to the routing engine.
type sipHandler struct{ fl *flow.Engine }

func (h sipHandler) HandleCall(ctx context.Context, in call.Leg, info sip.CallInfo) {
	h.fl.Handle(ctx, in, flow.Inbound{
		CallID:    info.CallID,
		From:      info.From,
		To:        info.To,
		Extension: info.Extension,
		Trunk:     info.Trunk,
		DID:       info.DID,
		Asserted:  info.Asserted,
	})
}

// accountLookup gives the registrar an extension's digest HA1 values from
// the current configuration snapshot.
func accountLookup(cfg *config.Store, realm string) func(string) (sip.Account, bool) {
	return func(ext string) (sip.Account, bool) {
		st := cfg.Site()
		for _, x := range st.Extensions {
			if x.Number != ext || x.Secret == "" {
				continue
			}
			a1 := x.Number + ":" + realm + ":" + x.Secret
			m := md5.Sum([]byte(a1))
			s := sha256.Sum256([]byte(a1))
			_, box := voicemail.Lookup(st, x.Number)
			return sip.Account{
				Extension:  x.Number,
				HA1MD5:     hex.EncodeToString(m[:]),
				HA1SHA256:  hex.EncodeToString(s[:]),
				Permission: x.Permission,
				Mailbox:    box,
			}, true
		}
		return sip.Account{}, false
	}
}

// registerMetrics adds the subsystems' gauges to set.
func registerMetrics(set *metrics.Set, bus *events.Bus, med *media.Engine, s *sip.Server) {
	set.NewGauge("ringbox_media_streams", func() float64 { return float64(med.Active()) })
	// RTP packets received and sent (relayed or played) since start.
	set.NewGauge("ringbox_media_packets_in_total", func() float64 { return float64(med.Stats().PacketsIn) })
	set.NewGauge("ringbox_media_packets_out_total", func() float64 { return float64(med.Stats().PacketsOut) })
	set.NewGauge("ringbox_sip_registrations", func() float64 { return float64(len(s.Registrations())) })
	set.NewGauge("ringbox_events_published_total", func() float64 { return float64(bus.Published()) })
	set.NewGauge("ringbox_events_dropped_total", func() float64 { return float64(bus.Dropped()) })
	set.NewGauge("ringbox_trunks_registered", func() float64 {
		n := 0
		for _, t := range s.TrunkStates() {
			if t.State == "registered" {
				n++
			}
		}
		return float64(n)
	})
	registerTrunkIDMetrics(set, s) // trunkid.go
}

// Busy lamps (BLF keys, the dialog event package): agents' and queues'
// lamps show what the box's LEDs show (board/panel), steady for on and
// blinking for any blink.

func lampOf(p board.Pattern) presence.Lamp {
	switch p {
	case board.Off:
		return presence.LampOff
	case board.On:
		return presence.LampBusy
	}
	return presence.LampRinging
}

// wireLamps sets l to follow the events that move busy lamps and hand
// each change to the SIP edge's subscriptions.
func wireLamps(l *presence.Lamps, bus *events.Bus, pres *presence.Tracker, queues *acd.Engine, cfg *config.Store, s *sip.Server, log *slog.Logger) {
	l.Bus, l.Tracker, l.Notify, l.Logger = bus, pres, s.LampChanged, log
	l.Agent = func(ctx context.Context, id string) (presence.Lamp, error) {
		info, err := queues.Agent(ctx, id)
		if err != nil {
			return presence.LampOff, err
		}
		return lampOf(panel.Pattern(info)), nil
	}
	l.Queue = func(ctx context.Context, id string) (presence.Lamp, error) {
		var q *site.Queue
		st := cfg.Site()
		for i := range st.Queues {
			if st.Queues[i].ID == id {
				q = &st.Queues[i]
			}
		}
		if q == nil {
			return presence.LampOff, nil
		}
		infos, err := queues.Queues(ctx)
		if err != nil {
			return presence.LampOff, err
		}
		for i := range infos {
			if infos[i].ID == id {
				return lampOf(panel.QueuePattern(q, &infos[i])), nil
			}
		}
		return presence.LampOff, nil
	}
}
