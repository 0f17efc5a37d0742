package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"

	"ringbox/firmware/site"
)

// Skills and routing by the caller (migration 0014): each skill set,
// widening list, caller-route list and the caller lists is one JSON column
// of its object's row, written after the rows themselves.

// jsonCol is v as a column: empty when v is.
func jsonCol(v any) (string, error) {
	if rv := reflect.ValueOf(v); rv.Len() == 0 {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// fromCol reads a column jsonCol wrote; an empty one leaves v empty.
func fromCol(col string, v any) error {
	if col == "" {
		return nil
	}
	return json.Unmarshal([]byte(col), v)
}

// storeSkills writes the skill and caller-routing columns of the rows
// replaceConfig rewrote (dirty kinds) and the system's caller lists.
func storeSkills(ctx context.Context, tx *sql.Tx, st *site.Site, dirty map[string]bool) error {
	set := func(what, query string, v any, args ...any) error {
		col, err := jsonCol(v)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := tx.ExecContext(ctx, query, append([]any{col}, args...)...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := set("system: caller_lists", `UPDATE system SET caller_lists = ? WHERE id = 1`, st.CallerLists); err != nil {
		return err
	}
	if dirty["agents"] {
		for i, x := range st.Agents {
			if err := set(fmt.Sprintf("agents[%d] %s: skills", i, x.ID), `UPDATE agents SET skills = ? WHERE id = ?`, x.Skills, x.ID); err != nil {
				return err
			}
		}
	}
	if dirty["queues"] {
		for i, x := range st.Queues {
			what := fmt.Sprintf("queues[%d] %s", i, x.ID)
			if err := set(what+": skills", `UPDATE queues SET skills = ? WHERE id = ?`, x.Skills, x.ID); err != nil {
				return err
			}
			if err := set(what+": skill_widening", `UPDATE queues SET skill_widening = ? WHERE id = ?`, x.SkillWidening, x.ID); err != nil {
				return err
			}
		}
	}
	if dirty["ivrs"] {
		for i, x := range st.IVRs {
			what := fmt.Sprintf("ivrs[%d] %s", i, x.ID)
			if err := set(what+": option_skills", `UPDATE ivrs SET option_skills = ? WHERE id = ?`, x.OptionSkills, x.ID); err != nil {
				return err
			}
			if err := set(what+": callers", `UPDATE ivrs SET callers = ? WHERE id = ?`, x.Callers, x.ID); err != nil {
				return err
			}
		}
	}
	if dirty["inbound"] {
		for i, x := range st.Inbound {
			what := fmt.Sprintf("inbound[%d]", i)
			if _, err := tx.ExecContext(ctx, `UPDATE inbound_routes SET caller = ? WHERE pos = ?`, x.Caller, i); err != nil {
				return fmt.Errorf("%s: caller: %w", what, err)
			}
			if err := set(what+": skills", `UPDATE inbound_routes SET skills = ? WHERE pos = ?`, x.Skills, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// readSkills fills the skill and caller-routing fields of st, whose
// objects exportSite has read.
func readSkills(ctx context.Context, q querier, st *site.Site) error {
	var lists string
	if err := q.QueryRowContext(ctx, `SELECT caller_lists FROM system WHERE id = 1`).Scan(&lists); err != nil {
		return err
	}
	if err := fromCol(lists, &st.CallerLists); err != nil {
		return fmt.Errorf("caller_lists: %w", err)
	}
	byID := func(table string, n int, id func(int) string, fill func(i int, cols []string) error, cols ...string) error {
		idx := map[string]int{}
		for i := range n {
			idx[id(i)] = i
		}
		query := "SELECT id"
		for _, c := range cols {
			query += ", " + c
		}
		return rowsEach(ctx, q, query+" FROM "+table, func(r *sql.Rows) error {
			var key string
			vals := make([]string, len(cols))
			dest := []any{&key}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := r.Scan(dest...); err != nil {
				return err
			}
			i, ok := idx[key]
			if !ok {
				return nil
			}
			if err := fill(i, vals); err != nil {
				return fmt.Errorf("%s %s: %w", table, key, err)
			}
			return nil
		})
	}
	if err := byID("agents", len(st.Agents), func(i int) string { return st.Agents[i].ID }, func(i int, c []string) error {
		return fromCol(c[0], &st.Agents[i].Skills)
	}, "skills"); err != nil {
		return err
	}
	if err := byID("queues", len(st.Queues), func(i int) string { return st.Queues[i].ID }, func(i int, c []string) error {
		if err := fromCol(c[0], &st.Queues[i].Skills); err != nil {
			return err
		}
		return fromCol(c[1], &st.Queues[i].SkillWidening)
	}, "skills", "skill_widening"); err != nil {
		return err
	}
	if err := byID("ivrs", len(st.IVRs), func(i int) string { return st.IVRs[i].ID }, func(i int, c []string) error {
		if err := fromCol(c[0], &st.IVRs[i].OptionSkills); err != nil {
			return err
		}
		return fromCol(c[1], &st.IVRs[i].Callers)
	}, "option_skills", "callers"); err != nil {
		return err
	}
	// Route positions are 0..n-1 in import order, so they index st.Inbound.
	return rowsEach(ctx, q, `SELECT pos, caller, skills FROM inbound_routes`, func(r *sql.Rows) error {
		var pos int
		var caller, skills string
		if err := r.Scan(&pos, &caller, &skills); err != nil {
			return err
		}
		if pos < 0 || pos >= len(st.Inbound) {
			return nil
		}
		st.Inbound[pos].Caller = caller
		return fromCol(skills, &st.Inbound[pos].Skills)
	})
}
