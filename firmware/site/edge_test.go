package site

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestEdgeFields(t *testing.T) {
	y := `version: 1
system: {name: T, sip_user_agent: "Office PBX", sip_ban_failures: 3, sip_ban_window: 30m, sip_ban_time: 24h, sip_trusted: [192.168.1.0/24, 198.51.100.7]}
extensions:
  - {number: "101", allow: [192.168.1.0/24, 10.0.0.7]}
  - {number: "102"}
`
	s, err := Parse([]byte(y), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); errs != nil {
		t.Fatalf("valid edge fields refused: %v", errs)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("10.0.0.7/32")}
	if got := s.Extensions[0].AllowPrefixes(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("allow = %v, want %v", got, want)
	}
	if s.System.UserAgent() != "Office PBX" || (System{}).UserAgent() != "Ringbox" {
		t.Errorf("user agents %q %q", s.System.UserAgent(), (System{}).UserAgent())
	}
	if s.System.SIPBanFailures != 3 || s.System.SIPBanWindow.D() != 30*time.Minute || s.System.SIPBanTime.D() != 24*time.Hour {
		t.Errorf("ban policy = %d %s %s", s.System.SIPBanFailures, s.System.SIPBanWindow, s.System.SIPBanTime)
	}
	if got := s.System.TrustedPrefixes(); len(got) != 2 || got[1] != netip.MustParsePrefix("198.51.100.7/32") {
		t.Errorf("trusted = %v", got)
	}
	for _, tt := range []struct {
		change     func(*Site)
		field, msg string
	}{
		{func(s *Site) { s.Extensions[1].Allow = []string{"192.168.1.300/24"} }, "extensions[1].allow[0]", "is not a network"},
		{func(s *Site) { s.Extensions[1].Allow = []string{"office"} }, "extensions[1].allow[0]", "is not a network"},
		{func(s *Site) { s.Extensions[1].Allow = []string{"0.0.0.0/0"} }, "extensions[1].allow[0]", "allows every address"},
		{func(s *Site) { s.System.SIPUserAgent = "a\r\nX-Evil: 1" }, "system.sip_user_agent", "printable ASCII"},
		{func(s *Site) { s.System.SIPUserAgent = strings.Repeat("x", 65) }, "system.sip_user_agent", "at most 64"},
		{func(s *Site) { s.System.SIPBanFailures = 1 }, "system.sip_ban_failures", "between 2 and 100"},
		{func(s *Site) { s.System.MediaTimeout = Duration(5 * time.Second) }, "system.media_timeout", "between 10s and 1h"},
		{func(s *Site) { s.System.SIPBanWindow = Duration(2 * time.Second) }, "system.sip_ban_window", "between 1m and 24h"},
		{func(s *Site) { s.System.SIPBanTime = Duration(30 * 24 * time.Hour) }, "system.sip_ban_time", "between 1m and 168h"},
		{func(s *Site) { s.System.SIPTrusted = []string{"lan"} }, "system.sip_trusted[0]", "is not a network"},
		{func(s *Site) { s.System.SIPTrusted = []string{"10.0.0.0/8", "::/0"} }, "system.sip_trusted[1]", "trusts every address"},
	} {
		s, _ := Parse([]byte(y), "site.yaml")
		tt.change(s)
		found := false
		for _, p := range s.Validate() {
			found = found || (p.Field == tt.field && strings.Contains(p.Msg, tt.msg))
		}
		if !found {
			t.Errorf("want %s: ...%s...; got %v", tt.field, tt.msg, s.Validate())
		}
	}
}
