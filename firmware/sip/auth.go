package sip

import (
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/sip/digest"
)

// authenticate checks the request's digest credentials. On success it
// returns the account; otherwise it has already answered (401/407 with a
// challenge, or 403) and returns false. proxy selects 407 and the
// Proxy-* headers (INVITE) instead of 401 (REGISTER).
func (s *Server) authenticate(req *sipgosip.Request, tx sipgosip.ServerTransaction, proxy bool) (Account, bool) {
	credHdr, chalHdr, code, reason := "Authorization", "WWW-Authenticate", 401, "Unauthorized"
	if proxy {
		credHdr, chalHdr, code, reason = "Proxy-Authorization", "Proxy-Authenticate", 407, "Proxy Authentication Required"
	}
	src := sourceAddr(req)
	challenge := func(stale bool) {
		nonce := s.nonces.New(src)
		res := s.newResponse(req, code, reason, nil)
		// RFC 8760 §2.4: one challenge per algorithm, preferred first.
		for _, alg := range s.cfg.Algorithms {
			res.AppendHeader(sipgosip.NewHeader(chalHdr, digest.Challenge(s.cfg.Realm, nonce, alg, stale)))
		}
		if err := tx.Respond(res); err != nil {
			s.log.Debug("challenge respond", "error", err)
		}
	}

	var creds digest.Credentials
	found, malformed := false, false
	for _, h := range req.GetHeaders(credHdr) {
		c, err := digest.ParseCredentials(h.Value())
		if err != nil {
			malformed = true
			continue
		}
		if c.Realm == s.cfg.Realm {
			creds, found = c, true
			break
		}
	}
	if !found {
		if malformed {
			s.countAuthFailure(src)
		}
		challenge(false)
		return Account{}, false
	}

	acct, known := s.cfg.Lookup(creds.Username)
	ha1 := func(alg string) string {
		if !known {
			return ""
		}
		if alg == digest.SHA256 {
			return acct.HA1SHA256
		}
		return acct.HA1MD5
	}
	// Phones quote the Request-URI as they wrote it; compare it parsed so
	// that parameter spelling does not matter.
	reqURI := req.Recipient.String()
	var du sipgosip.Uri
	if err := sipgosip.ParseUri(creds.URI, &du); err == nil && du.String() == reqURI {
		reqURI = creds.URI
	}
	r := digest.Request{Method: req.Method.String(), URI: reqURI, Src: src}
	switch s.nonces.Verify(creds, s.cfg.Realm, r, ha1) {
	case digest.OK:
		if acct.Extension == "" {
			acct.Extension = creds.Username
		}
		return acct, true
	case digest.Stale:
		challenge(true)
	case digest.Wrong:
		s.countAuthFailure(src)
		s.log.Info("sip auth failed", "user", creds.Username, "src", src, "method", req.Method)
		s.respond(tx, req, 403, "Forbidden")
	default:
		s.countAuthFailure(src)
		challenge(false)
	}
	return Account{}, false
}
