package main

import (
	"github.com/VictoriaMetrics/metrics"

	"ringbox/firmware/sip"
)

// registerTrunkIDMetrics adds the inbound caps' refusals (by cap) and the
// calls ended for want of an ACK (docs/security.md "Trunks").
func registerTrunkIDMetrics(set *metrics.Set, s *sip.Server) {
	for _, c := range []string{sip.CapTrunkSetup, sip.CapTrunkCalls, sip.CapSourceSetup, sip.CapSourceCalls} {
		set.NewGauge(`ringbox_sip_inbound_refused_total{cap="`+c+`"}`, func() float64 { return float64(s.InboundStats().Refused[c]) })
	}
	set.NewGauge("ringbox_sip_ack_timeouts_total", func() float64 { return float64(s.InboundStats().AckTimeouts) })
}
