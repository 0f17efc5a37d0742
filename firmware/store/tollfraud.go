package store

import (
	"context"
	"database/sql"
	"fmt"

	"ringbox/firmware/site"
)

// The toll-fraud fields (migration 0016) are written and read apart from
// their tables' other columns: rows are inserted first by replaceConfig,
// then these columns set on them.

// importTollFraud sets the toll-fraud columns of the rows replaceConfig
// just wrote (and of the system row, always).
func importTollFraud(ex func(what, query string, args ...any) error, st *site.Site, dirty map[string]bool) error {
	if err := ex("system", `UPDATE system SET international_hours = ?, alert_email = ? WHERE id = 1`,
		st.System.InternationalHours, st.System.AlertEmail); err != nil {
		return err
	}
	if dirty["extensions"] {
		for i, x := range st.Extensions {
			if x.MaxOutsideCalls == 0 && x.OutsideCallsPerHour == 0 {
				continue
			}
			if err := ex(fmt.Sprintf("extensions[%d] %s", i, x.Number), `UPDATE extensions SET max_outside_calls = ?,
				outside_calls_per_hour = ? WHERE number = ?`, x.MaxOutsideCalls, x.OutsideCallsPerHour, x.Number); err != nil {
				return err
			}
		}
	}
	if dirty["trunks"] {
		for i, x := range st.Trunks {
			if x.MaxOutboundCalls == 0 && x.OutboundPerHour == 0 {
				continue
			}
			if err := ex(fmt.Sprintf("trunks[%d] %s", i, x.ID), `UPDATE trunks SET max_outbound_calls = ?,
				outbound_per_hour = ? WHERE id = ?`, x.MaxOutboundCalls, x.OutboundPerHour, x.ID); err != nil {
				return err
			}
		}
	}
	if dirty["outbound"] {
		for i, x := range st.Outbound {
			if !x.AllowSymbols {
				continue
			}
			if err := ex(fmt.Sprintf("outbound[%d] %s", i, x.Pattern), `UPDATE outbound_routes SET allow_symbols = 1 WHERE pos = ?`, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportTollFraud reads the toll-fraud columns into st, whose rows the
// other steps of exportSite read already.
func exportTollFraud(ctx context.Context, q querier, st *site.Site) error {
	if err := q.QueryRowContext(ctx, `SELECT international_hours, alert_email FROM system WHERE id = 1`).
		Scan(&st.System.InternationalHours, &st.System.AlertEmail); err != nil {
		return err
	}
	ext := map[string]int{}
	for i, x := range st.Extensions {
		ext[x.Number] = i
	}
	if err := rowsEach(ctx, q, `SELECT number, max_outside_calls, outside_calls_per_hour FROM extensions
		WHERE max_outside_calls != 0 OR outside_calls_per_hour != 0`, func(r *sql.Rows) error {
		var n string
		var max, perHour int
		if e := r.Scan(&n, &max, &perHour); e != nil {
			return e
		}
		if i, ok := ext[n]; ok {
			st.Extensions[i].MaxOutsideCalls, st.Extensions[i].OutsideCallsPerHour = max, perHour
		}
		return nil
	}); err != nil {
		return err
	}
	trunks := map[string]int{}
	for i, x := range st.Trunks {
		trunks[x.ID] = i
	}
	if err := rowsEach(ctx, q, `SELECT id, max_outbound_calls, outbound_per_hour FROM trunks
		WHERE max_outbound_calls != 0 OR outbound_per_hour != 0`, func(r *sql.Rows) error {
		var id string
		var max, perHour int
		if e := r.Scan(&id, &max, &perHour); e != nil {
			return e
		}
		if i, ok := trunks[id]; ok {
			st.Trunks[i].MaxOutboundCalls, st.Trunks[i].OutboundPerHour = max, perHour
		}
		return nil
	}); err != nil {
		return err
	}
	return rowsEach(ctx, q, `SELECT pos FROM outbound_routes WHERE allow_symbols != 0`, func(r *sql.Rows) error {
		var i int
		if e := r.Scan(&i); e != nil {
			return e
		}
		if i >= 0 && i < len(st.Outbound) {
			st.Outbound[i].AllowSymbols = true
		}
		return nil
	})
}
