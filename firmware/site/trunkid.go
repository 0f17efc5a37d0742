package site

import (
	"fmt"
	"net/netip"
	"strings"
)

// Trunk identification and inbound caps (issue 15 part 4): how the box
// tells a trunk's calls from a phone's at the same address, and how many
// calls one trunk or one source may have in set-up and in progress. The
// rule is written down in docs/security.md ("Trunks").

// HeaderMatch is a header a trunk's INVITEs carry: the header named Name
// (compared without regard to case) with the value Value (compared exactly,
// leading and trailing spaces aside).
type HeaderMatch struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// InboundAuth are the credentials a trunk answers the box's digest
// challenge with. Password is a secret: exported only with --with-secrets.
type InboundAuth struct {
	Username string `yaml:"username"`
	Password string `yaml:"password,omitempty"`
}

// Default inbound caps. A trunk's calls count against the trunk's caps,
// other calls against their source address's.
const (
	DefaultMaxInboundSetup   = 30
	DefaultMaxInboundCalls   = 200
	DefaultMaxSetupPerSource = 10
	DefaultMaxCallsPerSource = 50
)

// InboundCaps are the trunk's caps on inbound calls in set-up and in
// progress, defaults applied.
func (t *Trunk) InboundCaps() (setup, calls int) {
	return orInt(t.MaxInboundSetup, DefaultMaxInboundSetup), orInt(t.MaxInboundCalls, DefaultMaxInboundCalls)
}

// SourceCaps are the caps on inbound calls in set-up and in progress from
// one source address that is not a trunk's, defaults applied.
func (s *System) SourceCaps() (setup, calls int) {
	return orInt(s.MaxSetupPerSource, DefaultMaxSetupPerSource), orInt(s.MaxCallsPerSource, DefaultMaxCallsPerSource)
}

// ParseAllow reads one allow-list entry (extensions[].allow, trunks[].allow): a network in CIDR notation
// (203.0.113.0/28) or a single address. The prefix comes back masked and
// unmapped (an IPv4-mapped IPv6 address is its IPv4 address).
func ParseAllow(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad network %q: write an address or a CIDR network like 203.0.113.0/28", s)
		}
		a := p.Addr()
		bits := p.Bits()
		if a.Is4In6() {
			if bits < 96 {
				return netip.Prefix{}, fmt.Errorf("bad network %q: an IPv4-mapped network needs at least 96 bits", s)
			}
			a, bits = a.Unmap(), bits-96
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q: write an address or a CIDR network like 203.0.113.0/28", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad address %q: no zone (%%%s) in an allow entry", s, a.Zone())
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// CheckHeaderName says why name cannot be a match_header name, or nil: it
// must be a SIP header name (an RFC 3261 token), and not one of the headers
// every request carries or the box itself reads to route and authenticate.
func CheckHeaderName(name string) error {
	if name == "" {
		return fmt.Errorf("the header name is empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("header name %.20q... is longer than 64 characters", name)
	}
	for _, r := range name {
		if !isTokenChar(r) {
			return fmt.Errorf("header name %q has %q: a header name is letters, digits and -.!%%*_+`'~", name, r)
		}
	}
	switch strings.ToLower(name) {
	case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m", "max-forwards",
		"content-length", "l", "content-type", "c", "authorization", "proxy-authorization", "route", "record-route":
		return fmt.Errorf("header %q cannot tell a trunk from a phone: every request carries it, or the box reads it itself (use a header of the carrier's, like X-Carrier-Id)", name)
	}
	return nil
}

// CheckHeaderValue says why v cannot be a match_header value, or nil.
func CheckHeaderValue(v string) error {
	t := strings.TrimSpace(v)
	switch {
	case t == "":
		return fmt.Errorf("the header value is empty")
	case len(t) > 256:
		return fmt.Errorf("header value is longer than 256 characters")
	case t != v:
		return fmt.Errorf("header value %q starts or ends with spaces, which a header never keeps", v)
	}
	for _, r := range t {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("header value %q has a control character", v)
		}
	}
	return nil
}

func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("-.!%*_+`'~", r)
}

func (v *validator) trunkIdentification() {
	ext := map[string]bool{}
	for _, e := range v.s.Extensions {
		ext[e.Number] = true
	}
	users := map[string]string{}
	for i, t := range v.s.Trunks {
		p := indexPath("trunks", i)
		sipOnly := func(field string) {
			if t.FXO != 0 {
				v.add(fieldPath(p, field), "%s applies to SIP trunks only; trunk %q is an analog (fxo) line", field, t.ID)
			}
		}
		if len(t.Ports) > 0 {
			sipOnly("ports")
			seen := map[int]bool{}
			for j, port := range t.Ports {
				pp := indexPath(fieldPath(p, "ports"), j)
				switch {
				case port < 1 || port > 65535:
					v.add(pp, "bad port %d: ports are 1 to 65535", port)
				case seen[port]:
					v.add(pp, "port %d is listed twice", port)
				}
				seen[port] = true
			}
		}
		if len(t.Allow) > 0 {
			sipOnly("allow")
			for j, a := range t.Allow {
				if _, err := ParseAllow(a); err != nil {
					v.add(indexPath(fieldPath(p, "allow"), j), "%v", err)
				}
			}
		}
		if m := t.MatchHeader; m != nil {
			sipOnly("match_header")
			if err := CheckHeaderName(m.Name); err != nil {
				v.add(fieldPath(fieldPath(p, "match_header"), "name"), "%v", err)
			}
			if err := CheckHeaderValue(m.Value); err != nil {
				v.add(fieldPath(fieldPath(p, "match_header"), "value"), "%v", err)
			}
		}
		if a := t.InboundAuth; a != nil {
			sipOnly("inbound_auth")
			ap := fieldPath(p, "inbound_auth")
			switch {
			case a.Username == "":
				v.add(fieldPath(ap, "username"), "inbound_auth needs the username the trunk answers the box's challenge with")
			case strings.ContainsAny(a.Username, "\":\\ \t\r\n@"):
				v.add(fieldPath(ap, "username"), "username %q has a space or one of \" : \\ @", a.Username)
			case ext[a.Username]:
				v.add(fieldPath(ap, "username"), "username %q is an extension's number: the box could not tell the trunk's answer from the phone's", a.Username)
			default:
				if other, dup := users[a.Username]; dup {
					v.add(fieldPath(ap, "username"), "username %q is already trunk %q's", a.Username, other)
				}
				users[a.Username] = t.ID
			}
			if a.Password != "" && len(a.Password) < 8 {
				v.add(fieldPath(ap, "password"), "the password is shorter than 8 characters")
			}
		}
		if t.MaxInboundSetup < 0 {
			v.add(fieldPath(p, "max_inbound_setup"), "max_inbound_setup must be 0 (the default, %d) or more, not %d", DefaultMaxInboundSetup, t.MaxInboundSetup)
		}
		if t.MaxInboundCalls < 0 {
			v.add(fieldPath(p, "max_inbound_calls"), "max_inbound_calls must be 0 (the default, %d) or more, not %d", DefaultMaxInboundCalls, t.MaxInboundCalls)
		}
		if s, c := t.InboundCaps(); t.MaxInboundSetup > 0 && s > c {
			v.add(fieldPath(p, "max_inbound_setup"), "max_inbound_setup %d is above max_inbound_calls %d: calls in set-up count as calls in progress too", s, c)
		}
	}
	if n := v.s.System.MaxSetupPerSource; n < 0 {
		v.add("system.max_setup_per_source", "max_setup_per_source must be 0 (the default, %d) or more, not %d", DefaultMaxSetupPerSource, n)
	}
	if n := v.s.System.MaxCallsPerSource; n < 0 {
		v.add("system.max_calls_per_source", "max_calls_per_source must be 0 (the default, %d) or more, not %d", DefaultMaxCallsPerSource, n)
	}
}
