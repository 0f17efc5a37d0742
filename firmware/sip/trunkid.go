package sip

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

// Trunk identification (issue 15 part 4; docs/security.md "Trunks").
//
// An INVITE is a trunk's when, in this order:
//
//  1. its source is the trunk's: an address the trunk's host resolves to
//     and, with trunks[].ports, one of those ports (strictly: another port
//     at that address is a phone); or an address in trunks[].allow, from
//     any port. Without ports the host's port (5060 when the host names
//     none) is the trunk's, and another port at the host's address is too
//     (carriers often send from other ports than they listen on) unless a
//     phone registered from that address and port, or the INVITE carries
//     credentials for the box's realm: those are phones behind the same
//     NAT as the trunk.
//  2. with trunks[].match_header, it carries that header with that value;
//  3. with trunks[].inbound_auth, it answers the box's challenge with the
//     trunk's credentials (a phone's credentials make it the phone's call).
//
// Everything else is a phone's call: challenged, and routed as a phone.

// trunkCandidate is what identification found for an INVITE.
type trunkCandidate struct {
	trunk site.Trunk
	// auth: the trunk wants its INVITEs challenged (inbound_auth); the
	// credentials decide between the trunk and a phone.
	auth bool
}

// identifyTrunk returns the trunk whose calls req's source and headers
// say it is, or false: then the INVITE is a phone's.
func (s *Server) identifyTrunk(ctx context.Context, st *site.Site, req *sipgosip.Request) (trunkCandidate, bool) {
	if st == nil {
		return trunkCandidate{}, false
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return trunkCandidate{}, false
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	for _, t := range st.Trunks {
		if t.FXO != 0 || t.Host == "" {
			continue
		}
		if !s.fromTrunkSource(ctx, t, src, req) {
			continue
		}
		if m := t.MatchHeader; m != nil && !headerMatches(req, m.Name, m.Value) {
			continue
		}
		return trunkCandidate{trunk: t, auth: t.InboundAuth != nil}, true
	}
	return trunkCandidate{}, false
}

// fromTrunkSource applies rule 1 above.
func (s *Server) fromTrunkSource(ctx context.Context, t site.Trunk, src netip.AddrPort, req *sipgosip.Request) bool {
	for _, a := range t.Allow {
		if p, err := site.ParseAllow(a); err == nil && p.Contains(src.Addr()) {
			return true
		}
	}
	if !slices.Contains(s.trunks.resolve(ctx, t.Host), src.Addr()) {
		return false
	}
	if len(t.Ports) > 0 {
		return slices.Contains(t.Ports, int(src.Port()))
	}
	if _, port := trunkHostPort(t.Host); int(src.Port()) == port {
		return true
	}
	if s.reg.registeredFrom(src) {
		return false
	}
	if t.InboundAuth == nil && hasCredentials(req, s.cfg.Realm) {
		return false
	}
	return true
}

// registeredFrom says whether a live binding's REGISTER came from src.
// Sources are compared as the transport wrote them (Registration.Source
// is the REGISTER's req.Source(), the same form as an INVITE's from the
// same socket): parsing every binding's would cost microseconds per INVITE.
func (r *registrar) registeredFrom(src netip.AddrPort) bool {
	want := src.String()
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, bs := range r.bindings {
		for _, b := range bs {
			if b.Source == want && b.Expires.After(now) {
				return true
			}
		}
	}
	return false
}

// hasCredentials says whether req answers a challenge of realm: only
// phones do that without being asked, since the box never challenges a
// trunk without inbound_auth.
func hasCredentials(req *sipgosip.Request, realm string) bool {
	for _, h := range req.GetHeaders("Proxy-Authorization") {
		if c, err := digest.ParseCredentials(h.Value()); err == nil && c.Realm == realm {
			return true
		}
	}
	return false
}

// headerMatches says whether req carries the header name (any case, and
// its compact form is not accepted: CheckHeaderName refuses those) with
// value, spaces around it aside. A header repeated or folded into a
// comma-separated list matches when one of its values does.
func headerMatches(req *sipgosip.Request, name, value string) bool {
	want := strings.TrimSpace(value)
	if name == "" || want == "" {
		return false
	}
	for _, h := range req.GetHeaders(name) {
		if headerValueHas(h.Value(), want) {
			return true
		}
	}
	return false
}

// headerValueHas says whether raw, a header's value as received, is want
// or a comma-separated list that holds want.
func headerValueHas(raw, want string) bool {
	if strings.TrimSpace(raw) == want {
		return true
	}
	if !strings.Contains(raw, ",") || strings.Contains(want, ",") {
		return false
	}
	for v := range strings.SplitSeq(raw, ",") {
		if strings.TrimSpace(v) == want {
			return true
		}
	}
	return false
}

// trunkLookup is the account lookup of a challenged INVITE from trunk t's
// source: t's inbound_auth username is the trunk, any other an extension.
func (s *Server) trunkLookup(t site.Trunk) func(string) (Account, bool) {
	return func(user string) (Account, bool) {
		a := t.InboundAuth
		if a == nil || user != a.Username {
			return s.cfg.Lookup(user)
		}
		if a.Password == "" {
			// Stored without a secret: nothing can answer the challenge.
			return Account{}, false
		}
		return Account{
			Trunk:     t.ID,
			HA1MD5:    digest.HA1(digest.MD5, a.Username, s.cfg.Realm, a.Password),
			HA1SHA256: digest.HA1(digest.SHA256, a.Username, s.cfg.Realm, a.Password),
		}, true
	}
}

// ---- inbound caps ----

// Reasons an INVITE is refused for a cap, as the log and /metrics name them.
const (
	CapTrunkSetup  = "trunk_setup"
	CapTrunkCalls  = "trunk_calls"
	CapSourceSetup = "source_setup"
	CapSourceCalls = "source_calls"
)

// InboundStats counts what the inbound caps and the ACK wait did since
// start, for /metrics.
type InboundStats struct {
	// Refused counts INVITEs refused (503) per cap (Cap* constants).
	Refused map[string]uint64
	// AckTimeouts counts answered calls ended because their ACK did not
	// come within 64*T1.
	AckTimeouts uint64
}

// inboundCaps counts the inbound calls in set-up and in progress per
// trunk and per source address.
type inboundCaps struct {
	mu     sync.Mutex // protects counts
	counts map[string]*capCount

	refused     [4]atomic.Uint64 // by capIndex
	ackTimeouts atomic.Uint64
}

type capCount struct{ setup, calls int }

var capNames = [...]string{CapTrunkSetup, CapTrunkCalls, CapSourceSetup, CapSourceCalls}

func newInboundCaps() *inboundCaps { return &inboundCaps{counts: make(map[string]*capCount)} }

// capHold is one admitted call's place in the counts. endSetup and end
// may each be called any number of times, from any goroutine.
type capHold struct {
	c        *inboundCaps
	key      string
	setupEnd atomic.Bool
	ended    atomic.Bool
}

// admit takes a place for a new call under key (a trunk's or a source's)
// unless that would pass setupCap calls in set-up or callsCap in
// progress; then it returns the cap passed (index into capNames) and why.
// trunk says which pair of caps these are.
func (c *inboundCaps) admit(key string, trunk bool, setupCap, callsCap int) (*capHold, string, string) {
	setupName, callsName := CapSourceSetup, CapSourceCalls
	si, ci := 2, 3
	if trunk {
		setupName, callsName = CapTrunkSetup, CapTrunkCalls
		si, ci = 0, 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counts[key]
	if n == nil {
		n = &capCount{}
	}
	switch {
	case n.calls >= callsCap:
		c.refused[ci].Add(1)
		return nil, callsName, fmt.Sprintf("%s has %d calls in progress, the most allowed (%s)", key, n.calls, callsName)
	case n.setup >= setupCap:
		c.refused[si].Add(1)
		return nil, setupName, fmt.Sprintf("%s has %d calls in set-up, the most allowed (%s)", key, n.setup, setupName)
	}
	n.setup++
	n.calls++
	c.counts[key] = n
	return &capHold{c: c, key: key}, "", ""
}

// endSetup: the call is answered and acknowledged, or over.
func (h *capHold) endSetup() {
	if h == nil || !h.setupEnd.CompareAndSwap(false, true) {
		return
	}
	h.c.mu.Lock()
	if n := h.c.counts[h.key]; n != nil {
		n.setup--
	}
	h.c.mu.Unlock()
}

// end: the call is over.
func (h *capHold) end() {
	if h == nil || !h.ended.CompareAndSwap(false, true) {
		return
	}
	h.endSetup()
	h.c.mu.Lock()
	if n := h.c.counts[h.key]; n != nil {
		n.calls--
		if n.calls <= 0 && n.setup <= 0 {
			delete(h.c.counts, h.key)
		}
	}
	h.c.mu.Unlock()
}

// usage returns key's calls in set-up and in progress.
func (c *inboundCaps) usage(key string) (setup, calls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.counts[key]; n != nil {
		return n.setup, n.calls
	}
	return 0, 0
}

// admitInbound takes a place for a new inbound call: under its trunk's
// caps when trunk is set, else under its source address's. A refusal has
// been answered (503 with Retry-After, logged with the reason) when it
// returns false.
func (s *Server) admitInbound(tx sipgosip.ServerTransaction, req *sipgosip.Request, st *site.Site, trunk *site.Trunk) (*capHold, bool) {
	var key string
	var setupCap, callsCap int
	if trunk != nil {
		key = "trunk " + trunk.ID
		setupCap, callsCap = trunk.InboundCaps()
	} else {
		key = "source " + sourceAddr(req).String()
		sys := site.System{}
		if st != nil {
			sys = st.System
		}
		setupCap, callsCap = sys.SourceCaps()
	}
	h, _, why := s.caps.admit(key, trunk != nil, setupCap, callsCap)
	if h == nil {
		s.refuse(tx, req, 503, "Service Unavailable", why, s.busyRetry())
		return nil, false
	}
	return h, true
}

// InboundStats reports the inbound caps' refusals and the ACK timeouts.
func (s *Server) InboundStats() InboundStats {
	out := InboundStats{Refused: make(map[string]uint64, len(capNames)), AckTimeouts: s.caps.ackTimeouts.Load()}
	for i, n := range capNames {
		out.Refused[n] = s.caps.refused[i].Load()
	}
	return out
}
