package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ringbox/firmware/edge"
	"ringbox/firmware/site"
)

// The SIP edge (migrations 0017, 0020 and 0022): extensions' allow lists,
// the box's User-Agent, the ban policy, the media timeout, and the edge
// filter's bans.

// importEdge sets the edge columns of the rows replaceConfig just wrote.
func importEdge(ex func(what, query string, args ...any) error, st *site.Site, dirty map[string]bool) error {
	sys := st.System
	if err := ex("system", `UPDATE system SET sip_user_agent = ?, sip_ban_failures = ?, sip_ban_window_ns = ?,
		sip_ban_time_ns = ?, sip_trusted = ?, media_timeout_ns = ? WHERE id = 1`, sys.SIPUserAgent, sys.SIPBanFailures,
		int64(sys.SIPBanWindow), int64(sys.SIPBanTime), strings.Join(sys.SIPTrusted, ","), int64(sys.MediaTimeout)); err != nil {
		return err
	}
	if dirty["extensions"] {
		for i, x := range st.Extensions {
			if len(x.Allow) == 0 {
				continue
			}
			if err := ex(fmt.Sprintf("extensions[%d] %s", i, x.Number), `UPDATE extensions SET allow = ? WHERE number = ?`,
				strings.Join(x.Allow, ","), x.Number); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportEdge reads the edge columns into st.
func exportEdge(ctx context.Context, q querier, st *site.Site) error {
	sys := &st.System
	var trusted string
	if err := q.QueryRowContext(ctx, `SELECT sip_user_agent, sip_ban_failures, sip_ban_window_ns, sip_ban_time_ns,
		sip_trusted, media_timeout_ns FROM system WHERE id = 1`).Scan(&sys.SIPUserAgent, &sys.SIPBanFailures, &sys.SIPBanWindow,
		&sys.SIPBanTime, &trusted, &sys.MediaTimeout); err != nil {
		return err
	}
	if trusted != "" {
		sys.SIPTrusted = strings.Split(trusted, ",")
	}
	ext := map[string]int{}
	for i, x := range st.Extensions {
		ext[x.Number] = i
	}
	return rowsEach(ctx, q, `SELECT number, allow FROM extensions WHERE allow != ''`, func(r *sql.Rows) error {
		var n, allow string
		if err := r.Scan(&n, &allow); err != nil {
			return err
		}
		if i, ok := ext[n]; ok {
			st.Extensions[i].Allow = strings.Split(allow, ",")
		}
		return nil
	})
}

// SaveBan stores a ban (edge.Store), replacing any of its key.
func (s *Store) SaveBan(ctx context.Context, b edge.Ban) error {
	ex := make([]string, len(b.Exempt))
	for i, a := range b.Exempt {
		ex[i] = a.String()
	}
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO sip_bans (key, reason, count, offence, since_ms, until_ms, exempt)
		VALUES (?,?,?,?,?,?,?)`, b.Key, b.Reason, b.Count, b.Offence, b.Since.UnixMilli(), b.Until.UnixMilli(), strings.Join(ex, ","))
	if err != nil {
		return s.errf("save sip ban "+b.Key, err)
	}
	return nil
}

// DeleteBan forgets a ban (edge.Store).
func (s *Store) DeleteBan(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sip_bans WHERE key = ?`, key); err != nil {
		return s.errf("delete sip ban "+key, err)
	}
	return nil
}

// LoadBans lists the stored bans, ended ones too (edge.Store).
func (s *Store) LoadBans(ctx context.Context) ([]edge.Ban, error) {
	var out []edge.Ban
	err := rowsEach(ctx, s.r, `SELECT key, reason, count, offence, since_ms, until_ms, exempt FROM sip_bans ORDER BY key`, func(r *sql.Rows) error {
		var b edge.Ban
		var since, until int64
		var exempt string
		if err := r.Scan(&b.Key, &b.Reason, &b.Count, &b.Offence, &since, &until, &exempt); err != nil {
			return err
		}
		b.Since, b.Until = time.UnixMilli(since).UTC(), time.UnixMilli(until).UTC()
		for _, a := range strings.Split(exempt, ",") {
			if x, err := netip.ParseAddr(a); err == nil {
				b.Exempt = append(b.Exempt, x)
			}
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, s.errf("load sip bans", err)
	}
	return out, nil
}
