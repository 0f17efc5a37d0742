package edge

import (
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
)

// BenchmarkAllow is the filter's cost per packet: a phone's REGISTER
// (method, User-Agent scan, bucket), with and without an extension ban in
// force (which adds the username scan). Target: 2 µs.
func BenchmarkAllow(b *testing.B) {
	for _, extBan := range []bool{false, true} {
		b.Run(fmt.Sprintf("ext_ban=%v", extBan), func(b *testing.B) {
			f := New(Config{Logger: quiet, Rates: map[Method]Rate{MethodRegister: {PerSecond: 1e12, Burst: 1e12}}})
			if extBan {
				for i := range DefaultFailLimit {
					f.AuthFailed(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), "1009")
				}
			}
			msg := register("1001", "Yealink SIP-T46S 66.86.0.15")
			src := netip.MustParseAddrPort("10.0.0.20:5060")
			b.ReportAllocs()
			for b.Loop() {
				if !f.Allow(src, msg) {
					b.Fatal("dropped")
				}
			}
		})
	}
	b.Run("banned", func(b *testing.B) {
		f := New(Config{Logger: quiet})
		src := netip.MustParseAddrPort("203.0.113.1:5060")
		for range DefaultFailLimit {
			f.AuthFailed(src.Addr(), "")
		}
		msg := register("1001", "")
		b.ReportAllocs()
		for b.Loop() {
			f.Allow(src, msg)
		}
	})
}

var quiet = slog.New(slog.DiscardHandler)
