package store

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"ringbox/firmware/edge"
	"ringbox/firmware/site"
)

func TestEdgeFieldsRoundTrip(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	in := &site.Site{Version: 1, System: site.System{Name: "T", SIPUserAgent: "Office PBX", SIPBanFailures: 3,
		SIPBanWindow: site.Duration(30 * time.Minute), SIPBanTime: site.Duration(24 * time.Hour), SIPTrusted: []string{"192.168.1.0/24", "198.51.100.7"}},
		Extensions: []site.Extension{{Number: "101", Allow: []string{"192.168.1.0/24", "10.0.0.7"}}, {Number: "102"}},
		Users:      []site.User{{Login: "admin", Role: site.RoleAdmin, Password: "correct horse"}}}
	if _, err := s.ImportSite(t.Context(), in, "test"); err != nil {
		t.Fatal(err)
	}
	out, err := s.ExportSite(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.System.SIPUserAgent != "Office PBX" || !slices.Equal(out.Extensions[0].Allow, in.Extensions[0].Allow) || out.Extensions[1].Allow != nil {
		t.Errorf("exported %q %v %v", out.System.SIPUserAgent, out.Extensions[0].Allow, out.Extensions[1].Allow)
	}
	if sys := out.System; sys.SIPBanFailures != 3 || sys.SIPBanWindow != in.System.SIPBanWindow || sys.SIPBanTime != in.System.SIPBanTime ||
		!slices.Equal(sys.SIPTrusted, in.System.SIPTrusted) {
		t.Errorf("ban policy exported as %d %s %s %v", sys.SIPBanFailures, sys.SIPBanWindow, sys.SIPBanTime, sys.SIPTrusted)
	}
}

func TestBansKept(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	now := time.Now().Truncate(time.Millisecond).UTC()
	b := edge.Ban{Key: "ext:101", Reason: "guessing", Count: 5, Offence: 2, Since: now, Until: now.Add(2 * time.Hour),
		Exempt: []netip.Addr{netip.MustParseAddr("10.0.0.20")}}
	if err := s.SaveBan(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBan(t.Context(), edge.Ban{Key: "203.0.113.1", Reason: "x", Count: 5, Offence: 1, Since: now, Until: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBan(t.Context(), "203.0.113.1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadBans(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != b.Key || !got[0].Until.Equal(b.Until) || got[0].Offence != 2 || !slices.Equal(got[0].Exempt, b.Exempt) {
		t.Errorf("loaded %+v, want %+v", got, b)
	}
}
