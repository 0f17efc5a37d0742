package site

import (
	"strings"
	"testing"
)

// TestMailboxPINs: mailbox PINs are 4 to 10 digits, and an extension's
// voicemail_pin needs its mailbox.
func TestMailboxPINs(t *testing.T) {
	base := func() *Site {
		return &Site{
			Version:    1,
			System:     System{Name: "T", VoicemailPINRequired: true},
			Extensions: []Extension{{Number: "101", Voicemail: true, VoicemailPIN: "1357"}, {Number: "102"}},
			Voicemail:  []Mailbox{{Box: "800", PIN: "2468013579"}},
		}
	}
	if errs := base().Validate(); errs != nil {
		t.Fatalf("base site invalid: %v", errs)
	}
	for _, tt := range []struct {
		name   string
		change func(s *Site)
		field  string
		msg    string
	}{
		{"short group PIN", func(s *Site) { s.Voicemail[0].PIN = "123" }, "voicemail[0].pin", "4 to 10 digits, not 3"},
		{"long group PIN", func(s *Site) { s.Voicemail[0].PIN = "12345678901" }, "voicemail[0].pin", "4 to 10 digits, not 11"},
		{"letters", func(s *Site) { s.Extensions[0].VoicemailPIN = "12a4" }, "extensions[0].voicemail_pin", "digits only"},
		{"short extension PIN", func(s *Site) { s.Extensions[0].VoicemailPIN = "12" }, "extensions[0].voicemail_pin", "4 to 10 digits"},
		{"PIN without a mailbox", func(s *Site) { s.Extensions[1].VoicemailPIN = "1234" }, "extensions[1].voicemail_pin", "no mailbox"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(s)
			for _, p := range s.Validate() {
				if p.Field == tt.field && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want %s: ...%s...; got:\n%v", tt.field, tt.msg, s.Validate())
		})
	}
}
