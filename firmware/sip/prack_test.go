package sip

import (
	"testing"

	sipgosip "github.com/emiago/sipgo/sip"
)

func TestParseRAck(t *testing.T) {
	r, err := parseRAck(" 776656  1 invite ")
	if err != nil || r != (rack{rseq: 776656, cseq: 1, method: "INVITE"}) {
		t.Fatalf("got %+v %v", r, err)
	}
	if r.String() != "776656 1 INVITE" {
		t.Errorf("String %q", r.String())
	}
	for _, bad := range []string{"", "1 1", "0 1 INVITE", "2147483648 1 INVITE", "1 x INVITE", "1 1 INVITE extra", "-1 1 INVITE", "1 99999999999 INVITE"} {
		if _, err := parseRAck(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRSeq(t *testing.T) {
	if n, err := parseRSeq("2147483647"); err != nil || n != 1<<31-1 {
		t.Errorf("largest RSeq: %d %v", n, err)
	}
	for _, bad := range []string{"", "0", "2147483648", "1e3", "12345678901"} {
		if _, err := parseRSeq(bad); err == nil {
			t.Errorf("RSeq %q accepted", bad)
		}
	}
}

func FuzzParseRAck(f *testing.F) {
	for _, s := range []string{"1 1 INVITE", "776656 1 INVITE", "  ", "1 2", "4294967295 4294967295 X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, err := parseRAck(v)
		if err != nil {
			return
		}
		if r.rseq == 0 || r.rseq > 1<<31-1 || r.method == "" {
			t.Fatalf("%q parsed to %+v", v, r)
		}
		if r2, err := parseRAck(r.String()); err != nil || r2 != r {
			t.Fatalf("%q: round trip %+v -> %q -> %+v %v", v, r, r.String(), r2, err)
		}
		_, _ = parseRSeq(v)
	})
}

func TestOptionTags(t *testing.T) {
	req := inviteWith("Supported", "replaces, 100rel", "Require", "timer", "Allow", "INVITE, ACK, UPDATE")
	if !supports(req, "100rel") || !supports(req, "timer") || supports(req, "path") {
		t.Error("Supported/Require misread")
	}
	if hasOptionTag(req, "Require", "", "100rel") {
		t.Error("100rel is only supported, not required")
	}
	if !allows(req, "update") || allows(req, "PRACK") {
		t.Error("Allow misread")
	}
}

// TestLargeRequestGoesOverTCP: RFC 3261 §18.1.1: an INVITE too large for
// a datagram leaves over TCP; a usual one over UDP.
func TestLargeRequestGoesOverTCP(t *testing.T) {
	small := inviteWith("Supported", "timer")
	small.SetBody(make([]byte, 300))
	if tooLargeForUDP(small) {
		t.Errorf("a %d-byte INVITE is sent over TCP", len(small.String()))
	}
	big := inviteWith("Supported", "timer")
	big.SetBody(make([]byte, 1200))
	if !tooLargeForUDP(big) {
		t.Errorf("a %d-byte INVITE is sent over UDP", len(big.String()))
	}
	_ = sipgosip.UDPMTUSize
}
