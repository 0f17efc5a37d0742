package tlscert

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkGenerate is the cost of a first start's (or a renewal's)
// certificate on the box.
func BenchmarkGenerate(b *testing.B) {
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.1.20")}
	for b.Loop() {
		if _, _, err := Generate([]string{"ringbox", "ringbox.local"}, ips, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
