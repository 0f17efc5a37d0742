package sip

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

// authenticate checks the request's digest credentials. On success it
// returns the account; otherwise it has already answered (401/407 with a
// challenge, or 403) and returns false. proxy selects 407 and the
// Proxy-* headers (INVITE) instead of 401 (REGISTER).
func (s *Server) authenticate(req *sipgosip.Request, tx sipgosip.ServerTransaction, proxy bool) (Account, bool) {
	return s.authenticateWith(req, tx, proxy, s.cfg.Lookup)
}

// authenticateWith is authenticate with the accounts of lookup (an INVITE
// from a trunk with inbound_auth also knows the trunk's, trunkid.go).
func (s *Server) authenticateWith(req *sipgosip.Request, tx sipgosip.ServerTransaction, proxy bool, lookup func(string) (Account, bool)) (Account, bool) {
	credHdr, chalHdr, code, reason := "Authorization", "WWW-Authenticate", 401, "Unauthorized"
	if proxy {
		credHdr, chalHdr, code, reason = "Proxy-Authorization", "Proxy-Authenticate", 407, "Proxy Authentication Required"
	}
	src := sourceAddr(req)
	offered := s.algorithms()
	challenge := func(stale bool) {
		nonce := s.nonces.New(src)
		res := s.newResponse(req, code, reason, nil)
		// RFC 8760 §2.4: one challenge per algorithm, preferred first.
		for _, alg := range offered {
			res.AppendHeader(sipgosip.NewHeader(chalHdr, digest.Challenge(s.cfg.Realm, nonce, alg, stale)))
		}
		if err := tx.Respond(res); err != nil {
			s.log.Debug("challenge respond", "error", err)
		}
	}

	var creds digest.Credentials
	found := false
	var parseErr error
	for _, h := range req.GetHeaders(credHdr) {
		c, err := digest.ParseCredentials(h.Value())
		if err != nil {
			parseErr = err
			continue
		}
		if c.Realm == s.cfg.Realm {
			creds, found = c, true
			break
		}
	}
	if !found {
		// No credentials at all is the first half of every login, not a
		// failure; credentials the box cannot read are.
		if parseErr != nil {
			s.countAuthFailure(src)
			why := digest.ReasonMalformed
			if errors.Is(parseErr, digest.ErrAlgorithm) {
				why = digest.ReasonUnknownAlg
			}
			s.authFailed(req, why, "")
		}
		challenge(false)
		return Account{}, false
	}

	acct, known := lookup(creds.Username)
	ha1 := func(alg string) string {
		if !known {
			return ""
		}
		if alg == digest.SHA256 {
			return acct.HA1SHA256
		}
		return acct.HA1MD5
	}
	// The digest-uri is the Request-URI as the phone wrote it (compared
	// parsed, so that parameter spelling does not matter), or the box's
	// own address.
	reqURI := req.Recipient.String()
	var du sipgosip.Uri
	if err := sipgosip.ParseUri(creds.URI, &du); (err == nil && du.String() == reqURI) || s.isBoxURI(creds.URI) {
		reqURI = creds.URI
	}
	r := digest.Request{Method: req.Method.String(), URI: reqURI, Src: src, Offered: offered}
	res, why := s.nonces.Verify(creds, s.cfg.Realm, r, ha1)
	switch res {
	case digest.OK:
		if acct.Extension == "" && acct.Trunk == "" {
			acct.Extension = creds.Username
		}
		if p := s.cfg.Edge.Permitted; p != nil && !p(acct.Extension, src) {
			// Off the extension's allow list: the right password, but the
			// same 403 as a wrong one, and counted like one.
			s.countAuthFailure(src)
			s.authResult(src, creds.Username, false)
			s.authFailed(req, reasonNotAllowed, creds.Username)
			s.respond(tx, req, 403, "Forbidden")
			return Account{}, false
		}
		s.authResult(src, acct.Extension, true)
		return acct, true
	case digest.Stale:
		s.authFailed(req, why, creds.Username)
		challenge(true)
	case digest.Wrong:
		// Unknown user and wrong password: the same 403, so extensions
		// cannot be enumerated; only the log tells them apart.
		s.countAuthFailure(src)
		s.authResult(src, creds.Username, false)
		s.authFailed(req, why, creds.Username)
		s.respond(tx, req, 403, "Forbidden")
	default:
		s.countAuthFailure(src)
		s.authFailed(req, why, creds.Username)
		challenge(false)
	}
	return Account{}, false
}

// algorithms are the digest challenges to offer now: Config.Algorithms
// when set (the --sip-digest flag), else the site's system.sip_digest,
// else MD5 alone. Reading the site at each challenge makes a changed
// setting apply at once.
func (s *Server) algorithms() []string {
	if len(s.cfg.Algorithms) > 0 {
		return s.cfg.Algorithms
	}
	st := s.cfg.Site()
	if st == nil || len(st.System.SIPDigest) == 0 {
		return defaultAlgorithms
	}
	// The parsed list is kept per snapshot: a site is never mutated.
	if c := s.algCache.Load(); c != nil && c.site == st {
		return c.algs
	}
	algs := st.System.Digest()
	s.algCache.Store(&algCache{site: st, algs: algs})
	return algs
}

// defaultAlgorithms is MD5 alone: every phone speaks it, and phones that
// read only the first challenge (SIPp 3.6, many desk phones) or give up on
// any other algorithm (baresip 1.x) register.
var defaultAlgorithms = []string{digest.MD5}

type algCache struct {
	site *site.Site
	algs []string
}

// isBoxURI reports whether a digest-uri names the box itself: sip:HOST:PORT
// with no user, HOST one of the box's addresses and PORT its SIP port. SIPp
// signs that by default instead of the Request-URI. The answer still
// covers the method and a nonce bound to the sender's address and counted,
// so accepting it lets no captured answer be used for anything else.
func (s *Server) isBoxURI(raw string) bool {
	var u sipgosip.Uri
	if err := sipgosip.ParseUri(strings.Trim(strings.TrimSpace(raw), "<>"), &u); err != nil {
		return false
	}
	defPort := 5060
	switch strings.ToLower(u.Scheme) {
	case "sip":
	case "sips":
		defPort = 5061
	default:
		return false
	}
	if u.User != "" || u.Password != "" || u.Wildcard {
		return false
	}
	port := u.Port
	if port == 0 {
		port = defPort
	}
	if port != s.port {
		return false
	}
	host := strings.Trim(u.Host, "[]")
	if strings.EqualFold(host, s.host) {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	if s.ip.IsValid() {
		return a == s.ip
	}
	return s.localAddrs.has(a)
}

// localAddrs are the addresses of the machine's interfaces, for a box that
// listens on all of them: any of them is the box. The list is read again
// at most every localAddrsTTL, so an address that DHCP changes is known
// soon, and a flood of requests cannot make the box list its interfaces
// each time.
type localAddrs struct {
	mu    sync.Mutex // protects following
	at    time.Time
	addrs map[netip.Addr]bool
}

const localAddrsTTL = 10 * time.Second

func (l *localAddrs) has(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); l.addrs == nil || now.Sub(l.at) > localAddrsTTL {
		l.at = now
		l.addrs = make(map[netip.Addr]bool)
		ifAddrs, _ := net.InterfaceAddrs()
		for _, ia := range ifAddrs {
			if n, ok := ia.(*net.IPNet); ok {
				if x, ok := netip.AddrFromSlice(n.IP); ok {
					l.addrs[x.Unmap()] = true
				}
			}
		}
	}
	return l.addrs[a]
}
