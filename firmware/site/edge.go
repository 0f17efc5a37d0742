package site

import (
	"net/netip"
	"time"
)

// The SIP edge's fields (issue 15, docs/security.md): extensions[].allow,
// system.sip_user_agent and the ban policy (sip_ban_*, sip_trusted).

// AllowPrefixes is the extension's allow list parsed; entries that do
// not parse (validation refuses them) are left out.
func (e *Extension) AllowPrefixes() []netip.Prefix {
	if len(e.Allow) == 0 {
		return nil
	}
	out := make([]netip.Prefix, 0, len(e.Allow))
	for _, s := range e.Allow {
		if p, err := ParseAllow(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// DefaultSIPUserAgent is the User-Agent and Server header without
// system.sip_user_agent: the product, not its version, which would tell a
// scanner which flaws to try.
const DefaultSIPUserAgent = "Ringbox"

// UserAgent is the SIP User-Agent and Server header to send.
func (s System) UserAgent() string {
	if s.SIPUserAgent == "" {
		return DefaultSIPUserAgent
	}
	return s.SIPUserAgent
}

const maxUserAgent = 64

func (v *validator) edge() {
	for i, e := range v.s.Extensions {
		for j, a := range e.Allow {
			if p, err := ParseAllow(a); err != nil {
				v.add(indexPath(fieldPath(indexPath("extensions", i), "allow"), j), "allow entry %q is not a network (CIDR, e.g. 192.168.1.0/24) or an address", a)
			} else if p.Bits() == 0 {
				v.add(indexPath(fieldPath(indexPath("extensions", i), "allow"), j), "allow entry %q allows every address; leave allow out instead", a)
			}
		}
	}
	v.sipBan()
	ua := v.s.System.SIPUserAgent
	if len(ua) > maxUserAgent {
		v.add("system.sip_user_agent", "sip_user_agent is %d characters; at most %d", len(ua), maxUserAgent)
	}
	for _, c := range ua {
		if c < 0x20 || c > 0x7e {
			v.add("system.sip_user_agent", "sip_user_agent %q: printable ASCII only", ua)
			break
		}
	}
}

// Bounds of the ban policy: fewer than 2 failures would ban a phone for
// one mistyped password; a ban longer than a week is what the doubling
// for repeats is for.
const (
	minBanFailures, maxBanFailures = 2, 100
	minBanWindow, maxBanWindow     = time.Minute, 24 * time.Hour
	minBanTime, maxBanTime         = time.Minute, 7 * 24 * time.Hour
)

// TrustedPrefixes is system.sip_trusted parsed; entries that do not
// parse (validation refuses them) are left out.
func (s System) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, t := range s.SIPTrusted {
		if p, err := ParseAllow(t); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Bounds of system.media_timeout: shorter would end calls in a long
// silence of a phone that stops sending RTP while muted; longer keeps a
// dead call's ports and channel an hour.
const minMediaTimeout, maxMediaTimeout = 10 * time.Second, time.Hour

func (v *validator) sipBan() {
	if d := v.s.System.MediaTimeout; d != 0 && (d.D() < minMediaTimeout || d.D() > maxMediaTimeout) {
		v.add("system.media_timeout", "media_timeout %s: between %s and %s (default 60s)", d, Duration(minMediaTimeout), Duration(maxMediaTimeout))
	}
	sys := v.s.System
	if n := sys.SIPBanFailures; n != 0 && (n < minBanFailures || n > maxBanFailures) {
		v.add("system.sip_ban_failures", "sip_ban_failures %d: between %d and %d failed authentications (default 5)", n, minBanFailures, maxBanFailures)
	}
	between := func(path string, d Duration, lo, hi time.Duration, def string) {
		if d != 0 && (d.D() < lo || d.D() > hi) {
			v.add(path, "%s %s: between %s and %s (default %s)", path[len("system."):], d, Duration(lo), Duration(hi), def)
		}
	}
	between("system.sip_ban_window", sys.SIPBanWindow, minBanWindow, maxBanWindow, "10m")
	between("system.sip_ban_time", sys.SIPBanTime, minBanTime, maxBanTime, "1h")
	for i, t := range sys.SIPTrusted {
		path := indexPath("system.sip_trusted", i)
		if p, err := ParseAllow(t); err != nil {
			v.add(path, "sip_trusted entry %q is not a network (CIDR, e.g. 192.168.1.0/24) or an address", t)
		} else if p.Bits() == 0 {
			v.add(path, "sip_trusted entry %q trusts every address, which turns the bans off for the internet too; name the office's networks", t)
		}
	}
}
