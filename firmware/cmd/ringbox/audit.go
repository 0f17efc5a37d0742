package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/VictoriaMetrics/metrics"

	"ringbox/firmware/audit"
	"ringbox/firmware/store"
)

// refusedActions are the flow's audit actions that an attacker can make
// by the thousand (refused outside calls, toll-fraud alerts, DISA
// guesses): they go through the audit limiter. Changes people make
// (schedule overrides, hang-ups from the dashboard) are always written.
var refusedActions = []string{"call.forbidden", "tollfraud.", "disa."}

// flowAudit is the flow's Audit hook: the store's audit log, with refused
// attempts bounded by lim (docs/security.md, "Audit log").
func flowAudit(st *store.Store, lim *audit.Limiter, log *slog.Logger) func(ctx context.Context, actor, action, object, detail string) error {
	refused := &audit.Log{Store: st, Limiter: lim, Logger: log}
	return func(ctx context.Context, actor, action, object, detail string) error {
		e := store.AuditEntry{Actor: actor, Action: action, Object: object, Detail: detail}
		for _, p := range refusedActions {
			if strings.HasPrefix(action, p) {
				// Keyed by what was dialled or who dialled: one number
				// tried again and again is one source.
				refused.Refused(ctx, object, e)
				return nil
			}
		}
		return st.InsertAudit(ctx, e)
	}
}

// registerAuditMetrics adds the count of refused attempts the audit
// limiter kept out of the audit log.
func registerAuditMetrics(set *metrics.Set, lim *audit.Limiter) {
	set.NewGauge("ringbox_audit_suppressed_total", func() float64 { return float64(lim.Suppressed()) })
}
