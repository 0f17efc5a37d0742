// Package digest is the server side of SIP digest authentication (RFC 3261
// §22, RFC 7616, RFC 8760): parsing Authorization headers, computing
// responses from a stored HA1, and issuing stateless nonces.
//
// # Nonces
//
// A nonce is base64url(timestamp || HMAC-SHA256(key, timestamp || source IP)),
// with a random key per process. The box keeps no state per challenge: a
// nonce proves by itself that the box issued it to that address, and when.
// A correctly signed nonce older than the lifetime is stale (the client
// retries with the new nonce without asking the user). With qop=auth each
// nonce's highest nonce-count is remembered in a bounded table so a
// captured request cannot be replayed.
package digest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Algorithms the box offers, strongest first.
const (
	MD5    = "MD5"
	SHA256 = "SHA-256"
)

// ErrMalformed is returned for an Authorization header that cannot be parsed.
var ErrMalformed = errors.New("digest: malformed credentials")

// ErrAlgorithm is returned (with ErrMalformed) for credentials naming an
// algorithm the box does not implement, so the log can say which.
var ErrAlgorithm = errors.New("algorithm not supported")

func newHash(alg string) (hash.Hash, bool) {
	switch strings.ToUpper(alg) {
	case "", MD5:
		return md5.New(), true
	case SHA256:
		return sha256.New(), true
	}
	return nil, false
}

func hexHash(alg string, parts ...string) string {
	h, ok := newHash(alg)
	if !ok {
		return ""
	}
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HA1 is H(username:realm:password), what the box stores instead of the
// password. alg is MD5 or SHA-256.
func HA1(alg, username, realm, password string) string {
	return hexHash(alg, username, realm, password)
}

// Response computes the request-digest of RFC 7616 §3.4.1 from a stored
// HA1. With qop "auth" nc and cnonce are used; with qop "" the RFC 2069
// form H(HA1:nonce:HA2) is returned.
func Response(alg, ha1, method, uri, nonce, nc, cnonce, qop string) string {
	ha2 := hexHash(alg, method, uri)
	if qop == "" {
		return hexHash(alg, ha1, nonce, ha2)
	}
	return hexHash(alg, ha1, nonce, nc, cnonce, qop, ha2)
}

// Credentials is a parsed Authorization or Proxy-Authorization header.
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string // upper case; "" means MD5
	Cnonce    string
	Opaque    string
	QOP       string
	NC        string // 8 hex digits
}

// ParseCredentials parses `Digest k=v, k="v", ...`. Unknown parameters are
// ignored; duplicated ones, unterminated quotes and a missing username,
// nonce, uri or response are errors.
func ParseCredentials(h string) (Credentials, error) {
	var c Credentials
	h = strings.TrimSpace(h)
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("%w: scheme is not Digest", ErrMalformed)
	}
	seen := make(map[string]bool, 10)
	s := rest
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return c, fmt.Errorf("%w: parameter without value", ErrMalformed)
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			closed := false
			for ; i < len(s); i++ {
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if ch == '"' {
					closed = true
					break
				}
				b.WriteByte(ch)
			}
			if !closed {
				return c, fmt.Errorf("%w: unterminated quote in %s", ErrMalformed, key)
			}
			val = b.String()
			s = s[i+1:]
		} else {
			end := strings.IndexAny(s, ", \t")
			if end < 0 {
				end = len(s)
			}
			val = s[:end]
			s = s[end:]
		}
		if seen[key] {
			return c, fmt.Errorf("%w: %s given twice", ErrMalformed, key)
		}
		seen[key] = true
		switch key {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = strings.ToLower(val)
		case "algorithm":
			c.Algorithm = strings.ToUpper(val)
		case "cnonce":
			c.Cnonce = val
		case "opaque":
			c.Opaque = val
		case "qop":
			c.QOP = strings.ToLower(val)
		case "nc":
			c.NC = strings.ToLower(val)
		}
	}
	if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
		return c, fmt.Errorf("%w: username, nonce, uri and response are required", ErrMalformed)
	}
	if c.QOP != "" {
		if c.QOP != "auth" {
			return c, fmt.Errorf("%w: qop %q not offered", ErrMalformed, c.QOP)
		}
		if c.Cnonce == "" || len(c.NC) != 8 {
			return c, fmt.Errorf("%w: qop=auth needs cnonce and an 8-digit nc", ErrMalformed)
		}
		if _, err := strconv.ParseUint(c.NC, 16, 32); err != nil {
			return c, fmt.Errorf("%w: nc %q is not hex", ErrMalformed, c.NC)
		}
	}
	if _, ok := newHash(c.Algorithm); !ok {
		return c, fmt.Errorf("%w: %w: %.32q", ErrMalformed, ErrAlgorithm, c.Algorithm)
	}
	return c, nil
}

// Challenge is the value of a WWW-Authenticate or Proxy-Authenticate
// header offering alg with qop=auth.
func Challenge(realm, nonce, alg string, stale bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"`, realm, nonce, alg)
	if stale {
		b.WriteString(", stale=true")
	}
	return b.String()
}

// NonceState is what Nonces.Check says about a nonce.
type NonceState int

const (
	NonceInvalid NonceState = iota // not issued by this process to this address
	NonceStale                     // issued by us, but expired
	NonceValid
)

// Nonces issues and checks stateless nonces and remembers nonce-counts.
type Nonces struct {
	key      [32]byte
	lifetime time.Duration
	maxTrack int
	now      func() time.Time

	// seq makes every nonce unique: two issued to one address at the same
	// clock reading (phones behind one NAT, a coarse clock, synctest)
	// would otherwise be the same nonce, and the second phone's nc=1
	// would look like a replay of the first's.
	seq atomic.Uint32

	mu       sync.Mutex        // protects following
	cur, old map[string]uint32 // highest nc per nonce, two generations
}

// NewNonces returns a nonce issuer with a fresh random key. lifetime 0 means
// 5 minutes; track 0 means 10000 nonces remembered per generation.
func NewNonces(lifetime time.Duration, track int) *Nonces {
	if lifetime <= 0 {
		lifetime = 5 * time.Minute
	}
	if track <= 0 {
		track = 10000
	}
	n := &Nonces{lifetime: lifetime, maxTrack: track, now: time.Now,
		cur: make(map[string]uint32), old: make(map[string]uint32)}
	if _, err := rand.Read(n.key[:]); err != nil {
		panic("digest: no randomness: " + err.Error())
	}
	return n
}

// nonceLen is the decoded length of a nonce: time, sequence, signature.
const nonceLen = 8 + 4 + 18

func (n *Nonces) sign(ts uint64, seq uint32, src netip.Addr) []byte {
	m := hmac.New(sha256.New, n.key[:])
	var b [12]byte
	binary.BigEndian.PutUint64(b[:], ts)
	binary.BigEndian.PutUint32(b[8:], seq)
	m.Write(b[:])
	a := src.Unmap().As16()
	m.Write(a[:])
	return m.Sum(nil)[:18]
}

// New issues a nonce for a client at src.
func (n *Nonces) New(src netip.Addr) string {
	ts := uint64(n.now().UnixNano())
	seq := n.seq.Add(1)
	buf := make([]byte, 12, nonceLen)
	binary.BigEndian.PutUint64(buf, ts)
	binary.BigEndian.PutUint32(buf[8:], seq)
	buf = append(buf, n.sign(ts, seq, src)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Check says whether nonce was issued by this process to src and is fresh.
func (n *Nonces) Check(nonce string, src netip.Addr) NonceState {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceLen {
		return NonceInvalid
	}
	ts := binary.BigEndian.Uint64(raw[:8])
	if !hmac.Equal(raw[12:], n.sign(ts, binary.BigEndian.Uint32(raw[8:12]), src)) {
		return NonceInvalid
	}
	age := n.now().Sub(time.Unix(0, int64(ts)))
	if age < -time.Second {
		return NonceInvalid
	}
	if age > n.lifetime {
		return NonceStale
	}
	return NonceValid
}

// UseCount records nonce-count nc for nonce and reports whether it is
// higher than any count seen before for it. A nonce whose history was
// evicted from the table is refused unless nc is 1, so an eviction can make
// a client re-authenticate but never opens a replay beyond nc 1.
func (n *Nonces) UseCount(nonce string, nc uint32) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	last, ok := n.cur[nonce]
	if !ok {
		last, ok = n.old[nonce]
	}
	if ok && nc <= last {
		return false
	}
	if !ok && nc != 1 {
		return false
	}
	if len(n.cur) >= n.maxTrack {
		n.old, n.cur = n.cur, make(map[string]uint32, n.maxTrack)
	}
	n.cur[nonce] = nc
	return true
}

// Result is the outcome of Verify.
type Result int

const (
	// Rechallenge: no usable credentials; answer with a fresh challenge.
	Rechallenge Result = iota
	// Stale: correct credentials on an expired nonce; challenge with stale=true.
	Stale
	// Wrong: well-formed credentials on a valid nonce that do not match
	// (wrong password or unknown user alike); answer 403.
	Wrong
	// OK: authenticated.
	OK
)

// Reason says why Verify did not return OK. It is for the box's log only:
// the peer sees nothing but the Result, which is the same for an unknown
// user and a wrong password.
type Reason string

// The reasons Verify gives.
const (
	ReasonNone        Reason = ""
	ReasonRealm       Reason = "realm is not the box's"
	ReasonQOP         Reason = "qop is not auth"
	ReasonAlgorithm   Reason = "algorithm not offered"
	ReasonURI         Reason = "digest uri is not the request's"
	ReasonNonce       Reason = "nonce not issued to this address"
	ReasonStale       Reason = "stale nonce"
	ReasonStaleWrong  Reason = "wrong password on a stale nonce"
	ReasonWrong       Reason = "wrong password"
	ReasonUnknownUser Reason = "unknown user"
	ReasonReplay      Reason = "nonce count replayed"
	ReasonMalformed   Reason = "malformed credentials"
	ReasonUnknownAlg  Reason = "unknown algorithm"
)

// Request is what Verify needs to know about the request being checked.
type Request struct {
	Method string
	URI    string // the Request-URI as received
	Src    netip.Addr
	// Offered are the algorithms the box challenges with now; credentials
	// computed with another one are refused (a site that asks for SHA-256
	// only must not take MD5). nil accepts any algorithm the box knows.
	Offered []string
}

// Verify checks credentials c against the account's HA1 for c.Algorithm
// (ha1 "" means unknown user: the answer is then the same as for a wrong
// password, so users cannot be enumerated). The Reason says why it failed.
func (n *Nonces) Verify(c Credentials, realm string, r Request, ha1 func(alg string) string) (Result, Reason) {
	if !strings.EqualFold(c.Realm, realm) {
		return Rechallenge, ReasonRealm
	}
	if c.QOP != "auth" {
		return Rechallenge, ReasonQOP
	}
	alg := c.Algorithm
	if alg == "" {
		alg = MD5
	}
	if r.Offered != nil && !slices.Contains(r.Offered, alg) {
		return Rechallenge, ReasonAlgorithm
	}
	if !uriMatches(c.URI, r.URI) {
		return Rechallenge, ReasonURI
	}
	switch n.Check(c.Nonce, r.Src) {
	case NonceInvalid:
		return Rechallenge, ReasonNonce
	case NonceStale:
		h := ""
		if ha1 != nil {
			h = ha1(c.Algorithm)
		}
		if h != "" && subtle.ConstantTimeCompare([]byte(Response(c.Algorithm, h, r.Method, c.URI, c.Nonce, c.NC, c.Cnonce, c.QOP)), []byte(c.Response)) == 1 {
			return Stale, ReasonStale
		}
		// A wrong answer on an old nonce gets a fresh challenge, like any
		// other unusable credential.
		return Rechallenge, ReasonStaleWrong
	}
	h := ""
	if ha1 != nil {
		h = ha1(c.Algorithm)
	}
	known := h != ""
	if !known {
		// Same work for unknown users as for known ones.
		h = HA1(c.Algorithm, c.Username, realm, "\x00unknown")
	}
	want := Response(c.Algorithm, h, r.Method, c.URI, c.Nonce, c.NC, c.Cnonce, c.QOP)
	match := subtle.ConstantTimeCompare([]byte(want), []byte(c.Response)) == 1
	if !known {
		return Wrong, ReasonUnknownUser
	}
	if !match {
		return Wrong, ReasonWrong
	}
	nc, _ := strconv.ParseUint(c.NC, 16, 32)
	if !n.UseCount(c.Nonce, uint32(nc)) {
		// A replayed count: make the client start over with a new nonce.
		return Rechallenge, ReasonReplay
	}
	return OK, ReasonNone
}

// uriMatches compares the digest-uri with the Request-URI. RFC 3261 §22.4
// only asks for equivalence; the box compares case-insensitively without
// surrounding angle brackets, which is what every phone sends.
func uriMatches(digestURI, reqURI string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Trim(strings.TrimSpace(s), "<>")) }
	return norm(digestURI) == norm(reqURI)
}
