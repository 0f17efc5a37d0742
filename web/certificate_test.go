package web_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/tlscert"
	"ringbox/web"
	"ringbox/web/webtest"
)

type certEnv struct {
	t     *testing.T
	srv   *httptest.Server
	certs *tlscert.Store
}

func newCertEnv(t *testing.T, https bool) *certEnv {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	e := &certEnv{t: t}
	if https {
		var err error
		e.certs, err = tlscert.Open(tlscert.Options{Dir: t.TempDir(), Logger: quiet,
			Hostname: func() (string, error) { return "office-pbx", nil },
			Addrs:    func() ([]netip.Addr, error) { return nil, nil }})
		if err != nil {
			t.Fatal(err)
		}
	}
	a := webtest.NewAuth()
	a.AddToken(adminToken, auth.Principal{Login: "installer", Role: auth.Admin})
	a.AddToken(managerToken, auth.Principal{Login: "sue", Role: auth.Manager})
	ws := web.New(web.Config{Auth: a, Logger: quiet})
	for _, r := range web.CertificateRoutes(e.certs, quiet) {
		ws.HandleRoute(r)
	}
	e.srv = httptest.NewServer(ws.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *certEnv) do(method, path, token, contentType string, body io.Reader) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		e.t.Fatalf("%s %s: %d %q is not a JSON object", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, v
}

func certForm(t *testing.T, fields map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, b := range fields {
		w, err := mw.CreateFormFile(name, name+".pem")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

// selfSigned is a certificate an admin might make with openssl for the
// box's name.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func TestCertificateRoutesAreForAdminsOnly(t *testing.T) {
	e := newCertEnv(t, true)
	before := e.certs.Info().Fingerprint
	cert, key := selfSigned(t, "office-pbx")
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/v1/system/certificate"},
		{"POST", "/api/v1/system/certificate"},
		{"POST", "/api/v1/system/certificate/regenerate"},
	} {
		ct, body := certForm(t, map[string][]byte{"cert": cert, "key": key})
		if code, v := e.do(rt.method, rt.path, managerToken, ct, body); code != 403 {
			t.Errorf("%s %s as a manager = %d %v, want 403", rt.method, rt.path, code, v)
		}
		if code, _ := e.do(rt.method, rt.path, "", "", nil); code != 401 {
			t.Errorf("%s %s without a login = %d, want 401", rt.method, rt.path, code)
		}
	}
	if e.certs.Info().Fingerprint != before {
		t.Errorf("a manager changed the certificate")
	}
}

func TestCertificateAPI(t *testing.T) {
	e := newCertEnv(t, true)
	code, v := e.do("GET", "/api/v1/system/certificate", adminToken, "", nil)
	if code != 200 || v["self_signed"] != true || v["fingerprint_sha256"] != e.certs.Info().Fingerprint {
		t.Fatalf("GET = %d %v", code, v)
	}
	for _, k := range []string{"subject", "issuer", "sans", "not_before", "not_after"} {
		if _, ok := v[k]; !ok {
			t.Errorf("GET lacks %q: %v", k, v)
		}
	}

	cert, key := selfSigned(t, "pbx.example.com")
	ct, body := certForm(t, map[string][]byte{"cert": cert, "key": key})
	code, v = e.do("POST", "/api/v1/system/certificate", adminToken, ct, body)
	if code != 200 || v["subject"] != "CN=pbx.example.com" {
		t.Fatalf("upload = %d %v", code, v)
	}
	if w, _ := v["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "office-pbx") {
		t.Errorf("warnings %v, want one naming the box's hostname", v["warnings"])
	}
	if c, _ := e.certs.GetCertificate(nil); c.Leaf.Subject.CommonName != "pbx.example.com" {
		t.Errorf("served %s after the upload", c.Leaf.Subject)
	}

	// Text fields work as well as files (curl -F cert="<cert.pem").
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	other, _ := selfSigned(t, "office-pbx")
	mw.WriteField("cert", string(other))
	mw.WriteField("key", string(key))
	mw.Close()
	code, v = e.do("POST", "/api/v1/system/certificate", adminToken, mw.FormDataContentType(), &buf)
	if code != 400 || !strings.Contains(v["error"].(string), "key does not match") {
		t.Errorf("mismatched pair = %d %v, want 400 saying the key does not match", code, v)
	}

	for _, tc := range []struct {
		name   string
		ct     string
		body   io.Reader
		status int
		want   string
	}{
		{"not multipart", "application/json", strings.NewReader(`{}`), 400, "multipart/form-data"},
		{"no key", "", nil, 400, `field "key" is missing`},
		{"garbage", "", nil, 400, "no PEM certificate"},
		{"too big", "", nil, 413, "over"},
	} {
		switch tc.name {
		case "no key":
			tc.ct, tc.body = certForm(t, map[string][]byte{"cert": cert})
		case "garbage":
			tc.ct, tc.body = certForm(t, map[string][]byte{"cert": []byte("garbage"), "key": key})
		case "too big":
			tc.ct, tc.body = certForm(t, map[string][]byte{"cert": bytes.Repeat([]byte("A"), 200<<10), "key": key})
		}
		code, v := e.do("POST", "/api/v1/system/certificate", adminToken, tc.ct, tc.body)
		if msg, _ := v["error"].(string); code != tc.status || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v, want %d with %q", tc.name, code, v, tc.status, tc.want)
		}
	}
	if c, _ := e.certs.GetCertificate(nil); c.Leaf.Subject.CommonName != "pbx.example.com" {
		t.Errorf("a refused upload changed the certificate to %s", c.Leaf.Subject)
	}

	code, v = e.do("POST", "/api/v1/system/certificate/regenerate", adminToken, "", nil)
	if code != 200 || v["self_signed"] != true || v["subject"] == "CN=pbx.example.com" {
		t.Errorf("regenerate = %d %v", code, v)
	}
}

func TestCertificateRoutesWithHTTPSOff(t *testing.T) {
	e := newCertEnv(t, false)
	code, v := e.do("GET", "/api/v1/system/certificate", adminToken, "", nil)
	if code != 404 || !strings.Contains(v["error"].(string), "--https") {
		t.Errorf("GET with HTTPS off = %d %v, want 404 naming --https", code, v)
	}
}

func TestPlainHTTPRedirectsToHTTPS(t *testing.T) {
	kept := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("kept " + r.URL.Path)) })
	h := web.PlainHTTP("8443", kept)
	for _, tc := range []struct {
		method, target, host string
		status               int
		location             string
	}{
		{"GET", "/login?next=%2Fcalls", "192.168.1.20:8080", 301, "https://192.168.1.20:8443/login?next=%2Fcalls"},
		{"HEAD", "/", "ringbox.local", 301, "https://ringbox.local:8443/"},
		{"POST", "/api/v1/session", "box:80", 308, "https://box:8443/api/v1/session"},
		{"DELETE", "/api/v1/users/3", "[fd00::20]:80", 308, "https://[fd00::20]:8443/api/v1/users/3"},
		{"GET", "/", "evil.example/x?", 400, ""},
		{"GET", "/", "user@evil.example", 400, ""},
		{"GET", "/api/v1/health", "box", 200, ""},
		{"GET", "/metrics", "box", 200, ""},
	} {
		r := httptest.NewRequest(tc.method, "http://x"+tc.target, nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || w.Header().Get("Location") != tc.location {
			t.Errorf("%s %s Host %s = %d %q, want %d %q", tc.method, tc.target, tc.host, w.Code, w.Header().Get("Location"), tc.status, tc.location)
		}
		if tc.status == 200 && !strings.HasPrefix(w.Body.String(), "kept ") {
			t.Errorf("%s not served on HTTP: %q", tc.target, w.Body.String())
		}
		if w.Header().Get("Strict-Transport-Security") != "" {
			t.Errorf("HSTS sent by the plain port")
		}
	}
	// The standard port is left out of the URL.
	r := httptest.NewRequest("GET", "http://box/login", nil)
	w := httptest.NewRecorder()
	web.PlainHTTP("443", kept).ServeHTTP(w, r)
	if got := w.Header().Get("Location"); got != "https://box/login" {
		t.Errorf("Location %q, want https://box/login", got)
	}
}
