package main

import (
	"log/slog"
	"testing"
	"time"

	"ringbox/firmware/audit"
	"ringbox/firmware/store"
)

// Refused calls reach the audit log through the limiter; changes people
// make (a schedule override) are always written.
func TestFlowAuditBounded(t *testing.T) {
	st, err := store.Open(t.Context(), t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	since := time.Now().Add(-time.Minute)
	hook := flowAudit(st, &audit.Limiter{}, slog.New(slog.DiscardHandler))
	for range 500 {
		if err := hook(t.Context(), "sip", "call.forbidden", "900123", "101 may not dial 900123"); err != nil {
			t.Fatal(err)
		}
		if err := hook(t.Context(), "sip", "tollfraud.international_burst", "0044", "burst"); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if err := hook(t.Context(), "ext:101", "schedule.override", "office", "closed"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := st.ListAuditFilter(t.Context(), store.AuditFilter{From: since, Limit: store.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		n[r.Action]++
	}
	if n["call.forbidden"] != audit.DefaultPerKey || n["tollfraud.international_burst"] != audit.DefaultPerKey || n["schedule.override"] != 20 {
		t.Errorf("audit rows by action = %v, want %d of each refusal and every override", n, audit.DefaultPerKey)
	}
}
