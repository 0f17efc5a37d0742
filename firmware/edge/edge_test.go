package edge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func register(user, ua string) []byte {
	msg := "REGISTER sip:ringbox SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:1001@ringbox>;tag=1\r\nTo: <sip:1001@ringbox>\r\nCall-ID: x@y\r\nCSeq: 1 REGISTER\r\n"
	if ua != "" {
		msg += "User-Agent: " + ua + "\r\n"
	}
	if user != "" {
		msg += `Authorization: Digest username="` + user + `", realm="ringbox", nonce="n", uri="sip:ringbox", response="0"` + "\r\n"
	}
	return []byte(msg + "Content-Length: 0\r\n\r\n")
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func ip(s string) netip.Addr     { return netip.MustParseAddr(s) }

type memStore struct {
	mu   sync.Mutex
	bans map[string]Ban
}

func (m *memStore) SaveBan(_ context.Context, b Ban) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bans[b.Key] = b
	return nil
}
func (m *memStore) DeleteBan(_ context.Context, k string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.bans, k)
	return nil
}
func (m *memStore) LoadBans(context.Context) ([]Ban, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Ban
	for _, b := range m.bans {
		out = append(out, b)
	}
	return out, nil
}

func TestBanAfterFailuresInWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var banned []Ban
		f := New(Config{OnBan: func(b Ban) { banned = append(banned, b) }})
		atk := ip("203.0.113.5")
		// Four failures, then a pause longer than the window: the fifth
		// starts a new count.
		for range 4 {
			f.AuthFailed(atk, "")
		}
		time.Sleep(DefaultFailWindow + time.Second)
		f.AuthFailed(atk, "")
		if len(banned) != 0 || !f.Allow(ap("203.0.113.5:5060"), register("", "")) {
			t.Fatalf("banned after failures spread over more than the window: %v", banned)
		}
		for range 4 {
			time.Sleep(time.Minute)
			f.AuthFailed(atk, "")
		}
		if len(banned) != 1 || banned[0].Key != "203.0.113.5" || banned[0].Until.Sub(banned[0].Since) != time.Hour {
			t.Fatalf("bans = %+v, want 203.0.113.5 for 1h", banned)
		}
		if f.Allow(ap("203.0.113.5:5999"), register("", "")) {
			t.Error("banned address still read")
		}
		if f.Drops(DropBanned) != 1 {
			t.Errorf("banned drops = %d, want 1", f.Drops(DropBanned))
		}
		if !f.Allow(ap("203.0.113.6:5060"), register("", "")) {
			t.Error("another address dropped")
		}
		time.Sleep(time.Hour)
		f.Sweep(t.Context())
		if !f.Allow(ap("203.0.113.5:5060"), register("", "")) || len(f.Bans()) != 0 {
			t.Error("ban did not expire after an hour")
		}
	})
}

func TestBanDoublesForRepeatOffender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New(Config{})
		atk := ip("198.51.100.1")
		want := []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour}
		for i, d := range want {
			for range DefaultFailLimit {
				f.AuthFailed(atk, "")
			}
			bans := f.Bans()
			if len(bans) != 1 || bans[0].Offence != i+1 || bans[0].Until.Sub(bans[0].Since) != d {
				t.Fatalf("offence %d: bans = %+v, want one of %v", i+1, bans, d)
			}
			time.Sleep(d)
			f.Sweep(t.Context())
			if len(f.Bans()) != 0 {
				t.Fatalf("offence %d: ban still in force after %v", i+1, d)
			}
		}
		// A day of good behaviour after the last ban: the next is a
		// first offence again.
		time.Sleep(DefaultRepeatMemory + time.Minute)
		f.Sweep(t.Context())
		for range DefaultFailLimit {
			f.AuthFailed(atk, "")
		}
		if b := f.Bans(); len(b) != 1 || b[0].Offence != 1 {
			t.Fatalf("after a quiet day: %+v, want a first offence", b)
		}
	})
}

func TestExtensionBanSparesItsPhone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New(Config{AllowList: func(ext string) []netip.Prefix {
			if ext == "1001" {
				return []netip.Prefix{netip.MustParsePrefix("192.168.50.0/24")}
			}
			return nil
		}})
		phone := ip("10.0.0.20")
		f.AuthOK(phone, "1001")
		// Five guesses at 1001 from five addresses: no address is banned,
		// the extension is.
		for i := range DefaultFailLimit {
			f.AuthFailed(ip(fmt.Sprintf("203.0.113.%d", i+1)), "1001")
		}
		bans := f.Bans()
		if len(bans) != 1 || bans[0].Key != "ext:1001" {
			t.Fatalf("bans = %+v, want ext:1001 alone", bans)
		}
		if f.Allow(ap("203.0.113.77:5060"), register("1001", "")) {
			t.Error("a guess at the banned extension from a new address was read")
		}
		if !f.Allow(ap("203.0.113.77:5060"), register("1002", "")) {
			t.Error("another extension's request dropped")
		}
		if !f.Allow(ap("10.0.0.20:5060"), register("1001", "")) {
			t.Error("the extension's own phone is locked out")
		}
		if !f.Allow(ap("192.168.50.9:5060"), register("1001", "")) {
			t.Error("an address on the extension's allow list is locked out")
		}
		if !f.Allow(ap("203.0.113.77:5060"), register("", "")) {
			t.Error("a request without credentials dropped: it only gets a challenge")
		}
		if _, err := f.Lift(t.Context(), "ext:1001", "admin"); err != nil {
			t.Fatal(err)
		}
		if !f.Allow(ap("203.0.113.77:5060"), register("1001", "")) {
			t.Error("lifted ban still drops")
		}
		if _, err := f.Lift(t.Context(), "ext:1001", "admin"); !errors.Is(err, ErrNoBan) {
			t.Errorf("second lift: %v, want ErrNoBan", err)
		}
	})
}

func TestAllowList(t *testing.T) {
	f := New(Config{AllowList: func(ext string) []netip.Prefix {
		if ext == "1001" {
			return []netip.Prefix{netip.MustParsePrefix("192.168.50.0/24")}
		}
		return nil
	}})
	if !f.Permitted("1001", ip("192.168.50.3")) || !f.Permitted("1002", ip("203.0.113.1")) {
		t.Error("refused inside the allow list or without one")
	}
	if f.Permitted("1001", ip("203.0.113.1")) || f.Drops(DropAllow) != 1 {
		t.Error("accepted outside the allow list, or not counted")
	}
}

func TestBansRestoredAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memStore{bans: map[string]Ban{}}
		f := New(Config{Store: st})
		for range DefaultFailLimit {
			f.AuthFailed(ip("203.0.113.9"), "")
		}
		g := New(Config{Store: st})
		if err := g.Restore(t.Context()); err != nil {
			t.Fatal(err)
		}
		if g.Allow(ap("203.0.113.9:5060"), register("", "")) {
			t.Fatal("ban forgotten by a restart")
		}
		// The restarted box remembers the offence for the doubling.
		time.Sleep(time.Hour)
		h := New(Config{Store: st})
		if err := h.Restore(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !h.Allow(ap("203.0.113.9:5060"), register("", "")) {
			t.Fatal("expired ban restored")
		}
		for range DefaultFailLimit {
			h.AuthFailed(ip("203.0.113.9"), "")
		}
		if b := h.Bans(); len(b) != 1 || b[0].Offence != 2 || b[0].Until.Sub(b[0].Since) != 2*time.Hour {
			t.Fatalf("after restart: %+v, want a second offence of 2h", b)
		}
	})
}

func TestRateLimitPerSourceAndMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New(Config{})
		r := DefaultRates[MethodRegister]
		flood := ap("203.0.113.1:5060")
		ok := 0
		for range int(r.Burst) + 50 {
			if f.Allow(flood, register("", "")) {
				ok++
			}
		}
		if ok != int(r.Burst) {
			t.Errorf("%d REGISTERs read at once, want the burst %v", ok, r.Burst)
		}
		// Other methods and other sources have buckets of their own.
		if !f.Allow(flood, []byte("INVITE sip:1@x SIP/2.0\r\n\r\n")) || !f.Allow(ap("203.0.113.2:5060"), register("", "")) {
			t.Error("one bucket's flood limited another")
		}
		// Responses and in-dialog requests are never limited.
		if !f.Allow(flood, []byte("SIP/2.0 200 OK\r\n\r\n")) || !f.Allow(flood, []byte("BYE sip:1@x SIP/2.0\r\n\r\n")) {
			t.Error("response or BYE limited")
		}
		time.Sleep(time.Second)
		ok = 0
		for range 100 {
			if f.Allow(flood, register("", "")) {
				ok++
			}
		}
		if ok != int(r.PerSecond) {
			t.Errorf("after a second %d read, want the refill %v", ok, r.PerSecond)
		}
		// A phone at a normal rate (a REGISTER and its answer every
		// minute; a call every few seconds) never meets the limit.
		phone := ap("10.0.0.20:5060")
		for range 600 {
			if !f.Allow(phone, register("", "")) || !f.Allow(phone, register("1001", "")) ||
				!f.Allow(phone, []byte("INVITE sip:1@x SIP/2.0\r\n\r\n")) {
				t.Fatal("a phone at a normal rate was limited")
			}
			time.Sleep(5 * time.Second)
		}
	})
}

func TestScannerDropped(t *testing.T) {
	f := New(Config{})
	for _, ua := range []string{"friendly-scanner", "SIPVicious 0.3", "sipcli/v1.8", "VaxSIPUserAgent/3.1", "pplsip", "SunDayDDR", "iWar", "SIPScan", "sip-scan"} {
		if f.Allow(ap("203.0.113.1:5060"), register("", ua)) {
			t.Errorf("User-Agent %q read", ua)
		}
	}
	if !f.Allow(ap("203.0.113.1:5060"), register("", "Yealink SIP-T46S")) {
		t.Error("a phone's User-Agent dropped")
	}
	// A scanner's name in the body is not its User-Agent.
	msg := []byte("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\nUser-Agent: friendly-scanner\r\n")
	if !f.Allow(ap("203.0.113.2:5060"), msg) {
		t.Error("body text taken for a header")
	}
}

func TestTCPConnectionsPerSource(t *testing.T) {
	f := New(Config{MaxTCPPerSource: 2})
	a := ip("203.0.113.1")
	r1, ok1 := f.AdmitConn(a)
	_, ok2 := f.AdmitConn(a)
	_, ok3 := f.AdmitConn(a)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("admitted %v %v %v, want two of three", ok1, ok2, ok3)
	}
	if _, ok := f.AdmitConn(ip("203.0.113.2")); !ok {
		t.Error("another source refused")
	}
	r1()
	r1() // twice is once
	if _, ok := f.AdmitConn(a); !ok {
		t.Error("closed connection still counted")
	}
	if _, ok := f.AdmitConn(a); ok {
		t.Error("released twice")
	}
	if f.Drops(DropTCPLimit) != 2 {
		t.Errorf("tcp_limit drops = %d, want 2", f.Drops(DropTCPLimit))
	}
}

func TestUnparseableSampled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSampler(5, 30)
		logged := 0
		for range 1000 {
			if ok, _ := s.allow(ip("203.0.113.1"), time.Now()); ok {
				logged++
			}
		}
		if logged != 5 {
			t.Errorf("one source: %d lines, want 5", logged)
		}
		for i := range 1000 {
			if ok, _ := s.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), time.Now()); ok {
				logged++
			}
		}
		if logged != 30 {
			t.Errorf("many sources: %d lines in all, want the global 30", logged)
		}
		time.Sleep(time.Minute)
		ok, suppressed := s.allow(ip("203.0.113.1"), time.Now())
		if !ok || suppressed != 975 {
			t.Errorf("next minute: %v, suppressed %d, want a line saying 975 (the left-out lines since the last written)", ok, suppressed)
		}
	})
}

func TestNormalizeKey(t *testing.T) {
	for in, want := range map[string]string{"203.0.113.1": "203.0.113.1", "::ffff:203.0.113.1": "203.0.113.1", "ext:1001": "ext:1001"} {
		if got, err := NormalizeKey(in); err != nil || got != want {
			t.Errorf("NormalizeKey(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ext:", "host.example", "1001"} {
		if _, err := NormalizeKey(bad); err == nil {
			t.Errorf("NormalizeKey(%q) accepted", bad)
		}
	}
}

func FuzzSniff(f *testing.F) {
	f.Add(register("1001", "friendly-scanner"))
	f.Add([]byte("SIP/2.0 200 OK\r\n\r\n"))
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nProxy-Authorization: Digest username=1001,realm=x\r\n\r\n"))
	f.Add([]byte("SUBSCRIBE\r\nuser-agent:\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		m := SniffMethod(msg)
		if m != MethodOther && len(msg) < len(m.String())+1 {
			t.Fatalf("method %v from %q", m, msg)
		}
		_ = ScannerAgent(msg, DefaultScanners)
		if u := AuthUser(msg); len(u) > len(msg) {
			t.Fatalf("username longer than the message")
		}
		New(Config{}).Allow(ap("203.0.113.1:5060"), msg)
	})
}

// An installer's rules (site system.sip_ban_*, sip_trusted) apply while
// the box runs: a stricter limit and a shorter ban at once, and an office
// network made trusted is neither rate-limited nor banned, and its
// address ban is lifted.
func TestPolicyFromTheSite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lifted []string
		f := New(Config{OnLift: func(b Ban, by string) { lifted = append(lifted, b.Key+" by "+by) }})
		office := ip("192.168.1.20")
		for range DefaultFailLimit {
			f.AuthFailed(office, "1001") // a phone with a stale password
		}
		if f.Allow(ap("192.168.1.20:5060"), register("", "")) {
			t.Fatal("default policy: the office address was not banned")
		}

		f.SetPolicy(t.Context(), Policy{FailLimit: 3, BanFor: 10 * time.Minute, Trusted: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
		if len(lifted) != 1 || lifted[0] != "192.168.1.20 by system.sip_trusted" {
			t.Errorf("lifted = %q, want the office address's ban lifted by system.sip_trusted", lifted)
		}
		for range 10 * DefaultFailLimit {
			f.AuthFailed(office, "1002")
		}
		for i := range 1000 { // far over REGISTER's burst of 200
			if !f.Allow(ap("192.168.1.20:5060"), register("1002", "")) {
				t.Fatalf("trusted address dropped at REGISTER %d", i+1)
			}
		}
		for _, b := range f.Bans() {
			if b.Key == "192.168.1.20" {
				t.Errorf("trusted address banned again: %+v", b)
			}
		}

		atk := ip("203.0.113.9")
		for range 3 {
			f.AuthFailed(atk, "")
		}
		var got *Ban
		for _, b := range f.Bans() {
			if b.Key == "203.0.113.9" {
				got = &b
			}
		}
		if got == nil || got.Count != 3 || got.Until.Sub(got.Since) != 10*time.Minute {
			t.Fatalf("after 3 failures under FailLimit 3, BanFor 10m: %+v", got)
		}
		// Scanners are dropped even from a trusted network.
		if f.Allow(ap("192.168.1.21:5060"), register("", "friendly-scanner")) {
			t.Error("a scanner on the trusted network was read")
		}
	})
}
