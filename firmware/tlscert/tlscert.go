// Package tlscert keeps the box's web certificate: a self-signed ECDSA
// P-256 certificate made on first start, renewed by itself before it
// expires, or one the admin uploaded. The TLS server reads it through
// [Store.GetCertificate], so a new certificate is served from the next
// handshake on, without a restart.
//
// Files, in the data directory:
//
//	tls/cert.pem   the certificate chain, server certificate first (0644)
//	tls/key.pem    its private key, PKCS #8 (0600)
//
// The pair is replaced as a unit (see [writePair]): a power cut while a
// new certificate is written leaves the old pair or the new one, never a
// certificate with the other's key.
//
// The private key is never logged, never returned by [Store.Info] and
// never leaves the box through this package.
package tlscert

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// Validity of a self-signed certificate: 825 days, the longest that
	// Apple's platforms accept for a server certificate.
	Validity = 825 * 24 * time.Hour
	// RenewBefore: a self-signed certificate with less than this left is
	// replaced by a new one.
	RenewBefore = 30 * 24 * time.Hour
	// CheckEvery is how often [Store.Run] looks at the expiry. Hourly, so
	// a box that started with its clock at 1970 (no RTC, NTP not yet
	// answered) gets a valid certificate soon after the clock is set.
	CheckEvery = time.Hour
	// MaxUploadBytes caps each of the uploaded PEM files. A chain of a few
	// certificates is under 10 KB.
	MaxUploadBytes = 64 << 10

	// generatedOrg marks the certificates this package made, the only ones
	// it renews or replaces by itself: an uploaded certificate is the
	// admin's, even when it is self-signed too.
	generatedOrg = "Ringbox self-signed"
	// mdnsName is the name the box answers to on the LAN by mDNS.
	mdnsName = "ringbox.local"
)

// Info describes the certificate in use, as the API shows it.
type Info struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	SANs        []string  `json:"sans"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	SelfSigned  bool      `json:"self_signed"`
	Fingerprint string    `json:"fingerprint_sha256"` // of the server certificate, AB:CD:… as browsers show it
	// Generated: the box made it (and renews it); false for an upload.
	Generated bool `json:"generated"`
	// Warnings are reasons a browser may still complain, e.g. the box's
	// hostname is not among the SANs. Empty when there are none.
	Warnings []string `json:"warnings,omitempty"`
}

// Options configure a [Store].
type Options struct {
	Dir string // where cert.pem and key.pem live, e.g. <data>/tls
	// PublicIP is --public-ip, added to the SANs when valid.
	PublicIP netip.Addr
	Logger   *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Hostname and Addrs name the box for the SANs; nil: os.Hostname and
	// the addresses of the interfaces.
	Hostname func() (string, error)
	Addrs    func() ([]netip.Addr, error)
}

// Store holds the certificate in use. Create it with [Open].
type Store struct {
	opts Options
	log  *slog.Logger
	cur  atomic.Pointer[current]
	mu   sync.Mutex // one writer at a time: upload, regenerate, renew
}

type current struct {
	cert *tls.Certificate
	info Info
}

// Open loads the certificate in opts.Dir, or makes a self-signed one when
// there is none, when the files do not form a valid pair, or when the
// box's own certificate is close to expiry.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("tlscert: no directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == nil {
		opts.Hostname = os.Hostname
	}
	if opts.Addrs == nil {
		opts.Addrs = interfaceAddrs
	}
	s := &Store{opts: opts, log: opts.Logger.With("pkg", "tlscert")}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	if err := recoverPair(opts.Dir); err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	certPEM, err1 := os.ReadFile(filepath.Join(opts.Dir, "cert.pem"))
	keyPEM, err2 := os.ReadFile(filepath.Join(opts.Dir, "key.pem"))
	switch {
	case errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist):
		s.log.Info("no web certificate yet: making a self-signed one")
		_, err := s.generateLocked()
		return s, err
	case err1 != nil && !errors.Is(err1, os.ErrNotExist):
		return nil, fmt.Errorf("tls certificate: %w", err1)
	case err2 != nil && !errors.Is(err2, os.ErrNotExist):
		return nil, fmt.Errorf("tls certificate: %w", err2)
	}
	// One file missing fails here like a broken one.
	c, info, err := parsePair(certPEM, keyPEM)
	if err != nil {
		// The box must answer over HTTPS: a broken pair is set aside, not
		// a reason to stay down.
		s.log.Error("web certificate unusable: making a new self-signed one", "dir", opts.Dir, "err", err)
		_, err := s.generateLocked()
		return s, err
	}
	s.setLocked(c, info)
	renewed, err := s.renewLocked()
	if err != nil {
		return nil, err
	}
	if !renewed {
		// In the log for the fingerprint check of a first visit.
		s.log.Info("web certificate", "subject", info.Subject, "generated", info.Generated,
			"not_after", info.NotAfter, "fingerprint", info.Fingerprint)
	}
	return s, nil
}

// GetCertificate is for [tls.Config.GetCertificate]: the certificate in
// use at this handshake.
func (s *Store) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cur.Load().cert, nil
}

// TLSConfig is a server configuration serving the store's certificate.
func (s *Store) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.GetCertificate}
}

// Info describes the certificate in use.
func (s *Store) Info() Info {
	cur := s.cur.Load() // once: an upload may swap it meanwhile
	info := cur.info
	info.SANs = slices.Clone(info.SANs)
	info.Warnings = s.warnings(info, cur.cert.Leaf)
	return info
}

// Run renews the box's own certificate when it nears expiry, until ctx
// ends. An uploaded certificate is left alone; its expiry is logged.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(CheckEvery)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.mu.Lock()
		renewed, err := s.renewLocked()
		info := s.cur.Load().info
		s.mu.Unlock()
		if err != nil {
			s.log.Error("renew the web certificate", "err", err)
		}
		if renewed {
			warned = false
		}
		if !info.Generated && info.NotAfter.Sub(s.opts.Now()) < RenewBefore && !warned {
			s.log.Warn("the uploaded web certificate expires soon: upload a new one", "not_after", info.NotAfter, "fingerprint", info.Fingerprint)
			warned = true
		}
	}
}

// Regenerate replaces the certificate in use, uploaded or not, with a new
// self-signed one naming the box's current hostname and addresses.
func (s *Store) Regenerate() (Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.generateLocked()
	if err != nil {
		return Info{}, err
	}
	return s.withWarnings(info), nil
}

// Upload validates a PEM certificate chain (server certificate first) and
// its PEM private key and, when they are usable, makes them the
// certificate in use. A refusal is an [*UploadError] saying what is wrong.
// The SANs not naming the box are a warning in the returned Info, not a
// refusal: the admin may reach the box by a name only their DNS knows.
func (s *Store) Upload(certPEM, keyPEM []byte) (Info, error) {
	c, info, err := ParseUpload(certPEM, keyPEM, s.opts.Now())
	if err != nil {
		return Info{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writePair(s.opts.Dir, certPEM, keyPEM); err != nil {
		return Info{}, err
	}
	s.setLocked(c, info)
	s.log.Info("web certificate uploaded", "subject", info.Subject, "issuer", info.Issuer,
		"not_after", info.NotAfter, "fingerprint", info.Fingerprint)
	return s.withWarnings(info), nil
}

// UploadError is a refused upload; its message names what is wrong.
type UploadError struct{ Msg string }

func (e *UploadError) Error() string { return e.Msg }

func refuse(format string, args ...any) error {
	return &UploadError{Msg: fmt.Sprintf(format, args...)}
}

// ParseUpload validates an uploaded certificate chain and key at time now:
// both parse, the key is the server certificate's, the certificate is
// valid now. It returns the pair ready to serve and its description.
func ParseUpload(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, Info, error) {
	if len(certPEM) > MaxUploadBytes {
		return nil, Info{}, refuse("the certificate file is over %d KB", MaxUploadBytes>>10)
	}
	if len(keyPEM) > MaxUploadBytes {
		return nil, Info{}, refuse("the key file is over %d KB", MaxUploadBytes>>10)
	}
	chain, err := parseCerts(certPEM)
	if err != nil {
		return nil, Info{}, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, Info{}, err
	}
	if !samePublic(chain[0].PublicKey, key) {
		for i, c := range chain[1:] {
			if samePublic(c.PublicKey, key) {
				return nil, Info{}, refuse("the key belongs to certificate %d of the chain (%s): put the server's certificate first", i+2, c.Subject)
			}
		}
		return nil, Info{}, refuse("the key does not match the certificate (%s): upload the key the certificate was issued for", chain[0].Subject)
	}
	leaf := chain[0]
	if now.After(leaf.NotAfter) {
		return nil, Info{}, refuse("the certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(leaf.NotBefore) {
		return nil, Info{}, refuse("the certificate is not valid before %s (the box's clock says %s)",
			leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if leaf.IsCA && len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		return nil, Info{}, refuse("the first certificate is a CA certificate (%s), not a server certificate", leaf.Subject)
	}
	tc := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, describe(leaf), nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := b
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE":
		case strings.Contains(blk.Type, "PRIVATE KEY"):
			return nil, refuse("the certificate file holds a private key: upload the key in the key field")
		default:
			return nil, refuse("the certificate file has a %q block; want CERTIFICATE blocks only", truncate(blk.Type))
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, refuse("certificate %d does not parse: %v", n, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, refuse("the certificate file has no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, refuse("the certificate file has something other than PEM after certificate %d", len(chain))
	}
	return chain, nil
}

func parseKey(b []byte) (crypto.Signer, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, refuse("the key file has no PEM private key (-----BEGIN PRIVATE KEY-----)")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, refuse("the key file holds more than one PEM block; want the private key alone")
	}
	if blk.Type == "ENCRYPTED PRIVATE KEY" || blk.Headers["Proc-Type"] != "" {
		return nil, refuse("the key is encrypted with a passphrase: upload it decrypted (openssl pkey -in key.pem -out plain.pem)")
	}
	var key any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "CERTIFICATE":
		return nil, refuse("the key file holds a certificate: upload the private key in the key field")
	default:
		return nil, refuse("the key file has a %q block; want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", truncate(blk.Type))
	}
	if err != nil {
		// The parser's error says nothing about the key's content.
		return nil, refuse("the private key does not parse: %v", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, refuse("the RSA key has %d bits; browsers want 2048 or more", k.N.BitLen())
		}
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, refuse("the private key is of an unsupported type %T; want RSA, ECDSA or Ed25519", key)
}

func samePublic(pub any, key crypto.Signer) bool {
	k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// parsePair reads the pair saved in the directory.
func parsePair(certPEM, keyPEM []byte) (*tls.Certificate, Info, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, Info{}, err
	}
	return &c, describe(c.Leaf), nil
}

func describe(leaf *x509.Certificate) Info {
	sum := sha256.Sum256(leaf.Raw)
	hex := fmt.Sprintf("% X", sum[:])
	info := Info{
		Subject:     leaf.Subject.String(),
		Issuer:      leaf.Issuer.String(),
		SANs:        []string{},
		NotBefore:   leaf.NotBefore.UTC(),
		NotAfter:    leaf.NotAfter.UTC(),
		Fingerprint: strings.ReplaceAll(hex, " ", ":"),
	}
	// Signed by its own key. Not CheckSignatureFrom: that refuses a
	// parent that is no CA, and the box's own certificate is none.
	info.SelfSigned = bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
	info.Generated = info.SelfSigned && slices.Contains(leaf.Subject.Organization, generatedOrg)
	info.SANs = append(info.SANs, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		info.SANs = append(info.SANs, ip.String())
	}
	return info
}

// withWarnings is info, just set under s.mu, with its warnings.
func (s *Store) withWarnings(info Info) Info {
	info.Warnings = s.warnings(info, s.cur.Load().cert.Leaf)
	return info
}

// warnings says why a browser may complain about leaf beyond it being
// self-signed.
func (s *Store) warnings(info Info, leaf *x509.Certificate) []string {
	var w []string
	if host, err := s.opts.Hostname(); err == nil && host != "" && leaf.VerifyHostname(host) != nil &&
		leaf.VerifyHostname(host+".local") != nil && leaf.VerifyHostname(mdnsName) != nil {
		w = append(w, fmt.Sprintf("the certificate does not name this box (%s or %s): browsers will warn unless the box is reached by a name it lists", host, mdnsName))
	}
	if left := info.NotAfter.Sub(s.opts.Now()); left < RenewBefore {
		if info.Generated {
			w = append(w, "the certificate expires soon; the box replaces it by itself")
		} else {
			w = append(w, fmt.Sprintf("the certificate expires on %s: upload a new one", info.NotAfter.Format(time.DateOnly)))
		}
	}
	return w
}

func (s *Store) setLocked(c *tls.Certificate, info Info) {
	s.cur.Store(&current{cert: c, info: info})
}

// renewLocked replaces the box's own certificate when it is close to
// expiry or not yet valid (the clock was set back, or it was made while
// the clock was wrong).
func (s *Store) renewLocked() (bool, error) {
	info := s.cur.Load().info
	now := s.opts.Now()
	if !info.Generated || (info.NotAfter.Sub(now) >= RenewBefore && !now.Before(info.NotBefore)) {
		return false, nil
	}
	s.log.Info("the box's web certificate is near expiry or not yet valid: making a new one", "not_before", info.NotBefore, "not_after", info.NotAfter)
	_, err := s.generateLocked()
	return err == nil, err
}

// generateLocked makes, saves and uses a new self-signed certificate.
func (s *Store) generateLocked() (Info, error) {
	dns, ips := s.names()
	certPEM, keyPEM, err := Generate(dns, ips, s.opts.Now())
	if err != nil {
		return Info{}, err
	}
	c, info, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return Info{}, fmt.Errorf("tls certificate: the new pair does not load: %w", err)
	}
	if err := writePair(s.opts.Dir, certPEM, keyPEM); err != nil {
		return Info{}, err
	}
	s.setLocked(c, info)
	s.log.Info("self-signed web certificate made", "sans", strings.Join(info.SANs, ","),
		"not_after", info.NotAfter, "fingerprint", info.Fingerprint)
	return info, nil
}

// names are the SANs of a self-signed certificate: the hostname (and its
// mDNS name), ringbox.local, localhost, every interface address and
// --public-ip.
func (s *Store) names() ([]string, []netip.Addr) {
	dns := []string{}
	if h, err := s.opts.Hostname(); err == nil && h != "" && validDNS(h) {
		dns = append(dns, h)
		if !strings.Contains(h, ".") {
			dns = append(dns, h+".local")
		}
	}
	dns = append(dns, mdnsName, "localhost")
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	if addrs, err := s.opts.Addrs(); err != nil {
		s.log.Warn("interface addresses unknown: the certificate names loopback only", "err", err)
	} else {
		for _, a := range addrs {
			if a.IsLoopback() || a.IsUnspecified() || (a.Is6() && a.IsLinkLocalUnicast()) {
				continue
			}
			ips = append(ips, a.Unmap())
		}
	}
	if s.opts.PublicIP.IsValid() {
		ips = append(ips, s.opts.PublicIP.Unmap())
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(dns), slices.Compact(ips)
}

func validDNS(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// Generate makes a self-signed ECDSA P-256 server certificate for the
// names, valid from an hour before now (clocks differ) for [Validity].
func Generate(dns []string, ips []netip.Addr, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: serial: %w", err)
	}
	cn := mdnsName
	if len(dns) > 0 {
		cn = dns[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{generatedOrg}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}
