package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SIPCredential is what the SIP registrar needs to check a digest
// response for an extension: HA1 = H(number:realm:secret) in MD5 and
// SHA-256, lowercase hex.
type SIPCredential struct {
	Number    string
	Realm     string
	HA1MD5    string
	HA1SHA256 string
}

// SIPCredentials returns the digest credentials of an extension for the
// store's realm (Options.Realm). ErrNotFound for an unknown extension or
// one without a secret.
func (s *Store) SIPCredentials(ctx context.Context, number string) (SIPCredential, error) {
	var secret, realm, m, h string
	err := s.r.QueryRowContext(ctx, `SELECT secret, ha1_realm, ha1_md5, ha1_sha256 FROM extensions WHERE number = ?`, number).
		Scan(&secret, &realm, &m, &h)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && secret == "") {
		return SIPCredential{}, fmt.Errorf("store: extension %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return SIPCredential{}, s.errf("read extension "+number, err)
	}
	if realm != s.realm {
		// Stored by a process with another realm: derive, do not write.
		m, h = ha1(number, s.realm, secret)
	}
	return SIPCredential{Number: number, Realm: s.realm, HA1MD5: m, HA1SHA256: h}, nil
}
