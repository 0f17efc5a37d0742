package tlscert

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// syncBuf is a log sink the Run goroutine and the test share.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func testOptions(dir string, now func() time.Time, logs *syncBuf) Options {
	return Options{
		Dir:      dir,
		PublicIP: netip.MustParseAddr("203.0.113.5"),
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      now,
		Hostname: func() (string, error) { return "office-pbx", nil },
		Addrs: func() ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("fe80::1"),
				netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::20")}, nil
		},
	}
}

func TestFirstStartMakesSelfSignedCertificateAndReusesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	var logs syncBuf
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s, err := Open(testOptions(dir, func() time.Time { return t0 }, &logs))
	if err != nil {
		t.Fatal(err)
	}
	info := s.Info()
	if !info.SelfSigned || !info.Generated {
		t.Errorf("self_signed=%v generated=%v, want both", info.SelfSigned, info.Generated)
	}
	for _, want := range []string{"office-pbx", "office-pbx.local", "ringbox.local", "127.0.0.1", "::1", "192.168.1.20", "2001:db8::20", "203.0.113.5"} {
		if !slices.Contains(info.SANs, want) {
			t.Errorf("SANs %v lack %s", info.SANs, want)
		}
	}
	if slices.Contains(info.SANs, "fe80::1") {
		t.Errorf("SANs %v name a link-local address", info.SANs)
	}
	if got := info.NotAfter.Sub(t0); got != Validity {
		t.Errorf("valid for %v after now, want %v", got, Validity)
	}
	if len(info.Fingerprint) != 32*3-1 || strings.Count(info.Fingerprint, ":") != 31 {
		t.Errorf("fingerprint %q, want 32 colon-separated bytes", info.Fingerprint)
	}
	if len(info.Warnings) != 0 {
		t.Errorf("warnings for the box's own certificate: %v", info.Warnings)
	}
	c, _ := s.GetCertificate(nil)
	if k, ok := c.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.PrivateKey)
	}
	st, err := os.Stat(filepath.Join(dir, "key.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key.pem: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, "key.pem"))
	// The restart: same certificate.
	s2, err := Open(testOptions(dir, func() time.Time { return t0.Add(24 * time.Hour) }, &logs))
	if err != nil {
		t.Fatal(err)
	}
	if s2.Info().Fingerprint != info.Fingerprint {
		t.Errorf("restart made a new certificate: %s, was %s", s2.Info().Fingerprint, info.Fingerprint)
	}
	assertKeyNotLogged(t, logs.String(), keyPEM)
	if !strings.Contains(logs.String(), info.Fingerprint) {
		t.Errorf("the log does not show the new certificate's fingerprint:\n%s", logs.String())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("files in %s: %v, want cert.pem and key.pem", dir, ents)
	}
}

func assertKeyNotLogged(t *testing.T, logs string, keyPEM []byte) {
	t.Helper()
	blk, _ := pem.Decode(keyPEM)
	body := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	if strings.Contains(logs, "PRIVATE KEY") || blk == nil || strings.Contains(logs, body[1]) {
		t.Errorf("the private key is in the log:\n%s", logs)
	}
}

func TestRestartNearExpiryRenews(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuf
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := Open(testOptions(dir, clk.now, &logs))
	if err != nil {
		t.Fatal(err)
	}
	old := s.Info()
	clk.set(old.NotAfter.Add(-RenewBefore + time.Hour)) // 29 days and 23 h left
	s2, err := Open(testOptions(dir, clk.now, &logs))
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Info(); got.Fingerprint == old.Fingerprint || got.NotAfter.Sub(clk.now()) != Validity {
		t.Errorf("after a restart 29 days before expiry: %s until %v, want a new certificate", got.Fingerprint, got.NotAfter)
	}
}

// The box started with its clock at 1970 (no RTC; NTP not answered yet),
// so its certificate was made for 1970. Once the clock is right, the
// next check replaces it.
func TestCertificateMadeWithWrongClockIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		var logs syncBuf
		clk := &clock{t: time.Unix(3600, 0)}
		s, err := Open(testOptions(dir, clk.now, &logs))
		if err != nil {
			t.Fatal(err)
		}
		old := s.Info().Fingerprint
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		clk.set(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)) // NTP answered
		time.Sleep(CheckEvery + time.Second)
		synctest.Wait()
		info := s.Info()
		if info.Fingerprint == old || !info.NotBefore.Before(clk.now()) || info.NotAfter.Before(clk.now().Add(800*24*time.Hour)) {
			t.Errorf("an hour after the clock was set: %s valid %v..%v, want a new certificate valid now", info.Fingerprint, info.NotBefore, info.NotAfter)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// Run renews the box's own certificate about 30 days before it expires,
// by itself, and the TLS server serves the new one from the next
// handshake.
func TestRunRenewsBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		var logs syncBuf
		s, err := Open(testOptions(dir, time.Now, &logs)) // synctest's clock
		if err != nil {
			t.Fatal(err)
		}
		first := s.Info()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()

		time.Sleep(Validity - RenewBefore - 2*CheckEvery)
		synctest.Wait()
		if got := s.Info().Fingerprint; got != first.Fingerprint {
			t.Fatalf("renewed %v before expiry, want 30 days before", time.Until(first.NotAfter))
		}
		time.Sleep(3 * CheckEvery)
		synctest.Wait()
		second := s.Info()
		if second.Fingerprint == first.Fingerprint {
			t.Fatalf("not renewed %v before expiry", time.Until(first.NotAfter))
		}
		c, _ := s.GetCertificate(nil)
		if c.Leaf.NotAfter.UTC() != second.NotAfter {
			t.Errorf("GetCertificate serves the certificate until %v, want the new one", c.Leaf.NotAfter)
		}
		// And it is the one on disk, for the next start.
		s2, err := Open(testOptions(dir, time.Now, &logs))
		if err != nil || s2.Info().Fingerprint != second.Fingerprint {
			t.Errorf("after a restart: %v %s, want the renewed %s", err, s2.Info().Fingerprint, second.Fingerprint)
		}
		cancel()
		<-done
	})
}

// An uploaded certificate is the admin's: never replaced by the box, but
// its coming expiry is logged once.
func TestRunLeavesUploadedCertificate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuf
		s, err := Open(testOptions(t.TempDir(), time.Now, &logs))
		if err != nil {
			t.Fatal(err)
		}
		ca := newCA(t)
		certPEM, keyPEM := ca.issue(t, leafOpts{dns: []string{"office-pbx"}, notAfter: time.Now().Add(40 * 24 * time.Hour)})
		up, err := s.Upload(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(20 * 24 * time.Hour)
		synctest.Wait()
		if got := s.Info(); got.Fingerprint != up.Fingerprint {
			t.Errorf("the box replaced the uploaded certificate")
		}
		if n := strings.Count(logs.String(), "expires soon"); n != 1 {
			t.Errorf("%d warnings of the coming expiry, want 1:\n%s", n, logs.String())
		}
		if w := s.Info().Warnings; len(w) != 1 || !strings.Contains(w[0], "upload a new one") {
			t.Errorf("warnings %q, want the expiry", w)
		}
		cancel()
		<-done
	})
}

func TestUploadReplacesCertificateWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuf
	s, err := Open(testOptions(dir, time.Now, &logs))
	if err != nil {
		t.Fatal(err)
	}
	ca := newCA(t)
	certPEM, keyPEM := ca.issue(t, leafOpts{dns: []string{"pbx.example.com"}})
	chain := append(certPEM, ca.certPEM...)
	info, err := s.Upload(chain, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if info.Generated || info.SelfSigned || info.Subject != "CN=pbx.example.com" || info.Issuer != "CN=Office CA" {
		t.Errorf("info %+v", info)
	}
	// The box is office-pbx: the browser will complain, say so.
	if len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "office-pbx") {
		t.Errorf("warnings %q, want one naming the hostname", info.Warnings)
	}
	c, _ := s.GetCertificate(nil)
	if len(c.Certificate) != 2 || c.Leaf.Subject.CommonName != "pbx.example.com" {
		t.Errorf("served %d certificates, leaf %s; want the uploaded chain", len(c.Certificate), c.Leaf.Subject)
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if !bytes.Equal(onDisk, chain) {
		t.Errorf("cert.pem is not the uploaded chain")
	}
	st, _ := os.Stat(filepath.Join(dir, "key.pem"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key.pem mode %v after upload, want 0600", st.Mode().Perm())
	}
	s2, err := Open(testOptions(dir, time.Now, &logs))
	if err != nil || s2.Info().Fingerprint != info.Fingerprint {
		t.Errorf("after a restart: %v, fingerprint %s; want the uploaded %s", err, s2.Info().Fingerprint, info.Fingerprint)
	}
	assertKeyNotLogged(t, logs.String(), keyPEM)
	// Regenerate goes back to a self-signed one.
	re, err := s.Regenerate()
	if err != nil || !re.Generated || re.Fingerprint == info.Fingerprint {
		t.Errorf("regenerate: %v %+v", err, re)
	}
}

func TestUploadRefusals(t *testing.T) {
	now := time.Now()
	ca := newCA(t)
	good, goodKey := ca.issue(t, leafOpts{dns: []string{"office-pbx"}})
	_, otherKey := ca.issue(t, leafOpts{dns: []string{"office-pbx"}})
	expired, expiredKey := ca.issue(t, leafOpts{dns: []string{"office-pbx"}, notBefore: now.Add(-400 * 24 * time.Hour), notAfter: now.Add(-24 * time.Hour)})
	future, futureKey := ca.issue(t, leafOpts{dns: []string{"office-pbx"}, notBefore: now.Add(48 * time.Hour)})
	rsaSmall, rsaSmallKey := ca.issue(t, leafOpts{dns: []string{"office-pbx"}, rsaBits: 1024})
	blk, _ := pem.Decode(goodKey)
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: blk.Bytes})
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"garbage cert", []byte("hello, world"), goodKey, "no PEM certificate"},
		{"empty cert", nil, goodKey, "no PEM certificate"},
		{"garbage key", good, []byte("not a key"), "no PEM private key"},
		{"mismatched key", good, otherKey, "key does not match the certificate"},
		{"expired", expired, expiredKey, "expired on " + now.Add(-24*time.Hour).UTC().Format(time.DateOnly)},
		{"not yet valid", future, futureKey, "not valid before"},
		{"chain in the wrong order", append(slices.Clone(ca.certPEM), good...), goodKey, "put the server's certificate first"},
		{"key in the cert field", goodKey, goodKey, "holds a private key"},
		{"cert in the key field", good, good, "holds a certificate"},
		{"encrypted key", good, encrypted, "encrypted with a passphrase"},
		{"small RSA key", rsaSmall, rsaSmallKey, "1024 bits"},
		{"corrupt certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 1, 2}}), goodKey, "certificate 1 does not parse"},
		{"junk after the chain", append(slices.Clone(good), "trailing junk"...), goodKey, "something other than PEM"},
		{"too big", bytes.Repeat([]byte("A"), MaxUploadBytes+1), goodKey, "over 64 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs syncBuf
			s, err := Open(testOptions(dir, time.Now, &logs))
			if err != nil {
				t.Fatal(err)
			}
			before := s.Info().Fingerprint
			_, err = s.Upload(tc.cert, tc.key)
			var ue *UploadError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("upload: %v, want an UploadError with %q", err, tc.want)
			}
			if s.Info().Fingerprint != before {
				t.Errorf("a refused upload changed the certificate")
			}
			if s2, _ := Open(testOptions(dir, time.Now, &logs)); s2.Info().Fingerprint != before {
				t.Errorf("a refused upload changed the files")
			}
		})
	}
}

// A power cut during a replacement leaves the old pair or the new one.
func TestInterruptedReplacement(t *testing.T) {
	var logs syncBuf
	ca := newCA(t)
	newCert, newKey := ca.issue(t, leafOpts{dns: []string{"office-pbx"}})
	_, newInfo, err := ParseUpload(newCert, newKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		files   map[string][]byte
		wantNew bool
	}{
		{"cut while staging the key", map[string][]byte{"key.pem.new": newKey[:20]}, false},
		{"cut while staging the cert", map[string][]byte{"key.pem.new": newKey, "cert.pem.tmp": newCert[:30]}, false},
		{"cut after the commit", map[string][]byte{"key.pem.new": newKey, "cert.pem.new": newCert}, true},
		{"cut between the renames", map[string][]byte{"key.pem": newKey, "cert.pem.new": newCert}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(testOptions(dir, time.Now, &logs))
			if err != nil {
				t.Fatal(err)
			}
			old := s.Info().Fingerprint
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s2, err := Open(testOptions(dir, time.Now, &logs))
			if err != nil {
				t.Fatal(err)
			}
			want := old
			if tc.wantNew {
				want = newInfo.Fingerprint
			}
			if got := s2.Info().Fingerprint; got != want {
				t.Errorf("after the restart serving %s, want %s (new: %v)", got, want, tc.wantNew)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 2 {
				t.Errorf("files left: %v", ents)
			}
		})
	}
}

// A broken pair (a disk error, a hand edit) does not keep the web page
// down: the box makes a new certificate.
func TestBrokenFilesAreReplaced(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuf
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(testOptions(dir, time.Now, &logs))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Info().Generated || !strings.Contains(logs.String(), "unusable") {
		t.Errorf("generated=%v, log:\n%s", s.Info().Generated, logs.String())
	}
}

func FuzzParseUpload(f *testing.F) {
	ca := newCA(f)
	good, goodKey := ca.issue(f, leafOpts{dns: []string{"office-pbx"}})
	f.Add(good, goodKey)
	f.Add(append(slices.Clone(good), ca.certPEM...), goodKey)
	f.Add(goodKey, good)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})
	now := time.Now()
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		c, info, err := ParseUpload(certPEM, keyPEM, now)
		if err != nil {
			var ue *UploadError
			if !errors.As(err, &ue) || ue.Msg == "" {
				t.Fatalf("error %v (%T) is not an UploadError with a message", err, err)
			}
			return
		}
		// Accepted: a pair TLS can serve, described truthfully.
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			t.Fatalf("accepted a pair crypto/tls refuses: %v", err)
		}
		if c.Leaf == nil || info.NotAfter.Before(now) || info.Fingerprint == "" {
			t.Fatalf("accepted %+v", info)
		}
	})
}

// ca issues test certificates.
type ca struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newCA(t testing.TB) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Office CA"},
		NotBefore: time.Now().Add(-1000 * 24 * time.Hour), NotAfter: time.Now().Add(3000 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

type leafOpts struct {
	dns                 []string
	notBefore, notAfter time.Time
	rsaBits             int
}

func (a *ca) issue(t testing.TB, o leafOpts) (certPEM, keyPEM []byte) {
	t.Helper()
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = o.notBefore.Add(365 * 24 * time.Hour)
	}
	var key crypto.Signer
	var err error
	if o.rsaBits > 0 {
		key, err = rsa.GenerateKey(rand.Reader, o.rsaBits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	cn := "leaf"
	if len(o.dns) > 0 {
		cn = o.dns[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: o.dns,
		NotBefore: o.notBefore, NotAfter: o.notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}
