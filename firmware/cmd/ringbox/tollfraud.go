package main

import (
	"github.com/VictoriaMetrics/metrics"

	"ringbox/firmware/dialplan"
)

// registerTollMetrics adds the toll-fraud counters to set: outside calls
// refused (permission, symbols, hours, limits) and alerts raised
// (docs/security.md).
func registerTollMetrics(set *metrics.Set, g *dialplan.Guard) {
	set.NewGauge("ringbox_tollfraud_refused_total", func() float64 { return float64(g.Refused()) })
	set.NewGauge("ringbox_tollfraud_alerts_total", func() float64 { return float64(g.Alerts()) })
}
