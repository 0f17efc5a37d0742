package site

import (
	"strings"
	"testing"
)

func TestParseAllow(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.0/28":       "203.0.113.0/28",
		"203.0.113.9/28":       "203.0.113.0/28",
		" 198.51.100.7 ":       "198.51.100.7/32",
		"::ffff:192.0.2.1":     "192.0.2.1/32",
		"::ffff:192.0.2.0/120": "192.0.2.0/24",
		"2001:db8::/32":        "2001:db8::/32",
	} {
		p, err := ParseAllow(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseAllow(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "sbc.carrier.example", "203.0.113.0/33", "203.0.113.0/", "fe80::1%eth0", "::ffff:192.0.2.0/64"} {
		if p, err := ParseAllow(in); err == nil {
			t.Errorf("ParseAllow(%q) = %v, want an error", in, p)
		}
	}
}

// FuzzParseAllow: any allow entry is refused with an error or gives a
// masked, unmapped network that reads back the same.
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"203.0.113.0/28", "198.51.100.7", "::ffff:1.2.3.4/100", "2001:db8::1", "x", "1.2.3.4/", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseAllow(s)
		if err != nil {
			if !strings.Contains(err.Error(), "bad") {
				t.Fatalf("error %q names no problem", err)
			}
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("ParseAllow(%q) = %v: not a masked, unmapped network", s, p)
		}
		if q, err := ParseAllow(p.String()); err != nil || q != p {
			t.Fatalf("ParseAllow(%q) = %v, which reads back as %v, %v", s, p, q, err)
		}
	})
}

// FuzzCheckHeader: a name or value the checks accept is one a SIP header
// can carry (no separator, no line break).
func FuzzCheckHeader(f *testing.F) {
	for _, s := range []string{"X-Carrier-Id", "acme-7", "Via", "a b", "x:y", "é", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckHeaderName(s) == nil && (s == "" || strings.ContainsAny(s, ": \t\r\n,;")) {
			t.Fatalf("header name %q accepted", s)
		}
		if CheckHeaderValue(s) == nil && (strings.TrimSpace(s) == "" || strings.ContainsAny(s, "\r\n")) {
			t.Fatalf("header value %q accepted", s)
		}
	})
}

func TestTrunkIdentificationValidation(t *testing.T) {
	st := &Site{
		Version:    1,
		System:     System{Name: "x", Timezone: "UTC", MaxSetupPerSource: -1},
		Extensions: []Extension{{Number: "101", Name: "A", Secret: "secret-101-abc"}},
		Trunks: []Trunk{
			{ID: "a", Host: "192.0.2.1", Ports: []int{5060, 0, 5060}, Allow: []string{"203.0.113.0/28", "sbc.example"},
				MatchHeader: &HeaderMatch{Name: "Via", Value: " x"}, InboundAuth: &InboundAuth{Username: "101", Password: "short"},
				MaxInboundSetup: 50, MaxInboundCalls: 10},
			{ID: "b", FXO: 1, Allow: []string{"192.0.2.9"}},
			{ID: "c", Host: "192.0.2.3", InboundAuth: &InboundAuth{}, MaxInboundCalls: -2},
		},
	}
	errs := st.Validate()
	if len(errs) == 0 {
		t.Fatal("no problems found")
	}
	msg := errs.Error()
	for _, want := range []string{
		"trunks[0].ports[1]", "bad port 0",
		"trunks[0].ports[2]", "port 5060 is listed twice",
		"trunks[0].allow[1]", `bad address "sbc.example"`,
		"trunks[0].match_header.name", "cannot tell a trunk from a phone",
		"trunks[0].match_header.value", "starts or ends with spaces",
		"trunks[0].inbound_auth.username", "is an extension's number",
		"trunks[0].inbound_auth.password", "shorter than 8",
		"trunks[0].max_inbound_setup", "above max_inbound_calls",
		"trunks[1].allow", "SIP trunks only",
		"trunks[2].inbound_auth.username", "needs the username",
		"trunks[2].max_inbound_calls", "must be 0",
		"system.max_setup_per_source", "must be 0",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems do not mention %q:\n%s", want, msg)
		}
	}
}

// The inbound_auth password is a secret: exported only with secrets; the
// rest of the identification fields read back as written.
func TestTrunkIdentificationExport(t *testing.T) {
	y := `version: 1
system: {name: x, timezone: UTC, max_setup_per_source: 4, max_calls_per_source: 9}
trunks:
  - id: carrier
    host: sip.example:5060
    ports: [5060, 5080]
    allow: [203.0.113.0/28, 198.51.100.7]
    match_header: {name: X-Carrier-Id, value: acme-7}
    inbound_auth: {username: acme-in, password: inbound-secret}
    max_inbound_setup: 5
    max_inbound_calls: 20
`
	st, err := Parse([]byte(y), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := st.Trunks[0]
	if len(tr.Ports) != 2 || len(tr.Allow) != 2 || tr.MatchHeader == nil || tr.MatchHeader.Value != "acme-7" ||
		tr.InboundAuth == nil || tr.InboundAuth.Password != "inbound-secret" || tr.MaxInboundSetup != 5 || st.System.MaxCallsPerSource != 9 {
		t.Fatalf("parsed %+v", tr)
	}
	out, err := Marshal(st, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "inbound-secret") || !strings.Contains(string(out), "inbound_auth: {username: acme-in}") {
		t.Errorf("export without secrets:\n%s", out)
	}
	if st.Trunks[0].InboundAuth.Password != "inbound-secret" {
		t.Error("Marshal changed the site it wrote")
	}
	out, err = Marshal(st, true)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, "site.yaml")
	if err != nil || !Equal(st, back) {
		t.Errorf("export with secrets does not read back the same (%v):\n%s", err, out)
	}
}
