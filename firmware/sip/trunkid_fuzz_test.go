package sip

import (
	"strings"
	"testing"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/site"
)

// FuzzHeaderMatch feeds INVITEs with any header line through sipgo's
// parser and the trunk header match: no crash, and a match only when the
// request carries the configured header with the configured value.
func FuzzHeaderMatch(f *testing.F) {
	f.Add("X-Carrier-Id: acme-7", "X-Carrier-Id", "acme-7")
	f.Add("x-carrier-id:acme-7 , other", "X-Carrier-Id", "acme-7")
	f.Add("X-Carrier-Id: ,,,", "X-Carrier-Id", ",")
	f.Add("X-Carrier-Id: acme-70", "X-Carrier-Id", "acme-7")
	f.Add("X-Carrier-Id:", "X-Carrier-Id", " ")
	f.Add("P-Asserted-Identity: <sip:+1@x>", "p-asserted-identity", "<sip:+1@x>")
	f.Fuzz(func(t *testing.T, line, name, value string) {
		if strings.ContainsAny(line, "\r\n") {
			return // one header line
		}
		msg := "INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=a\r\n" +
			"To: <sip:1@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n" + line + "\r\nContent-Length: 0\r\n\r\n"
		m, err := sipgosip.ParseMessage([]byte(msg))
		if err != nil {
			return
		}
		req, ok := m.(*sipgosip.Request)
		if !ok {
			return
		}
		got := headerMatches(req, name, value)
		if !got {
			return
		}
		if site.CheckHeaderName(name) != nil && strings.TrimSpace(value) == "" {
			t.Fatalf("matched an empty value for %q", name)
		}
		want := strings.TrimSpace(value)
		found := false
		for _, h := range req.GetHeaders(name) {
			if strings.Contains(h.Value(), want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("matched %q: %q, but no %s header holds it in %q", name, value, name, line)
		}
	})
}
