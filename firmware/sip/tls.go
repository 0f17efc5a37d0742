package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/site"
)

// SIP over TLS (RFC 3261 §26.2, RFC 5630).
//
// The TLS listener serves the certificate Config.TLSCertificate returns
// at each handshake, so a renewed or uploaded certificate is used from the
// next connection on, without a restart. Phones that register over TLS
// keep their connection open; the box sends their calls back on it (the
// binding's transport is honoured, like TCP's). Requests the box starts
// toward a TLS trunk dial a new connection and verify the trunk's
// certificate against the system's roots (Config.TLSClient).

// secureTransport reports whether signalling on transport is encrypted:
// only then may SDP carry SRTP keys (srtp.go).
func secureTransport(transport string) bool { return strings.EqualFold(transport, "tls") }

// setupTLS checks the TLS address and makes the TLS client. It runs in New
// before the user agent exists, so only what the UA options need is done.
func (s *Server) setupTLS() error {
	if s.cfg.TLSListener == nil {
		return nil
	}
	if s.cfg.TLSCertificate == nil {
		return errors.New("sip tls: no certificate source")
	}
	a, ok := s.cfg.TLSListener.Addr().(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("sip tls: listener on %s is not TCP", s.cfg.TLSListener.Addr())
	}
	s.tlsPort = a.Port
	return nil
}

// tlsClientConfig is the configuration of connections the box dials
// (TLS trunks): the system's roots verify the trunk, unless the
// configuration says otherwise.
func (s *Server) tlsClientConfig() *tls.Config {
	if s.cfg.TLSClient != nil {
		return s.cfg.TLSClient
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// newTLSClient makes the client whose Via names the TLS port.
func (s *Server) newTLSClient() error {
	port := s.tlsPort
	if port == 0 {
		port = s.port
	}
	var err error
	s.tlsCli, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.host), sipgo.WithClientPort(port), sipgo.WithClientLogger(s.log))
	if err != nil {
		return fmt.Errorf("sip tls client: %w", err)
	}
	return nil
}

// listenTLS wraps the TLS listener, or returns nil when TLS is off.
func (s *Server) listenTLS() (net.Listener, error) {
	ln := s.cfg.TLSListener
	if ln == nil {
		return nil, nil
	}
	conf := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.cfg.TLSCertificate,
	}
	s.log.Info("sip listening", "addr", ln.Addr().String(), "transport", "tls")
	// The edge's per-source connection limit and idle timeout apply to
	// TLS connections as to plain TCP ones, before the handshake's cost.
	return tls.NewListener(s.wrapTCP(ln), conf), nil
}

// TLSPort is the port SIP over TLS listens on, 0 when off.
func (s *Server) TLSPort() int { return s.tlsPort }

// transportPort is the box's port for a transport, for Contact headers.
func (s *Server) transportPort(transport string) int {
	if secureTransport(transport) && s.tlsPort != 0 {
		return s.tlsPort
	}
	return s.port
}

// trunkAddr is where requests to a trunk go: its host and port, the port
// defaulting to 5061 on TLS (RFC 3261 §19.1.2) and 5060 otherwise.
func trunkAddr(t site.Trunk) (string, int) {
	if secureTransport(t.Transport) {
		if _, _, err := net.SplitHostPort(t.Host); err != nil {
			return t.Host, 5061
		}
	}
	return trunkHostPort(t.Host)
}

// contactTransportParam writes the transport of a Contact: TLS and TCP
// need it said (UDP is the default).
func contactTransportParam(c *sipgosip.ContactHeader, transport string) {
	switch {
	case secureTransport(transport), strings.EqualFold(transport, "tcp"):
		c.Address.UriParams = sipgosip.NewParams()
		c.Address.UriParams.Add("transport", strings.ToLower(transport))
	}
}
