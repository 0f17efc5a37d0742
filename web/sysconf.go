package web

// The box's own settings the System page saves for the image's init
// scripts, which apply them at the next boot:
//
//	network.conf  /etc/init.d/S40network sources it (sh): MODE, ADDRESS, GATEWAY, DNS
//	hostname      /etc/init.d/S40network: one line, the host name
//	ntp.conf      /etc/init.d/S49ntp: "server NAME" lines
//
// network.conf is run by a shell, so what goes into it is checked
// strictly here: only addresses, prefixes and interface names, nothing a
// shell would expand.

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File names in the system directory.
const (
	networkFile  = "network.conf"
	hostnameFile = "hostname"
	ntpFile      = "ntp.conf"
)

// Limits of the forms.
const (
	maxDNS        = 3
	maxNTPServers = 5
)

// NetworkConfig is the box's saved network setting.
type NetworkConfig struct {
	Mode    string   `json:"mode"`              // "dhcp" or "static"
	Address string   `json:"address,omitempty"` // static: address/prefix, e.g. 192.168.1.10/24
	Gateway string   `json:"gateway,omitempty"` // static: the default route, may be empty
	DNS     []string `json:"dns,omitempty"`     // static: name servers
	// Iface is an IFACE= line kept from a hand-edited file (the form does
	// not set it).
	Iface string `json:"iface,omitempty"`
}

// fieldErrors are a form's problems by field name.
type fieldErrors map[string]string

// parseNetworkForm reads the network form (mode, address, gateway, dns,
// hostname) into a configuration and a host name ("" when none is set),
// or says what is wrong with each field.
func parseNetworkForm(get func(string) string) (NetworkConfig, string, fieldErrors) {
	errs := fieldErrors{}
	c := NetworkConfig{Mode: strings.TrimSpace(get("mode"))}
	host := strings.TrimSpace(get("hostname"))
	if host != "" {
		if err := checkHostname(host); err != nil {
			errs["hostname"] = err.Error()
		}
	}
	switch c.Mode {
	case "dhcp":
	case "static":
		addr, err := parseHostPrefix(strings.TrimSpace(get("address")))
		if err != nil {
			errs["address"] = err.Error()
		} else {
			c.Address = addr.String()
		}
		if gw := strings.TrimSpace(get("gateway")); gw != "" {
			g, err := netip.ParseAddr(gw)
			switch {
			case err != nil || g.Zone() != "":
				errs["gateway"] = fmt.Sprintf("%q is not an IP address (e.g. 192.168.1.1)", clipText(gw))
			case addr.IsValid() && g.Is4() != addr.Addr().Is4():
				errs["gateway"] = "the gateway must be the same IP version as the address"
			case addr.IsValid() && !addr.Masked().Contains(g):
				errs["gateway"] = fmt.Sprintf("%s is outside the box's network %s: the gateway must be on the same network", g, addr.Masked())
			case addr.IsValid() && g == addr.Addr():
				errs["gateway"] = "the gateway cannot be the box's own address"
			default:
				c.Gateway = g.String()
			}
		}
		for _, d := range strings.FieldsFunc(get("dns"), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
			a, err := netip.ParseAddr(d)
			if err != nil || a.Zone() != "" || a.IsUnspecified() {
				errs["dns"] = fmt.Sprintf("%q is not an IP address: give name servers by address, separated by spaces", clipText(d))
				break
			}
			if !slices.Contains(c.DNS, a.String()) {
				c.DNS = append(c.DNS, a.String())
			}
		}
		if len(c.DNS) > maxDNS {
			errs["dns"] = fmt.Sprintf("at most %d name servers", maxDNS)
		}
	case "":
		errs["mode"] = "choose DHCP or a static address"
	default:
		errs["mode"] = fmt.Sprintf("%q: want dhcp or static", clipText(c.Mode))
	}
	if len(errs) > 0 {
		return NetworkConfig{}, "", errs
	}
	return c, host, nil
}

// parseHostPrefix reads the box's address with its prefix length.
func parseHostPrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("a static address is required, with its prefix length, e.g. 192.168.1.10/24")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, err2 := netip.ParseAddr(s); err2 == nil && a.Zone() == "" {
			return netip.Prefix{}, fmt.Errorf("add the prefix length after the address, e.g. %s/24", a)
		}
		return netip.Prefix{}, fmt.Errorf("%q is not an address with a prefix length, e.g. 192.168.1.10/24", clipText(s))
	}
	a := p.Addr()
	switch {
	case a.Is4In6():
		return netip.Prefix{}, errors.New("give an IPv4 address in dotted form, e.g. 192.168.1.10/24")
	case a.IsUnspecified(), a.IsLoopback(), a.IsMulticast(), a.IsLinkLocalUnicast() && a.Is4(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.Prefix{}, fmt.Errorf("%s cannot be the box's address", a)
	case p.Bits() == 0:
		return netip.Prefix{}, errors.New("a /0 prefix is not a network: use e.g. /24")
	}
	if a.Is4() && p.Bits() <= 30 {
		net := p.Masked().Addr()
		if a == net {
			return netip.Prefix{}, fmt.Errorf("%s is the network's own address: choose a host address in %s", a, p.Masked())
		}
		if a == broadcast4(p) {
			return netip.Prefix{}, fmt.Errorf("%s is the broadcast address of %s: choose a host address", a, p.Masked())
		}
	}
	return p, nil
}

func broadcast4(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// checkHostname accepts an RFC 1123 host name: labels of letters, digits
// and hyphens, 63 characters each, 253 in all.
func checkHostname(h string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not a valid host name: %s", clipText(h), why) }
	if len(h) > 253 {
		return bad("at most 253 characters")
	}
	for _, l := range strings.Split(h, ".") {
		switch {
		case l == "":
			return bad("empty part between dots")
		case len(l) > 63:
			return bad("each part at most 63 characters")
		case l[0] == '-' || l[len(l)-1] == '-':
			return bad("a part cannot start or end with a hyphen")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return bad("use letters, digits and hyphens only")
			}
		}
	}
	return nil
}

// clipText shortens what a user typed for an error message.
func clipText(s string) string {
	if len(s) > 60 {
		i := 60
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		return s[:i] + "…"
	}
	return s
}

func validIface(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// file is c in the format S40network sources.
func (c NetworkConfig) file() string {
	var b strings.Builder
	b.WriteString("# Network settings saved by ringbox's System page; /etc/init.d/S40network\n")
	b.WriteString("# reads them at boot (sourced by sh).\n")
	if validIface(c.Iface) {
		fmt.Fprintf(&b, "IFACE=%s\n", c.Iface)
	}
	if c.Mode != "static" {
		b.WriteString("MODE=dhcp\n")
		return b.String()
	}
	b.WriteString("MODE=static\n")
	fmt.Fprintf(&b, "ADDRESS=%s\n", c.Address)
	if c.Gateway != "" {
		fmt.Fprintf(&b, "GATEWAY=%s\n", c.Gateway)
	}
	if len(c.DNS) > 0 {
		fmt.Fprintf(&b, "DNS=\"%s\"\n", strings.Join(c.DNS, " "))
	}
	return b.String()
}

// parseNetworkFile reads network.conf back (KEY=VALUE lines; # comments).
// What it cannot read is left out: the page shows DHCP, as S40network
// would fall back to for a bad address.
func parseNetworkFile(data string) NetworkConfig {
	c := NetworkConfig{Mode: "dhcp"}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch strings.TrimSpace(k) {
		case "MODE":
			c.Mode = v
		case "ADDRESS":
			c.Address = v
		case "GATEWAY":
			c.Gateway = v
		case "DNS":
			c.DNS = strings.Fields(v)
		case "IFACE":
			if validIface(v) {
				c.Iface = v
			}
		}
	}
	if c.Mode != "static" {
		return NetworkConfig{Mode: "dhcp", Iface: c.Iface}
	}
	return c
}

// parseNTPForm reads the NTP servers, separated by spaces, commas or
// lines: host names or addresses.
func parseNTPForm(text string) ([]string, error) {
	var out []string
	for _, s := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		if a, err := netip.ParseAddr(s); err == nil {
			if a.Zone() != "" || a.IsUnspecified() {
				return nil, fmt.Errorf("%q cannot be an NTP server", clipText(s))
			}
			s = a.String()
		} else if err := checkHostname(s); err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a host name", clipText(s))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > maxNTPServers {
		return nil, fmt.Errorf("at most %d NTP servers", maxNTPServers)
	}
	return out, nil
}

func ntpFileText(servers []string) string {
	var b strings.Builder
	b.WriteString("# NTP servers saved by ringbox's System page; /etc/init.d/S49ntp reads them at boot.\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "server %s\n", s)
	}
	return b.String()
}

// parseNTPFile reads ntp.conf as S49ntp does: "server NAME" or NAME per
// line, # comments.
func parseNTPFile(data string) []string {
	var out []string
	for line := range strings.Lines(data) {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "server" {
			f = f[1:]
		}
		if len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// writeFileAtomic replaces dir/name with data, so a power cut leaves the
// old file or the new one, never half of it; "" removes it.
func writeFileAtomic(dir, name, data string) error {
	path := filepath.Join(dir, name)
	if data == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("system settings directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readSmallFile reads a settings file; a missing one is "".
func readSmallFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return string(b), nil
}

// RemoveSystemSettings removes the network, host name and NTP settings
// saved in dir, so the next boot is as the image's own (DHCP, its host
// name, DHCP's or the pool's NTP servers): a factory reset keeps nothing.
func RemoveSystemSettings(dir string) error {
	var errs []error
	for _, name := range []string{networkFile, hostnameFile, ntpFile} {
		errs = append(errs, writeFileAtomic(dir, name, ""))
	}
	return errors.Join(errs...)
}
