package sip

import "testing"

func TestParseAssertedUser(t *testing.T) {
	for in, want := range map[string]string{
		"<sip:+15550001001@carrier.example>":                  "+15550001001",
		`"Bob" <sip:+15550001001@carrier.example;user=phone>`: "+15550001001",
		"<tel:+15550001001>":                                  "+15550001001",
		"<tel:+15550001001>, <sip:bob@x>":                     "+15550001001",
		"sip:5550001001@10.0.0.1;user=phone":                  "5550001001",
		"<sips:anonymous@anonymous.invalid>":                  "anonymous",
		"":                                                    "",
		"<sip:+1555":                                          "",
		"garbage":                                             "",
		"<http://x>":                                          "",
	} {
		if got := parseAssertedUser(in); got != want {
			t.Errorf("parseAssertedUser(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseAssertedUser: any header value gives a user part without a
// crash, never longer than 64 bytes.
func FuzzParseAssertedUser(f *testing.F) {
	for _, s := range []string{"<sip:+15550001001@c>", `"a" <tel:1>`, "<", ">", "sip:", "<sip:@>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := parseAssertedUser(s); len(got) > 64 {
			t.Fatalf("parseAssertedUser(%q) = %d bytes", s, len(got))
		}
	})
}
