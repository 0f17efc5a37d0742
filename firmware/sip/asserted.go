package sip

import (
	"strings"

	sipgosip "github.com/emiago/sipgo/sip"
)

// assertedUser is the user part of a P-Asserted-Identity header value
// (RFC 3325: a name-addr or addr-spec with a sip:, sips: or tel: URI,
// possibly two comma-separated identities, the first taken); "" when the
// header is absent or unreadable.
func assertedUser(h sipgosip.Header) string {
	if h == nil {
		return ""
	}
	return parseAssertedUser(h.Value())
}

func parseAssertedUser(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return ""
		}
		v = v[i+1 : i+j]
	} else if i := strings.IndexAny(v, ",;"); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if strings.HasPrefix(lower, scheme) {
			v = v[len(scheme):]
			if i := strings.IndexAny(v, "@;?>"); i >= 0 {
				v = v[:i]
			}
			if len(v) > 64 || strings.ContainsAny(v, " \t\r\n\"<") {
				return ""
			}
			return v
		}
	}
	return ""
}
