package voicemail

import "crypto/tls"

// tlsConfig verifies the relay's certificate against the system roots.
func tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}
