package store

import (
	"context"
	"database/sql"
	"fmt"

	"ringbox/firmware/site"
)

// The trunk identification fields and inbound caps (migration 0019) are
// written and read apart from their tables' other columns, like the
// toll-fraud ones: replaceConfig inserts the rows, these set the columns
// and fill the child tables (which the trunks' deletion cascades to).

// importTrunkID stores the identification fields of the trunks
// replaceConfig just wrote (and the system's per-source caps, always).
func importTrunkID(ex func(what, query string, args ...any) error, st *site.Site, dirty map[string]bool) error {
	if err := ex("system", `UPDATE system SET max_setup_per_source = ?, max_calls_per_source = ? WHERE id = 1`,
		st.System.MaxSetupPerSource, st.System.MaxCallsPerSource); err != nil {
		return err
	}
	if !dirty["trunks"] {
		return nil
	}
	for i, x := range st.Trunks {
		what := fmt.Sprintf("trunks[%d] %s", i, x.ID)
		var hName, hValue, aUser, aPass string
		if m := x.MatchHeader; m != nil {
			hName, hValue = m.Name, m.Value
		}
		if a := x.InboundAuth; a != nil {
			aUser, aPass = a.Username, a.Password
		}
		if err := ex(what, `UPDATE trunks SET match_header_name = ?, match_header_value = ?, inbound_auth_username = ?,
			inbound_auth_password = ?, max_inbound_setup = ?, max_inbound_calls = ? WHERE id = ?`,
			hName, hValue, aUser, aPass, x.MaxInboundSetup, x.MaxInboundCalls, x.ID); err != nil {
			return err
		}
		for j, p := range x.Ports {
			if err := ex(fmt.Sprintf("%s: ports[%d] %d", what, j, p), `INSERT INTO trunk_ports (trunk_id, pos, port) VALUES (?,?,?)`,
				x.ID, j, p); err != nil {
				return err
			}
		}
		for j, a := range x.Allow {
			if err := ex(fmt.Sprintf("%s: allow[%d] %s", what, j, a), `INSERT INTO trunk_allow (trunk_id, pos, network) VALUES (?,?,?)`,
				x.ID, j, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportTrunkID reads the identification fields into st, whose trunks the
// other steps of exportSite read already.
func exportTrunkID(ctx context.Context, q querier, st *site.Site) error {
	if err := q.QueryRowContext(ctx, `SELECT max_setup_per_source, max_calls_per_source FROM system WHERE id = 1`).
		Scan(&st.System.MaxSetupPerSource, &st.System.MaxCallsPerSource); err != nil {
		return err
	}
	trunks := map[string]int{}
	for i, x := range st.Trunks {
		trunks[x.ID] = i
	}
	if err := rowsEach(ctx, q, `SELECT id, match_header_name, match_header_value, inbound_auth_username, inbound_auth_password,
		max_inbound_setup, max_inbound_calls FROM trunks`, func(r *sql.Rows) error {
		var id, hName, hValue, aUser, aPass string
		var setup, calls int
		if e := r.Scan(&id, &hName, &hValue, &aUser, &aPass, &setup, &calls); e != nil {
			return e
		}
		i, ok := trunks[id]
		if !ok {
			return nil
		}
		t := &st.Trunks[i]
		if hName != "" {
			t.MatchHeader = &site.HeaderMatch{Name: hName, Value: hValue}
		}
		if aUser != "" {
			t.InboundAuth = &site.InboundAuth{Username: aUser, Password: aPass}
		}
		t.MaxInboundSetup, t.MaxInboundCalls = setup, calls
		return nil
	}); err != nil {
		return err
	}
	if err := rowsEach(ctx, q, `SELECT trunk_id, port FROM trunk_ports ORDER BY trunk_id, pos`, func(r *sql.Rows) error {
		var id string
		var p int
		if e := r.Scan(&id, &p); e != nil {
			return e
		}
		if i, ok := trunks[id]; ok {
			st.Trunks[i].Ports = append(st.Trunks[i].Ports, p)
		}
		return nil
	}); err != nil {
		return err
	}
	return rowsEach(ctx, q, `SELECT trunk_id, network FROM trunk_allow ORDER BY trunk_id, pos`, func(r *sql.Rows) error {
		var id, a string
		if e := r.Scan(&id, &a); e != nil {
			return e
		}
		if i, ok := trunks[id]; ok {
			st.Trunks[i].Allow = append(st.Trunks[i].Allow, a)
		}
		return nil
	})
}

// keepTrunkAuthSecrets gives a trunk whose inbound_auth has no password
// the stored one of the same trunk and username, so that exporting without
// secrets and importing again wipes nothing. n's trunks are its own copy.
func keepTrunkAuthSecrets(old, n *site.Site) {
	stored := map[string]*site.InboundAuth{}
	for _, x := range old.Trunks {
		if x.InboundAuth != nil {
			stored[x.ID] = x.InboundAuth
		}
	}
	for i := range n.Trunks {
		a := n.Trunks[i].InboundAuth
		if a == nil || a.Password != "" {
			continue
		}
		if o := stored[n.Trunks[i].ID]; o != nil && o.Username == a.Username {
			n.Trunks[i].InboundAuth = &site.InboundAuth{Username: a.Username, Password: o.Password}
		}
	}
}
