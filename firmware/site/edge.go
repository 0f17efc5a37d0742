package site

import (
	"net/netip"
)

// The SIP edge's fields (issue 15, docs/security.md): extensions[].allow
// and system.sip_user_agent.

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
