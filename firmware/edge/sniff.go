package edge

import "bytes"

// Method is a SIP request method the filter rate-limits, read from the
// first bytes of a message without parsing it.
type Method uint8

// The rate-limited methods; MethodOther is every other request and every
// response, which the filter does not rate-limit.
const (
	MethodOther Method = iota
	MethodRegister
	MethodInvite
	MethodOptions
	MethodSubscribe
	numMethods
)

func (m Method) String() string {
	switch m {
	case MethodRegister:
		return "REGISTER"
	case MethodInvite:
		return "INVITE"
	case MethodOptions:
		return "OPTIONS"
	case MethodSubscribe:
		return "SUBSCRIBE"
	}
	return "other"
}

// SniffMethod reads the method of a request from the start of msg: the
// first token, which must be followed by a space. SIP methods are
// case-sensitive (RFC 3261 §7.1), so "invite" is not INVITE.
func SniffMethod(msg []byte) Method {
	i := bytes.IndexByte(msg[:min(len(msg), 12)], ' ')
	if i < 0 {
		return MethodOther
	}
	switch string(msg[:i]) { // no allocation: the compiler compares in place
	case "REGISTER":
		return MethodRegister
	case "INVITE":
		return MethodInvite
	case "OPTIONS":
		return MethodOptions
	case "SUBSCRIBE":
		return MethodSubscribe
	}
	return MethodOther
}

// headerValue finds the first header named name (lower case, with its
// colon, e.g. "user-agent:") at the start of a line of msg, compared
// case-insensitively, and returns its value up to the end of the line.
// Only the message's head is searched: a body line that looks like a
// header is not one.
func headerValue(msg []byte, name string) ([]byte, bool) {
	for i := 0; i < len(msg); {
		nl := bytes.IndexByte(msg[i:], '\n')
		if nl < 0 {
			return nil, false
		}
		line := msg[i+nl+1:]
		i += nl + 1
		if len(line) > 0 && (line[0] == '\r' || line[0] == '\n') {
			return nil, false // the blank line: end of the head
		}
		if len(line) < len(name) || !equalFoldASCII(line[:len(name)], name) {
			continue
		}
		v := line[len(name):]
		if e := bytes.IndexByte(v, '\n'); e >= 0 {
			v = v[:e]
		}
		return bytes.TrimSpace(v), true
	}
	return nil, false
}

// equalFoldASCII compares b with lower, which is lower-case ASCII.
func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether s contains sub (lower-case ASCII),
// ignoring case.
func containsFoldASCII(s []byte, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if equalFoldASCII(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// DefaultScanners are the User-Agent fragments of SIP scanners and
// password crackers (sipvicious and its descendants, sipcli, SIPScan and
// the tools that copy their agents); a request that carries one is
// dropped without an answer.
var DefaultScanners = []string{
	"friendly-scanner", "sipvicious", "sipcli", "vaxsipuseragent", "pplsip",
	"sundayddr", "iwar", "sipscan", "sip-scan", "sipsak", "smap", "cafesip",
	"voip-scanner", "fabricator",
}

// ScannerAgent reports whether msg's User-Agent contains one of agents
// (lower case), ignoring case. The value is lowered once into a buffer on
// the stack; only its first 256 bytes are looked at.
func ScannerAgent(msg []byte, agents []string) bool {
	ua, ok := headerValue(msg, "user-agent:")
	if !ok || len(ua) == 0 {
		return false
	}
	var buf [256]byte
	low := buf[:min(len(ua), len(buf))]
	for i := range low {
		c := ua[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	for _, a := range agents {
		if bytes.Contains(low, []byte(a)) {
			return true
		}
	}
	return false
}

// AuthUser is the username of msg's Authorization or
// Proxy-Authorization header, "" when it has none.
func AuthUser(msg []byte) string {
	v, ok := headerValue(msg, "authorization:")
	if !ok {
		if v, ok = headerValue(msg, "proxy-authorization:"); !ok {
			return ""
		}
	}
	for len(v) > 0 {
		i := indexFold(v, "username")
		if i < 0 {
			return ""
		}
		rest := bytes.TrimLeft(v[i+len("username"):], " \t")
		if len(rest) == 0 || rest[0] != '=' {
			v = v[i+len("username"):]
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t")
		if len(rest) > 0 && rest[0] == '"' {
			rest = rest[1:]
			if e := bytes.IndexByte(rest, '"'); e >= 0 {
				return string(rest[:e])
			}
			return ""
		}
		if e := bytes.IndexAny(rest, ", \t\r"); e >= 0 {
			rest = rest[:e]
		}
		return string(rest)
	}
	return ""
}

func indexFold(s []byte, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
