package web

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzNetworkForm: whatever the form holds, the parser answers without a
// crash; what it accepts is written as a file a shell can source safely
// (no character sh would expand) and reads back the same.
func FuzzNetworkForm(f *testing.F) {
	f.Add("static", "10.0.2.15/24", "10.0.2.2", "10.0.2.3 1.1.1.1", "pbx")
	f.Add("dhcp", "", "", "", "")
	f.Add("static", "fd00::5/64", "fd00::1", "fd00::53", "a.b-c")
	f.Add("static", "10.0.2.15/24", "10.0.2.2", "1.1.1.1;reboot", "x")
	f.Add("static", "192.168.1.1/32", "", "", "h$(id)")
	f.Add("static", "::ffff:10.0.0.1/120", "", "", "")
	f.Add("static", "10.0.0.1/31", "10.0.0.0", "", "")
	f.Fuzz(func(t *testing.T, mode, address, gateway, dns, hostname string) {
		form := map[string]string{"mode": mode, "address": address, "gateway": gateway, "dns": dns, "hostname": hostname}
		c, host, errs := parseNetworkForm(func(k string) string { return form[k] })
		if errs != nil {
			for k, msg := range errs {
				if msg == "" || !slices.Contains([]string{"mode", "address", "gateway", "dns", "hostname"}, k) {
					t.Fatalf("error %q for field %q", msg, k)
				}
			}
			return
		}
		if host != "" && checkHostname(host) != nil {
			t.Fatalf("accepted host name %q", host)
		}
		text := c.file()
		for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok || !slices.Contains([]string{"MODE", "ADDRESS", "GATEWAY", "DNS"}, k) {
				t.Fatalf("line %q in\n%s", line, text)
			}
			if strings.ContainsFunc(strings.Trim(v, `"`), func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'F' || r == '.' || r == ':' || r == '/' || r == ' ')
			}) {
				t.Fatalf("value a shell may expand: %q", line)
			}
		}
		back := parseNetworkFile(text)
		if back.Mode != c.Mode || back.Address != c.Address || back.Gateway != c.Gateway || !slices.Equal(back.DNS, c.DNS) {
			t.Fatalf("%+v reads back as %+v from\n%s", c, back, text)
		}
		if c.Mode == "static" {
			p, err := netip.ParsePrefix(c.Address)
			if err != nil || p.Bits() == 0 {
				t.Fatalf("accepted address %q", c.Address)
			}
			if c.Gateway != "" && !p.Masked().Contains(netip.MustParseAddr(c.Gateway)) {
				t.Fatalf("gateway %s outside %s", c.Gateway, p)
			}
		}
	})
}

// FuzzNTPForm: accepted servers are written as "server NAME" lines that
// read back the same.
func FuzzNTPForm(f *testing.F) {
	f.Add("pool.ntp.org 10.0.0.1")
	f.Add("a,b\nc")
	f.Add("server; rm -rf /")
	f.Fuzz(func(t *testing.T, text string) {
		servers, err := parseNTPForm(text)
		if err != nil {
			return
		}
		if got := parseNTPFile(ntpFileText(servers)); !slices.Equal(got, servers) && len(servers) > 0 {
			t.Fatalf("%q reads back as %q", servers, got)
		}
		for _, s := range servers {
			if strings.ContainsAny(s, " \t\n#;$`'\"\\") {
				t.Fatalf("server %q", s)
			}
		}
	})
}
