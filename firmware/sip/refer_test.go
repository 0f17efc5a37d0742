package sip

import (
	"strings"
	"testing"

	sipgosip "github.com/emiago/sipgo/sip"
)

func TestParseReferTo(t *testing.T) {
	for _, tc := range []struct {
		in       string
		user     string
		replaces *replaces
		err      string
	}{
		{in: "<sip:103@10.0.0.1>", user: "103"},
		{in: `"Reception" <sip:103@10.0.0.1:5060;transport=udp>`, user: "103"},
		{in: "sip:+15550100@box.example;user=phone", user: "+15550100"},
		{in: "<tel:+15550100;phone-context=x>", user: "+15550100"},
		{in: "<sip:queue%3Aservice@box>", user: "queue:service"},
		{in: "<sip:103@box?Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34>", user: "103",
			replaces: &replaces{CallID: "abc@host", ToTag: "12", FromTag: "34"}},
		{in: "<sip:103@box?Require=replaces&Replaces=x%3Bfrom-tag%3Db%3Bto-tag%3Da%3Bearly-only>", user: "103",
			replaces: &replaces{CallID: "x", ToTag: "a", FromTag: "b"}},
		{in: "", err: "empty"},
		{in: "<sip:103@box", err: "without '>'"},
		{in: "<http://evil/>", err: "scheme"},
		{in: "<sip:box.example>", err: "no user part"},
		{in: "<sip:10%203@box>", err: "not allowed"},
		{in: "<sip:103@>", err: "no host"},
		{in: "<sip:103@box?Replaces=abc%3Bto-tag%3D1>", err: "to-tag and from-tag"},
		{in: "<sip:103@box?Replaces=%3Bto-tag%3D1%3Bfrom-tag%3D2>", err: "no Call-ID"},
		{in: "<sip:103@box?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=b%3Bto-tag%3D1%3Bfrom-tag%3D2>", err: "more than one"},
		{in: "<sip:" + strings.Repeat("1", 65) + "@box>", err: "at most 64"},
		{in: "<sip:1%zz@box>", err: "invalid URL escape"},
	} {
		got, err := parseReferTo(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseReferTo(%q) = %+v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseReferTo(%q): %v", tc.in, err)
			continue
		}
		if got.User != tc.user {
			t.Errorf("parseReferTo(%q).User = %q, want %q", tc.in, got.User, tc.user)
		}
		switch {
		case tc.replaces == nil && got.Replaces != nil:
			t.Errorf("parseReferTo(%q).Replaces = %+v, want none", tc.in, *got.Replaces)
		case tc.replaces != nil && (got.Replaces == nil || *got.Replaces != *tc.replaces):
			t.Errorf("parseReferTo(%q).Replaces = %+v, want %+v", tc.in, got.Replaces, *tc.replaces)
		}
	}
}

// TestReferToThroughSipgo checks the parser on the value sipgo gives the
// handler for a REFER as a phone sends it: sipgo parses Refer-To itself and
// the handler sees its re-serialized form.
func TestReferToThroughSipgo(t *testing.T) {
	raw := "REFER sip:ringbox@127.0.0.1:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
		"From: <sip:102@127.0.0.1>;tag=a\r\n" +
		"To: <sip:101@127.0.0.1>;tag=b\r\n" +
		"Call-ID: c1\r\n" +
		"CSeq: 3 REFER\r\n" +
		"Contact: <sip:102@127.0.0.1:5070>\r\n" +
		"Refer-To: <sip:103@127.0.0.1?Replaces=consult-1%3Bto-tag%3Dx9%3Bfrom-tag%3Dy8>\r\n" +
		"Content-Length: 0\r\n\r\n"
	msg, err := sipgosip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.(*sipgosip.Request).GetHeader("Refer-To")
	if h == nil {
		t.Fatal("sipgo dropped Refer-To")
	}
	got, err := parseReferTo(h.Value())
	if err != nil {
		t.Fatalf("parseReferTo(%q): %v", h.Value(), err)
	}
	if got.User != "103" || got.Replaces == nil || *got.Replaces != (replaces{"consult-1", "x9", "y8"}) {
		t.Fatalf("parseReferTo(%q) = %+v %+v", h.Value(), got, got.Replaces)
	}
}

func TestSipfragBody(t *testing.T) {
	if got := sipfragBody(603, "Decline"); got != "SIP/2.0 603 Decline\r\n" {
		t.Fatalf("sipfrag = %q", got)
	}
}

// FuzzParseReferTo: a Refer-To comes from the network; no input may crash
// the parser, and what it accepts is a usable destination.
func FuzzParseReferTo(f *testing.F) {
	for _, s := range []string{"<sip:103@box>", "sip:1@h;x", "<tel:+1>", "<sip:1@h?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>",
		"<sip:@>", "<", "sip:", "<sip:1@h?Replaces=%>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseReferTo(s)
		if err != nil {
			return
		}
		if got.User == "" || len(got.User) > 64 || strings.ContainsAny(got.User, " <>@;?&") {
			t.Fatalf("parseReferTo(%q) accepted user %q", s, got.User)
		}
		if r := got.Replaces; r != nil && (r.CallID == "" || r.ToTag == "" || r.FromTag == "") {
			t.Fatalf("parseReferTo(%q) accepted Replaces %+v", s, *r)
		}
	})
}
