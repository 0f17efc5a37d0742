package main

import (
	"net/netip"
	"testing"
)

// TestMediaBindBehindNAT: with --public-ip (a router's address) the RTP
// sockets bind to the box's own address, not to the announced one.
func TestMediaBindBehindNAT(t *testing.T) {
	pub := netip.MustParseAddr("203.0.113.5")
	for _, c := range []struct {
		publicIP, sip string
		pub           netip.Addr
		want          string
	}{
		{"", ":5060", netip.MustParseAddr("192.168.1.10"), "192.168.1.10"},
		{"203.0.113.5", ":5060", pub, "0.0.0.0"},
		{"203.0.113.5", "192.168.1.10:5060", pub, "192.168.1.10"},
		{"2001:db8::5", "[::]:5060", netip.MustParseAddr("2001:db8::5"), "::"},
	} {
		if got := mediaBind(c.publicIP, c.sip, c.pub); got.String() != c.want {
			t.Errorf("--public-ip %q --sip %q: bind %s, want %s", c.publicIP, c.sip, got, c.want)
		}
	}
}
