package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"ringbox/firmware/tlscert"
)

const sipTLSUsage = "SIP over TLS listen address (phones get SRTP on it); default: --sip's host at port 5061, or --sip's port + 1 when that is not 5060; off: no SIP over TLS. The certificate is the web's (DATA/tls: self-signed on first start, or uploaded)"

// sipTLSAddr is the address --sip-tls asks for, and whether it was given
// (a derived default that cannot be had is a warning, not a failure).
func sipTLSAddr(flagVal, sipAddr string) (addr string, explicit bool, err error) {
	switch flagVal {
	case "off":
		return "", false, nil
	case "":
		host, port, err := net.SplitHostPort(sipAddr)
		if err != nil {
			return "", false, usageError{fmt.Errorf("--sip %q: %v", sipAddr, err)}
		}
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p >= 65535 {
			return "", false, usageError{fmt.Errorf("--sip %q: port %q", sipAddr, port)}
		}
		tlsPort := 5061
		if p != 5060 {
			tlsPort = p + 1
		}
		return net.JoinHostPort(host, strconv.Itoa(tlsPort)), false, nil
	}
	if _, _, err := net.SplitHostPort(flagVal); err != nil {
		return "", false, usageError{fmt.Errorf("--sip-tls %q: want host:port, :port or off: %v", flagVal, err)}
	}
	return flagVal, true, nil
}

// listenSIPTLS takes the SIP over TLS port (a plain TCP listener: the SIP
// server wraps it). nil when off, or when the derived default is in use
// by another program (logged).
func listenSIPTLS(flagVal, sipAddr string, log *slog.Logger) (net.Listener, error) {
	addr, explicit, err := sipTLSAddr(flagVal, sipAddr)
	if err != nil || addr == "" {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("sip tls: cannot listen on %s: %w", addr, unwrapSyscall(err))
		}
		log.Warn("SIP over TLS is off: its port is taken (set --sip-tls to another address)", "addr", addr, "err", unwrapSyscall(err))
		return nil, nil
	}
	return ln, nil
}

// sipCertificate serves the certificate store's certificate to SIP TLS
// handshakes, waiting for the store to open (it is made while the
// database opens, after SIP may already listen).
func sipCertificate(ready <-chan struct{}, certs **tlscert.Store, certErr *error) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		select {
		case <-ready:
		case <-hello.Context().Done():
			return nil, hello.Context().Err()
		}
		if *certs == nil {
			if *certErr != nil {
				return nil, *certErr
			}
			return nil, errors.New("no certificate")
		}
		return (*certs).GetCertificate(hello)
	}
}

// sipTLSPortOf is the SIP over TLS port for the banner, "" when off.
func sipTLSPortOf(f serveFlags) string {
	if f.sipTLS == "off" || f.sipTLS == "" {
		return ""
	}
	_, p, _ := net.SplitHostPort(f.sipTLS)
	return p
}
