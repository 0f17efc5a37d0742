package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AgentStatus is the part of an agent's state that survives a restart: who
// is logged in or paused, and why.
type AgentStatus struct {
	Agent      string
	Status     string // logged_out, available, paused, ...
	Reason     string // pause reason
	Since      time.Time
	AutoReturn time.Time // when a pause ends by itself; zero: never
	// OutOf are the queues a logged-in agent logged out of alone (*45
	// then the queue number); the agent is in their other queues.
	OutOf []string
}

// SaveAgentStatus records an agent's current status, replacing the previous
// one.
func (s *Store) SaveAgentStatus(ctx context.Context, a AgentStatus) error {
	if a.Agent == "" {
		return errors.New("store: save agent status: empty agent")
	}
	if a.Since.IsZero() {
		a.Since = s.now()
	}
	outOf, err := json.Marshal(nonNil(a.OutOf))
	if err != nil {
		return fmt.Errorf("store: save status of agent %s: %w", a.Agent, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO agent_status (agent, status, reason, since_ms, auto_return_ms, out_of) VALUES (?,?,?,?,?,?)
		ON CONFLICT (agent) DO UPDATE SET status = excluded.status, reason = excluded.reason,
		since_ms = excluded.since_ms, auto_return_ms = excluded.auto_return_ms, out_of = excluded.out_of`,
		a.Agent, a.Status, a.Reason, a.Since.UnixMilli(), ms(a.AutoReturn), string(outOf))
	if err != nil {
		return fmt.Errorf("store: save status of agent %s in %s: %w", a.Agent, s.path, err)
	}
	return nil
}

// LoadAgentStatuses returns every saved agent status, by agent id.
func (s *Store) LoadAgentStatuses(ctx context.Context) ([]AgentStatus, error) {
	var out []AgentStatus
	err := rowsEach(ctx, s.r, `SELECT agent, status, reason, since_ms, auto_return_ms, out_of FROM agent_status ORDER BY agent`, func(r *sql.Rows) error {
		var a AgentStatus
		var since int64
		var ret sql.NullInt64
		var outOf string
		if err := r.Scan(&a.Agent, &a.Status, &a.Reason, &since, &ret, &outOf); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(outOf), &a.OutOf); err != nil {
			return fmt.Errorf("agent %s: out_of %q: %w", a.Agent, outOf, err)
		}
		if len(a.OutOf) == 0 {
			a.OutOf = nil
		}
		a.Since, a.AutoReturn = time.UnixMilli(since).UTC(), fromMS(ret)
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, s.errf("load agent statuses", err)
	}
	return out, nil
}

// HuntNext returns where the next round-robin hunt of group starts (0..n-1)
// and advances the stored position, in one statement, so that two calls
// (or two processes) never get the same start. n is the group's member
// count; when it shrinks the stored position wraps.
func (s *Store) HuntNext(ctx context.Context, group string, n int) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("store: hunt group %s: %d members", group, n)
	}
	var next int
	err := s.w.QueryRowContext(ctx, `INSERT INTO hunt_state (group_id, next) VALUES (?1, 1 % ?2)
		ON CONFLICT (group_id) DO UPDATE SET next = (next % ?2 + 1) % ?2 RETURNING next`, group, n).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("store: advance hunt group %s in %s: %w", group, s.path, err)
	}
	return (next - 1 + n) % n, nil
}

// nonNil is s, or an empty list for nil (stored as [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// actionAdminStored marks, in the append-only audit log, that the box got
// its first admin by a way that writes no audit row of its own (a user
// created when none was admin). The other ways say it in their own rows:
// user.create_first_admin, user.reset_admin, and the import that stores
// the first admin ("first_admin" in its detail). Audit rows cannot be
// updated or deleted (a trigger aborts it) and go only with the data
// directory, that is with a factory reset; that is what [Store.SetupDone]
// reads.
const actionAdminStored = "user.first_admin_stored"

// SetupDone reports whether first-boot setup is over for good: an admin
// exists now or has ever existed on this box. Once it is true it stays true
// until a factory reset erases the data directory; a box left without an
// admin (by hand, or by an import of an older firmware) is recovered with
// `ringbox admin reset` on its console, never by the first-boot page.
func (s *Store) SetupDone(ctx context.Context) (bool, error) {
	done, err := setupDone(ctx, s.r)
	if err != nil {
		return false, s.errf("read whether an admin existed", err)
	}
	return done, nil
}

// setupDone is SetupDone on q, which may be a transaction. The checks go
// from cheapest to dearest, and all but the first run only on a box with
// no admin; the last one, on the recorded versions, covers boxes whose
// admin an import of an older firmware removed (it wrote no first_admin).
func setupDone(ctx context.Context, q querier) (bool, error) {
	var done bool
	err := q.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM users WHERE role = 'admin')
		OR EXISTS (SELECT 1 FROM audit WHERE action IN ('user.create_first_admin', 'user.reset_admin', ?)
			OR (object = 'site' AND detail LIKE '%"first_admin":"%'))
		OR EXISTS (SELECT 1 FROM site_versions v,
			json_each(CASE WHEN json_valid(v.site_yaml) THEN v.site_yaml ELSE '{}' END, '$.users') u
			WHERE json_extract(u.value, '$.role') = 'admin')`, actionAdminStored).Scan(&done)
	return done, err
}

// markAdminStored records that the box has an admin, when the transaction
// tx has just given it its first (hadAdmin is whether one existed before).
func (s *Store) markAdminStored(ctx context.Context, tx *sql.Tx, hadAdmin bool, actor, login, how string) error {
	if hadAdmin {
		return nil
	}
	return s.insertAudit(ctx, tx, AuditEntry{Actor: actor, Action: actionAdminStored, Object: "user:" + login, Detail: how})
}
