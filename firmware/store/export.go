package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ringbox/firmware/site"
)

// ExportSite returns the whole configuration, secrets included (the YAML
// writer of package site leaves them out unless asked), with each user's
// PasswordHash set and Password empty. Slices come back in the order they
// were imported.
func (s *Store) ExportSite(ctx context.Context) (*site.Site, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.errf("export", err)
	}
	defer tx.Rollback() // read only: nothing to commit
	st, err := exportSite(ctx, tx)
	if err != nil {
		return nil, s.errf("export", err)
	}
	return st, nil
}

// rowsEach runs query and calls scan for each row.
func rowsEach(ctx context.Context, q querier, query string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// indexOf maps ids to positions in a slice being built.
type indexOf map[string]int

func exportSite(ctx context.Context, q querier) (*site.Site, error) {
	st := &site.Site{}
	var err error
	step := func(what string, f func() error) {
		if err != nil {
			return
		}
		if e := f(); e != nil {
			err = fmt.Errorf("read %s: %w", what, e)
		}
	}
	step("system", func() error {
		var smtpSet bool
		var smtp site.SMTP
		var digest string
		sys := &st.System
		e := q.QueryRowContext(ctx, `SELECT site_version, name, timezone, tone_zone, office_number, language,
			loop_limit, loop_to, sip_digest, smtp_set, smtp_host, smtp_from, smtp_username, smtp_password, transfer_recall_ns,
			park_slots, park_timeout_ns FROM system WHERE id = 1`).
			Scan(&st.Version, &sys.Name, &sys.Timezone, &sys.ToneZone, &sys.OfficeNumber, &sys.Language,
				&sys.LoopLimit, &sys.LoopTo, &digest, &smtpSet, &smtp.Host, &smtp.From, &smtp.Username, &smtp.Password, &sys.TransferRecall,
				&sys.ParkSlots, &sys.ParkTimeout)
		if smtpSet {
			sys.SMTP = &smtp
		}
		if digest != "" {
			sys.SIPDigest = strings.Split(digest, ",")
		}
		return e
	})
	step("conferences", func() error {
		return rowsEach(ctx, q, `SELECT id, number, pin, max_members, announce, mute_key FROM conferences ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Conference
			if e := r.Scan(&x.ID, &x.Number, &x.PIN, &x.MaxMembers, &x.Announce, &x.MuteKey); e != nil {
				return e
			}
			st.Conferences = append(st.Conferences, x)
			return nil
		})
	})
	step("extensions", func() error {
		return rowsEach(ctx, q, `SELECT number, name, secret, voicemail, email, hunt_blocked, permission, dnd, pickup_group
			FROM extensions ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Extension
			if e := r.Scan(&x.Number, &x.Name, &x.Secret, &x.Voicemail, &x.Email, &x.HuntBlocked, &x.Permission, &x.DND, &x.PickupGroup); e != nil {
				return e
			}
			st.Extensions = append(st.Extensions, x)
			return nil
		})
	})
	step("voicemail PINs", func() error {
		// Migration 0012's columns, read apart from the rows above.
		if e := q.QueryRowContext(ctx, `SELECT voicemail_pin_required FROM system WHERE id = 1`).Scan(&st.System.VoicemailPINRequired); e != nil {
			return e
		}
		at := map[string]int{}
		for i, x := range st.Extensions {
			at[x.Number] = i
		}
		return rowsEach(ctx, q, `SELECT number, voicemail_pin FROM extensions WHERE voicemail_pin != ''`, func(r *sql.Rows) error {
			var num, pin string
			if e := r.Scan(&num, &pin); e != nil {
				return e
			}
			if i, ok := at[num]; ok {
				st.Extensions[i].VoicemailPIN = pin
			}
			return nil
		})
	})
	agents := indexOf{}
	step("agents", func() error {
		return rowsEach(ctx, q, `SELECT id, name, extension, mobile, ring_preference, mobile_after_ns, role,
			coalesce(reports_to, ''), auto_login, button, pin, wrapup_after_all_calls, wrapup_ns FROM agents ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Agent
			if e := r.Scan(&x.ID, &x.Name, &x.Extension, &x.Mobile, &x.RingPreference, &x.MobileAfter, &x.Role,
				&x.ReportsTo, &x.AutoLogin, &x.Button, &x.PIN, &x.WrapupAfterAllCalls, &x.Wrapup); e != nil {
				return e
			}
			agents[x.ID] = len(st.Agents)
			st.Agents = append(st.Agents, x)
			return nil
		})
	})
	step("agent hours", func() error {
		return rowsEach(ctx, q, `SELECT agent_id, days, from_hm, to_hm FROM agent_hours ORDER BY agent_id, pos`, func(r *sql.Rows) error {
			var id string
			var x site.Range
			if e := r.Scan(&id, &x.Days, &x.From, &x.To); e != nil {
				return e
			}
			a := &st.Agents[agents[id]]
			a.Hours = append(a.Hours, x)
			return nil
		})
	})
	rgs := indexOf{}
	step("ring groups", func() error {
		return rowsEach(ctx, q, `SELECT id, name, repeat, cid_prefix, confirm, music, no_answer, ring_unavailable_agents FROM ring_groups ORDER BY pos`, func(r *sql.Rows) error {
			var x site.RingGroup
			if e := r.Scan(&x.ID, &x.Name, &x.Repeat, &x.CIDPrefix, &x.Confirm, &x.Music, &x.NoAnswer, &x.RingUnavailableAgents); e != nil {
				return e
			}
			rgs[x.ID] = len(st.RingGroups)
			st.RingGroups = append(st.RingGroups, x)
			return nil
		})
	})
	step("ring group stages", func() error {
		return rowsEach(ctx, q, `SELECT group_id, for_ns FROM ring_group_stages ORDER BY group_id, stage`, func(r *sql.Rows) error {
			var id string
			var x site.Stage
			if e := r.Scan(&id, &x.For); e != nil {
				return e
			}
			g := &st.RingGroups[rgs[id]]
			g.Stages = append(g.Stages, x)
			return nil
		})
	})
	step("ring group members", func() error {
		return rowsEach(ctx, q, `SELECT group_id, stage, member FROM ring_group_stage_members ORDER BY group_id, stage, pos`, func(r *sql.Rows) error {
			var id, m string
			var stage int
			if e := r.Scan(&id, &stage, &m); e != nil {
				return e
			}
			sg := &st.RingGroups[rgs[id]].Stages[stage]
			sg.Ring = append(sg.Ring, m)
			return nil
		})
	})
	hgs := indexOf{}
	step("hunt groups", func() error {
		return rowsEach(ctx, q, `SELECT id, name, strategy, ring_ns, no_answer, ring_unavailable_agents FROM hunt_groups ORDER BY pos`, func(r *sql.Rows) error {
			var x site.HuntGroup
			if e := r.Scan(&x.ID, &x.Name, &x.Strategy, &x.Ring, &x.NoAnswer, &x.RingUnavailableAgents); e != nil {
				return e
			}
			hgs[x.ID] = len(st.HuntGroups)
			st.HuntGroups = append(st.HuntGroups, x)
			return nil
		})
	})
	step("hunt group members", func() error {
		return rowsEach(ctx, q, `SELECT group_id, member FROM hunt_group_members ORDER BY group_id, pos`, func(r *sql.Rows) error {
			var id, m string
			if e := r.Scan(&id, &m); e != nil {
				return e
			}
			g := &st.HuntGroups[hgs[id]]
			g.Members = append(g.Members, m)
			return nil
		})
	})
	qs := indexOf{}
	step("queues", func() error {
		return rowsEach(ctx, q, `SELECT id, name, strategy, agent_ring_ns, wrapup_ns, confirm, max_no_answer, retry_delay_ns,
			max_wait_ns, on_timeout, on_empty, hold_music, comfort_set, comfort_every_ns, announce_position_ns,
			level_wait_ns, service_level_ns, exit_key, exit_to, led FROM queues ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Queue
			var comfortSet bool
			var every site.Duration
			if e := r.Scan(&x.ID, &x.Name, &x.Strategy, &x.AgentRing, &x.Wrapup, &x.Confirm, &x.MaxNoAnswer, &x.RetryDelay,
				&x.MaxWait, &x.OnTimeout, &x.OnEmpty, &x.HoldMusic, &comfortSet, &every, &x.AnnouncePosition,
				&x.LevelWait, &x.ServiceLevel, &x.ExitKey, &x.ExitTo, &x.LED); e != nil {
				return e
			}
			if comfortSet {
				x.Comfort = &site.Comfort{Every: every}
			}
			qs[x.ID] = len(st.Queues)
			st.Queues = append(st.Queues, x)
			return nil
		})
	})
	step("queue agents", func() error {
		return rowsEach(ctx, q, `SELECT queue_id, agent_id, level FROM queue_agents ORDER BY queue_id, pos`, func(r *sql.Rows) error {
			var id string
			var x site.QueueAgent
			if e := r.Scan(&id, &x.Agent, &x.Level); e != nil {
				return e
			}
			qu := &st.Queues[qs[id]]
			qu.Agents = append(qu.Agents, x)
			return nil
		})
	})
	step("queue comfort prompts", func() error {
		return rowsEach(ctx, q, `SELECT queue_id, prompt FROM queue_comfort_prompts ORDER BY queue_id, pos`, func(r *sql.Rows) error {
			var id, p string
			if e := r.Scan(&id, &p); e != nil {
				return e
			}
			qu := &st.Queues[qs[id]]
			if qu.Comfort == nil {
				return fmt.Errorf("queue %s: comfort prompts without comfort settings", id)
			}
			qu.Comfort.Prompts = append(qu.Comfort.Prompts, p)
			return nil
		})
	})
	ivrs := indexOf{}
	step("ivrs", func() error {
		return rowsEach(ctx, q, `SELECT id, name, greeting, direct_dial, timeout_ns, digit_timeout_ns, retries, timeout_retries,
			invalid, on_invalid, on_timeout FROM ivrs ORDER BY pos`, func(r *sql.Rows) error {
			var x site.IVR
			if e := r.Scan(&x.ID, &x.Name, &x.Greeting, &x.DirectDial, &x.Timeout, &x.DigitTimeout, &x.Retries, &x.TimeoutRetries,
				&x.Invalid, &x.OnInvalid, &x.OnTimeout); e != nil {
				return e
			}
			ivrs[x.ID] = len(st.IVRs)
			st.IVRs = append(st.IVRs, x)
			return nil
		})
	})
	step("ivr options", func() error {
		return rowsEach(ctx, q, `SELECT ivr_id, key, destination FROM ivr_options`, func(r *sql.Rows) error {
			var id, k, d string
			if e := r.Scan(&id, &k, &d); e != nil {
				return e
			}
			v := &st.IVRs[ivrs[id]]
			if v.Options == nil {
				v.Options = map[string]string{}
			}
			v.Options[k] = d
			return nil
		})
	})
	step("announcements", func() error {
		return rowsEach(ctx, q, `SELECT id, prompt, record, next FROM announcements ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Announcement
			if e := r.Scan(&x.ID, &x.Prompt, &x.Record, &x.Next); e != nil {
				return e
			}
			st.Announcements = append(st.Announcements, x)
			return nil
		})
	})
	scheds := indexOf{}
	step("schedules", func() error {
		return rowsEach(ctx, q, `SELECT id, name FROM schedules ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Schedule
			if e := r.Scan(&x.ID, &x.Name); e != nil {
				return e
			}
			scheds[x.ID] = len(st.Schedules)
			st.Schedules = append(st.Schedules, x)
			return nil
		})
	})
	step("schedule ranges", func() error {
		return rowsEach(ctx, q, `SELECT schedule_id, days, from_hm, to_hm FROM schedule_ranges ORDER BY schedule_id, pos`, func(r *sql.Rows) error {
			var id string
			var x site.Range
			if e := r.Scan(&id, &x.Days, &x.From, &x.To); e != nil {
				return e
			}
			sc := &st.Schedules[scheds[id]]
			sc.Open = append(sc.Open, x)
			return nil
		})
	})
	step("schedule holidays", func() error {
		return rowsEach(ctx, q, `SELECT schedule_id, day FROM schedule_holidays ORDER BY schedule_id, pos`, func(r *sql.Rows) error {
			var id, d string
			if e := r.Scan(&id, &d); e != nil {
				return e
			}
			sc := &st.Schedules[scheds[id]]
			sc.Holidays = append(sc.Holidays, d)
			return nil
		})
	})
	step("inbound routes", func() error {
		return rowsEach(ctx, q, `SELECT match, coalesce(schedule_id, ''), destination, otherwise FROM inbound_routes ORDER BY pos`, func(r *sql.Rows) error {
			var x site.InboundRoute
			if e := r.Scan(&x.Match, &x.When, &x.To, &x.Otherwise); e != nil {
				return e
			}
			st.Inbound = append(st.Inbound, x)
			return nil
		})
	})
	step("voicemail boxes", func() error {
		return rowsEach(ctx, q, `SELECT box, name, email, greeting, max_length_ns, min_length_ns, pin FROM voicemail_boxes ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Mailbox
			if e := r.Scan(&x.Box, &x.Name, &x.Email, &x.Greeting, &x.MaxLength, &x.MinLength, &x.PIN); e != nil {
				return e
			}
			st.Voicemail = append(st.Voicemail, x)
			return nil
		})
	})
	step("trunks", func() error {
		return rowsEach(ctx, q, `SELECT id, host, transport, username, password, register, fxo, caller_id, office_number, silence_timeout_ns, prack, srtp FROM trunks ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Trunk
			if e := r.Scan(&x.ID, &x.Host, &x.Transport, &x.Username, &x.Password, &x.Register, &x.FXO, &x.CallerID, &x.OfficeNumber, &x.SilenceTimeout, &x.Prack, &x.SRTP); e != nil {
				return e
			}
			st.Trunks = append(st.Trunks, x)
			return nil
		})
	})
	step("outbound routes", func() error {
		return rowsEach(ctx, q, `SELECT pattern, strip, prepend, emergency, permission FROM outbound_routes ORDER BY pos`, func(r *sql.Rows) error {
			var x site.OutboundRoute
			if e := r.Scan(&x.Pattern, &x.Strip, &x.Prepend, &x.Emergency, &x.Permission); e != nil {
				return e
			}
			st.Outbound = append(st.Outbound, x)
			return nil
		})
	})
	step("outbound route trunks", func() error {
		// Route positions are 0..n-1 in import order, so they index st.Outbound.
		return rowsEach(ctx, q, `SELECT route_pos, trunk_id FROM outbound_route_trunks ORDER BY route_pos, pos`, func(r *sql.Rows) error {
			var i int
			var t string
			if e := r.Scan(&i, &t); e != nil {
				return e
			}
			if i < 0 || i >= len(st.Outbound) {
				return fmt.Errorf("trunk %s of missing route %d", t, i)
			}
			st.Outbound[i].Trunks = append(st.Outbound[i].Trunks, t)
			return nil
		})
	})
	step("lines", func() error {
		return rowsEach(ctx, q, `SELECT port, extension, call_waiting FROM lines ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Line
			if e := r.Scan(&x.Port, &x.Extension, &x.CallWaiting); e != nil {
				return e
			}
			st.Lines = append(st.Lines, x)
			return nil
		})
	})
	step("prompts", func() error {
		return rowsEach(ctx, q, `SELECT id, file FROM prompts ORDER BY pos`, func(r *sql.Rows) error {
			var x site.Prompt
			if e := r.Scan(&x.ID, &x.File); e != nil {
				return e
			}
			st.Prompts = append(st.Prompts, x)
			return nil
		})
	})
	moh := indexOf{}
	step("hold music", func() error {
		return rowsEach(ctx, q, `SELECT id, device FROM hold_music ORDER BY pos`, func(r *sql.Rows) error {
			var x site.HoldMusic
			if e := r.Scan(&x.ID, &x.Device); e != nil {
				return e
			}
			moh[x.ID] = len(st.HoldMusic)
			st.HoldMusic = append(st.HoldMusic, x)
			return nil
		})
	})
	step("hold music files", func() error {
		return rowsEach(ctx, q, `SELECT class_id, file FROM hold_music_files ORDER BY class_id, pos`, func(r *sql.Rows) error {
			var id, f string
			if e := r.Scan(&id, &f); e != nil {
				return e
			}
			h := &st.HoldMusic[moh[id]]
			h.Files = append(h.Files, f)
			return nil
		})
	})
	step("users", func() error {
		return rowsEach(ctx, q, `SELECT login, role, coalesce(agent_id, ''), password_hash FROM users ORDER BY pos`, func(r *sql.Rows) error {
			var x site.User
			if e := r.Scan(&x.Login, &x.Role, &x.Agent, &x.PasswordHash); e != nil {
				return e
			}
			st.Users = append(st.Users, x)
			return nil
		})
	})
	step("skills and caller routes", func() error { return readSkills(ctx, q, st) }) // skills.go
	if err == nil {
		err = readDISAFields(ctx, q, st)
	}
	step("toll fraud", func() error { return exportTollFraud(ctx, q, st) })
	step("sip edge", func() error { return exportEdge(ctx, q, st) })                // edge.go
	step("trunk identification", func() error { return exportTrunkID(ctx, q, st) }) // trunkid.go
	if err != nil {
		return nil, err
	}
	return st, nil
}
