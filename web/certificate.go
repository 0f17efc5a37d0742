package web

// The box's web certificate (package tlscert) and the plain HTTP port
// when HTTPS is on.
//
//	GET  /api/v1/system/certificate             admin: the certificate in use
//	POST /api/v1/system/certificate             admin: upload one (multipart: cert, key; PEM)
//	POST /api/v1/system/certificate/regenerate  admin: a new self-signed one
//
// All three answer tlscert.Info as JSON; a refused upload answers 400
// {"error": "..."} naming what is wrong. The certificate serves the web
// page (--https) and SIP over TLS (--sip-tls); with both off they answer
// 404 {"error": "HTTPS is off ..."}.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"

	"ringbox/firmware/auth"
	"ringbox/firmware/tlscert"
)

// CertificateRoutes are the routes of the box's web certificate. certs nil
// means HTTPS is off; the routes then say so.
func CertificateRoutes(certs *tlscert.Store, log *slog.Logger) []Route {
	if log == nil {
		log = slog.Default()
	}
	c := &certAPI{certs: certs, log: log.With("pkg", "web")}
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/system/certificate", Role: auth.Admin,
			Summary: "The web page's TLS certificate: subject, issuer, SANs, validity, self_signed, fingerprint_sha256",
			Handler: http.HandlerFunc(c.get)},
		{Method: http.MethodPost, Path: "/api/v1/system/certificate", Role: auth.Admin,
			Summary: "Upload a TLS certificate (multipart/form-data: cert = PEM chain, server certificate first; key = PEM private key); served from the next connection",
			Handler: http.HandlerFunc(c.upload)},
		{Method: http.MethodPost, Path: "/api/v1/system/certificate/regenerate", Role: auth.Admin,
			Summary: "Replace the TLS certificate with a new self-signed one naming the box's current hostname and addresses",
			Handler: http.HandlerFunc(c.regenerate)},
	}
}

type certAPI struct {
	certs *tlscert.Store
	log   *slog.Logger
}

// maxCertUploadBytes bounds the whole multipart body: both PEM files at
// their limit plus the multipart framing.
const maxCertUploadBytes = 2*tlscert.MaxUploadBytes + 16<<10

func (c *certAPI) off(w http.ResponseWriter) bool {
	if c.certs != nil {
		return false
	}
	WriteError(w, http.StatusNotFound, "HTTPS is off: ringbox serve runs without --https and with --sip-tls off, so there is no certificate")
	return true
}

func (c *certAPI) get(w http.ResponseWriter, r *http.Request) {
	if c.off(w) {
		return
	}
	WriteJSON(w, http.StatusOK, c.certs.Info())
}

func (c *certAPI) upload(w http.ResponseWriter, r *http.Request) {
	if c.off(w) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCertUploadBytes)
	if err := r.ParseMultipartForm(maxCertUploadBytes); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is over %d KB: want a PEM certificate chain and a PEM key", maxCertUploadBytes>>10))
		case errors.Is(err, http.ErrNotMultipart):
			WriteError(w, http.StatusBadRequest, "want multipart/form-data with the fields cert and key")
		default:
			WriteError(w, http.StatusBadRequest, "the upload does not read as multipart/form-data: "+err.Error())
		}
		return
	}
	defer r.MultipartForm.RemoveAll()
	certPEM, err := formPart(r.MultipartForm, "cert")
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	keyPEM, err := formPart(r.MultipartForm, "key")
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	info, err := c.certs.Upload(certPEM, keyPEM)
	var refused *tlscert.UploadError
	if errors.As(err, &refused) {
		WriteError(w, http.StatusBadRequest, refused.Msg)
		return
	}
	if err != nil {
		WriteInternalError(w, r, c.log, err)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	c.log.Info("web certificate replaced by an upload", "login", p.Login, "fingerprint", info.Fingerprint)
	WriteJSON(w, http.StatusOK, info)
}

// formPart reads field name of a multipart form, sent as a file or as a
// plain field.
func formPart(f *multipart.Form, name string) ([]byte, error) {
	if fhs := f.File[name]; len(fhs) > 0 {
		fh, err := fhs[0].Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer fh.Close()
		b, err := io.ReadAll(io.LimitReader(fh, tlscert.MaxUploadBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	if vs := f.Value[name]; len(vs) > 0 && vs[0] != "" {
		return []byte(vs[0]), nil
	}
	return nil, fmt.Errorf("the field %q is missing: want cert (the PEM certificate chain) and key (the PEM private key)", name)
}

func (c *certAPI) regenerate(w http.ResponseWriter, r *http.Request) {
	if c.off(w) {
		return
	}
	info, err := c.certs.Regenerate()
	if err != nil {
		WriteInternalError(w, r, c.log, err)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	c.log.Info("web certificate regenerated", "login", p.Login, "fingerprint", info.Fingerprint)
	WriteJSON(w, http.StatusOK, info)
}

// PlainHTTP is the handler of the plain HTTP port while HTTPS is on.
// Machine endpoints stay on HTTP: /api/v1/health (the boot test, the
// update's mark-good check and load balancers poll it, and it tells
// nothing secret) and /metrics (Prometheus scrapers are configured with a
// URL; it is loopback-only or needs a bearer token anyway). They are
// served by keep. Every other request is redirected to the same host and
// path over HTTPS on httpsPort: 301 for GET and HEAD, 308 for the rest,
// so a POST stays a POST with its body.
//
// No HSTS: the certificate is usually self-signed and may change, and
// HSTS would take away the browser's click-through.
func PlainHTTP(httpsPort string, keep http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/health" || r.URL.Path == "/metrics" {
			keep.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" {
			// HTTP/1.0 without Host: the address the client reached.
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host, _, _ = net.SplitHostPort(a.String())
			}
		}
		if !validHost(host) {
			WriteError(w, http.StatusBadRequest, "this port redirects to HTTPS; the Host header is not a host name")
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if httpsPort != "443" {
			host += ":" + httpsPort
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		w.Header().Set("Cache-Control", "no-store") // --https may be turned off again
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), code)
	})
}

// validHost accepts a DNS name or an IP address: nothing that would let a
// Host header put a path, user info or a second host into the redirect.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r == ':' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
