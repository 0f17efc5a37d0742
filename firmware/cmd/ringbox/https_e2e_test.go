package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTPS runs the box as the appliance image does (--http and --https):
// the HTTP port redirects, the page answers over TLS with the certificate
// made on first start, the session cookie is Secure, and an uploaded
// certificate is served from the next connection without a restart.
func TestHTTPS(t *testing.T) {
	t.Parallel()
	httpsPort := freePort(t)
	a := startServe(t, serveOpt{site: demoSite(t), extra: []string{"--https", fmt.Sprintf("127.0.0.1:%d", httpsPort)}})
	secure := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)

	// The plain port: health stays (startServe polled it), the rest moves.
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		status       int
	}{{"GET", "/login", 301}, {"POST", "/api/v1/session", 308}} {
		req, _ := http.NewRequest(tc.method, a.base+tc.path, strings.NewReader("{}"))
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != secure+tc.path {
			t.Errorf("http %s %s = %d Location %q, want %d %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status, secure+tc.path)
		}
	}

	// The certificate made on first start, trusted the way a user does
	// after comparing the fingerprint the console shows.
	certPEM, err := os.ReadFile(filepath.Join(a.data, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(a.data, "tls", "key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key.pem: %v %v, want mode 0600", err, st)
	}
	blk, _ := pem.Decode(certPEM)
	if fp := fingerprint(blk.Bytes); !strings.Contains(a.log(), fp) {
		t.Errorf("the banner does not show the certificate's fingerprint %s", fp)
	}
	if strings.Contains(a.log(), "PRIVATE KEY") {
		t.Errorf("the private key is in the output")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c := tlsClient(pool)
	resp, err := c.Get(secure + "/login")
	if err != nil {
		t.Fatalf("TLS GET /login (verifying 127.0.0.1 against the certificate): %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<form")) {
		t.Errorf("https /login = %d %q", resp.StatusCode, body[:min(len(body), 200)])
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent for a self-signed box")
	}

	// First boot over HTTPS, then a login: the cookie is Secure.
	const login, password = "installer", "correct horse battery"
	resp = postJSON(t, c, secure+"/api/v1/setup", `{"login":"`+login+`","password":"`+password+`"}`)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("setup over https = %d", resp.StatusCode)
	}
	resp = postJSON(t, c, secure+"/api/v1/session", `{"login":"`+login+`","password":"`+password+`"}`)
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "rbx_session" {
			cookie = ck
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.Secure || !cookie.HttpOnly {
		t.Fatalf("login over https = %d, cookie %+v; want a Secure, HttpOnly rbx_session", resp.StatusCode, cookie)
	}

	// Upload a certificate for 127.0.0.1 from the office's CA, as the
	// System page does (cookie, multipart).
	caPEM, newCert, newKey := issueForLoopback(t)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for name, b := range map[string][]byte{"cert": newCert, "key": newKey} {
		w, _ := mw.CreateFormFile(name, name+".pem")
		w.Write(b)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", secure+"/api/v1/system/certificate", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Requested-With", "ringbox")
	req.AddCookie(cookie)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Fingerprint string `json:"fingerprint_sha256"`
		SelfSigned  bool   `json:"self_signed"`
	}
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	nb, _ := pem.Decode(newCert)
	if resp.StatusCode != 200 || info.Fingerprint != fingerprint(nb.Bytes) || info.SelfSigned {
		t.Fatalf("upload = %d %+v, want 200 with the uploaded certificate", resp.StatusCode, info)
	}
	// A new connection, verified against the CA alone, gets it.
	caPool := x509.NewCertPool()
	caPool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), &tls.Config{RootCAs: caPool})
	if err != nil {
		t.Fatalf("TLS with the uploaded certificate: %v", err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if fingerprint(served.Raw) != info.Fingerprint {
		t.Errorf("served %s, want the uploaded certificate", served.Subject)
	}
	if n := strings.Count(a.log(), "ringbox started"); n != 1 {
		t.Errorf("started %d times, want no restart", n)
	}
	if err := a.stop(); err != nil {
		t.Errorf("SIGTERM: exit %v, want a clean exit", err)
	}
}

func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}
}

func postJSON(t *testing.T, c *http.Client, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ReplaceAll(fmt.Sprintf("% X", sum[:]), " ", ":")
}

// issueForLoopback makes a CA and a server certificate it signed for
// 127.0.0.1.
func issueForLoopback(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Office CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pbx.office.example"},
		DNSNames: []string{"pbx.office.example"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func TestHTTPSPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	_, e, code := ringbox(t, "serve", "--data", dir, "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--https", fmt.Sprintf("127.0.0.1:%d", port), "--sip", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if code == 0 || !strings.Contains(e, fmt.Sprint(port)) {
		t.Errorf("serve with a busy --https port: exit %d, %q; want an error naming port %d", code, e, port)
	}
	if _, err := os.Stat(filepath.Join(dir, "ringbox.db")); err == nil {
		t.Errorf("the database was created before the port was known to be free")
	}
}
