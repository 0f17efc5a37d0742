package store

import (
	"context"
	"database/sql"
	"fmt"

	"ringbox/firmware/site"
)

// The site fields of DISA and queues per agent (migration 0013), written
// and read after the tables' own rows: extensions' mobile and disa_pin,
// system.disa_attempts and disa_window, queues' number.

// keepDISAPINs keeps the stored DISA PIN of an extension imported without
// one (an export without secrets), as for SIP secrets.
func keepDISAPINs(old *site.Site, n *site.Site) {
	pins := map[string]string{}
	for _, x := range old.Extensions {
		pins[x.Number] = x.DISAPIN
	}
	for i := range n.Extensions {
		if x := &n.Extensions[i]; x.DISAPIN == "" {
			x.DISAPIN = pins[x.Number]
		}
	}
}

func writeDISAFields(ex func(what, query string, args ...any) error, st *site.Site, dirty map[string]bool) error {
	if err := ex("system", `UPDATE system SET disa_attempts = ?, disa_window_ns = ? WHERE id = 1`,
		st.System.DISAAttempts, int64(st.System.DISAWindow)); err != nil {
		return err
	}
	if dirty["extensions"] {
		for i, x := range st.Extensions {
			if x.Mobile == "" && x.DISAPIN == "" {
				continue
			}
			if err := ex(fmt.Sprintf("extensions[%d] %s", i, x.Number), `UPDATE extensions SET mobile = ?, disa_pin = ? WHERE number = ?`,
				x.Mobile, x.DISAPIN, x.Number); err != nil {
				return err
			}
		}
	}
	if dirty["queues"] {
		for i, x := range st.Queues {
			if x.Number == "" {
				continue
			}
			if err := ex(fmt.Sprintf("queues[%d] %s", i, x.ID), `UPDATE queues SET number = ? WHERE id = ?`, x.Number, x.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func readDISAFields(ctx context.Context, q querier, st *site.Site) error {
	if err := q.QueryRowContext(ctx, `SELECT disa_attempts, disa_window_ns FROM system WHERE id = 1`).
		Scan(&st.System.DISAAttempts, &st.System.DISAWindow); err != nil {
		return fmt.Errorf("read system disa: %w", err)
	}
	ext := map[string]int{}
	for i, x := range st.Extensions {
		ext[x.Number] = i
	}
	err := rowsEach(ctx, q, `SELECT number, mobile, disa_pin FROM extensions WHERE mobile != '' OR disa_pin != ''`, func(r *sql.Rows) error {
		var num, mob, pin string
		if e := r.Scan(&num, &mob, &pin); e != nil {
			return e
		}
		if i, ok := ext[num]; ok {
			st.Extensions[i].Mobile, st.Extensions[i].DISAPIN = mob, pin
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read extensions' mobiles: %w", err)
	}
	qs := map[string]int{}
	for i, x := range st.Queues {
		qs[x.ID] = i
	}
	err = rowsEach(ctx, q, `SELECT id, number FROM queues WHERE number != ''`, func(r *sql.Rows) error {
		var id, num string
		if e := r.Scan(&id, &num); e != nil {
			return e
		}
		if i, ok := qs[id]; ok {
			st.Queues[i].Number = num
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read queue numbers: %w", err)
	}
	return nil
}
