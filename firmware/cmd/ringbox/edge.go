package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"ringbox/firmware/config"
	"ringbox/firmware/edge"
	"ringbox/firmware/events"
	"ringbox/firmware/sip"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// newEdgeFilter makes the SIP edge filter (docs/security.md): bans kept in
// the store and restored now, each ban and lift published on the bus and
// written to the audit log, extensions' allow lists and trunks' addresses
// read from the current site.
func newEdgeFilter(ctx context.Context, st *store.Store, bus *events.Bus, cfg *config.Store, log *slog.Logger) *edge.Filter {
	audit := func(actor, action, object, detail string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.InsertAudit(ctx, store.AuditEntry{Actor: actor, Action: action, Object: object, Detail: detail}); err != nil {
			log.Error("audit sip ban", "key", object, "err", err)
		}
	}
	var trunks trunkAddrs
	f := edge.New(edge.Config{
		Policy: edgePolicy(cfg.Site().System),
		Store:  st,
		Logger: log,
		AllowList: func(ext string) []netip.Prefix {
			for i, x := range cfg.Site().Extensions {
				if x.Number == ext {
					return cfg.Site().Extensions[i].AllowPrefixes()
				}
			}
			return nil
		},
		Exempt: func(a netip.Addr) bool { return trunks.has(cfg.Site(), a) },
		OnBan: func(b edge.Ban) {
			bus.Publish(events.SIPBanned{Key: b.Key, Reason: b.Reason, Count: b.Count, Offence: b.Offence, Until: b.Until})
			audit("system", "sip.ban", b.Key, fmt.Sprintf("%s; %d failures; offence %d; until %s", b.Reason, b.Count, b.Offence, b.Until.Format(time.RFC3339)))
		},
		OnLift: func(b edge.Ban, by string) {
			bus.Publish(events.SIPBanLifted{Key: b.Key, By: by})
			if by == "" {
				audit("system", "sip.ban_expired", b.Key, "")
				return
			}
			audit(by, "sip.ban_lift", b.Key, b.Reason)
		},
	})
	if err := f.Restore(ctx); err != nil {
		log.Error("sip bans not restored", "err", err)
	}
	return f
}

// edgePolicy is the site's ban policy for the edge filter; serve puts a
// changed one in force at each configuration change.
func edgePolicy(sys site.System) edge.Policy {
	return edge.Policy{
		FailLimit:  sys.SIPBanFailures,
		FailWindow: sys.SIPBanWindow.D(),
		BanFor:     sys.SIPBanTime.D(),
		Trusted:    sys.TrustedPrefixes(),
	}
}

// edgeHooks connect the SIP server to the filter.
func edgeHooks(f *edge.Filter) sip.EdgeHooks {
	return sip.EdgeHooks{
		AuthResult: func(src netip.Addr, user string, ok bool) {
			if ok {
				f.AuthOK(src, user)
			} else {
				f.AuthFailed(src, user)
			}
		},
		Permitted:   func(ext string, src netip.Addr) bool { return f.Permitted(ext, src) },
		Unparseable: f.Unparseable,
		AdmitConn:   f.AdmitConn,
	}
}

// trunkAddrs are the literal IP addresses of the site's trunks, kept per
// site snapshot: carriers are not rate-limited (their call rate is the
// office's), though they are still banned if they fail to authenticate.
type trunkAddrs struct {
	cur atomic.Pointer[trunkSet]
}

type trunkSet struct {
	site  *site.Site
	addrs map[netip.Addr]bool
}

func (t *trunkAddrs) has(st *site.Site, a netip.Addr) bool {
	s := t.cur.Load()
	if s == nil || s.site != st {
		s = &trunkSet{site: st, addrs: map[netip.Addr]bool{}}
		for _, tr := range st.Trunks {
			h := tr.Host
			if host, _, err := net.SplitHostPort(h); err == nil {
				h = host
			}
			if x, err := netip.ParseAddr(h); err == nil {
				s.addrs[x.Unmap()] = true
			}
		}
		t.cur.Store(s)
	}
	return s.addrs[a]
}

// registerEdgeMetrics adds the edge filter's counters to set.
func registerEdgeMetrics(set *metrics.Set, f *edge.Filter) {
	set.NewGauge("ringbox_sip_auth_failures_total", func() float64 { return float64(f.Stats().AuthFailures) })
	set.NewGauge("ringbox_sip_bans_total", func() float64 { return float64(f.Stats().BansTotal) })
	set.NewGauge("ringbox_sip_bans_active", func() float64 { return float64(f.BansActive()) })
	for _, r := range edge.Reasons {
		set.NewGauge(fmt.Sprintf(`ringbox_sip_drops_total{reason=%q}`, r), func() float64 { return float64(f.Drops(r)) })
	}
}
