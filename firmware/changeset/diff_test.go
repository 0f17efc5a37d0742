package changeset

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"ringbox/firmware/site"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *site.Site)
		want []ObjectChange
	}{
		{"nothing", func(s *site.Site) {}, nil},
		{"nil and empty lists are the same", func(s *site.Site) {
			s.Agents[1].Hours = []site.Range{}
			s.IVRs[0].Options = map[string]string{"1": "ring_group:sales", "2": "queue:help"}
			s.Queues[0].Agents[0].Level = 1 // written the same as no level
		}, nil},
		{"extension added in the middle", func(s *site.Site) {
			s.Extensions = append(s.Extensions[:1:1], append([]site.Extension{{Number: "210", Name: "Zoe", Secret: "zz", Permission: "local"}}, s.Extensions[1:]...)...)
		}, []ObjectChange{{Kind: "extensions", Key: "210", Op: Added, Fields: []FieldChange{
			{"number", "", "210"}, {"name", "", "Zoe"}, {"secret", "", "(set)"}, {"permission", "", "local"},
		}}}},
		{"extension removed", func(s *site.Site) { s.Extensions = s.Extensions[1:] },
			[]ObjectChange{{Kind: "extensions", Key: "201", Op: Removed}}},
		{"extension renamed, secret changed", func(s *site.Site) {
			s.Extensions[1].Name = "Susan"
			s.Extensions[1].Secret = "new"
			s.Extensions[1].DND = true
		}, []ObjectChange{{Kind: "extensions", Key: "202", Op: Changed, Fields: []FieldChange{
			{"name", "Sue", "Susan"}, {"secret", "(set)", "(changed)"}, {"dnd", "", "true"},
		}}}},
		{"agent pin cleared, hours changed", func(s *site.Site) {
			s.Agents[0].PIN = ""
			s.Agents[0].Hours = []site.Range{{Days: "mon-fri", From: "08:30", To: "17:00"}, {Days: "sat", From: "09:00", To: "12:00"}}
		}, []ObjectChange{{Kind: "agents", Key: "bob", Op: Changed, Fields: []FieldChange{
			{"hours[0].from", "09:00", "08:30"},
			{"hours[1].days", "", "sat"}, {"hours[1].from", "", "09:00"}, {"hours[1].to", "", "12:00"},
			{"pin", "(set)", ""},
		}}}},
		{"ring group stage", func(s *site.Site) {
			s.RingGroups[0].Stages[0] = site.Stage{Ring: []string{"201"}, For: sec(90)}
		}, []ObjectChange{{Kind: "ring_groups", Key: "sales", Op: Changed, Fields: []FieldChange{
			{"stages[0].ring", "201, 202", "201"}, {"stages[0].for", "20s", "1m30s"},
		}}}},
		{"queue agent level", func(s *site.Site) {
			s.Queues[0].Agents[1].Level = 3
			s.Queues[0].Agents[0].Level = 2
			s.Queues[0].MaxWait = 0
		}, []ObjectChange{{Kind: "queues", Key: "help", Op: Changed, Fields: []FieldChange{
			{"agents[0]", "bob", "{agent: bob, level: 2}"},
			{"agents[1]", "{agent: sue, level: 2}", "{agent: sue, level: 3}"},
			{"max_wait", "5m", ""},
		}}}},
		{"ivr options", func(s *site.Site) {
			s.IVRs[0].Options = map[string]string{"1": "hunt_group:support", "#": "hangup", "2": "queue:help"}
		}, []ObjectChange{{Kind: "ivrs", Key: "main", Op: Changed, Fields: []FieldChange{
			{`options["1"]`, "ring_group:sales", "hunt_group:support"}, {`options["#"]`, "", "hangup"},
		}}}},
		{"route moved to the top", func(s *site.Site) {
			s.Outbound = []site.OutboundRoute{s.Outbound[2], s.Outbound[0], s.Outbound[1]}
		}, []ObjectChange{{Kind: "outbound", Key: "00.", Op: Moved}}},
		{"route moved and changed", func(s *site.Site) {
			s.Inbound = []site.InboundRoute{s.Inbound[2], s.Inbound[0], s.Inbound[1]}
			s.Inbound[0].To = "extension:202"
		}, []ObjectChange{{Kind: "inbound", Key: "*", Op: Changed, Fields: []FieldChange{
			{"to", "ivr:main", "extension:202"},
		}}}},
		{"unordered kinds do not move", func(s *site.Site) {
			s.Prompts[0], s.Prompts[1] = s.Prompts[1], s.Prompts[0]
		}, nil},
		{"system smtp password and name", func(s *site.Site) {
			s.System.Name = "Acme Ltd"
			m := *s.System.SMTP
			m.Password = "other"
			s.System.SMTP = &m
			s.System.SIPDigest = []string{"md5", "sha256"}
		}, []ObjectChange{{Kind: "system", Key: "system", Op: Changed, Fields: []FieldChange{
			{"name", "Acme", "Acme Ltd"}, {"sip_digest", "", "md5, sha256"}, {"smtp.password", "(set)", "(changed)"},
		}}}},
		{"smtp removed", func(s *site.Site) { s.System.SMTP = nil },
			[]ObjectChange{{Kind: "system", Key: "system", Op: Changed, Fields: []FieldChange{
				{"smtp.host", "mail:25", ""}, {"smtp.from", "pbx@acme", ""}, {"smtp.password", "(set)", ""},
			}}}},
		{"user password hash", func(s *site.Site) { s.Users[0].PasswordHash = "$2a$other" },
			[]ObjectChange{{Kind: "users", Key: "admin", Op: Changed, Fields: []FieldChange{
				{"password_hash", "(set)", "(changed)"},
			}}}},
		{"order: kinds, then new position, removed last", func(s *site.Site) {
			s.Users = append(s.Users, site.User{Login: "amy", Role: site.RoleAgent, Password: "pw"})
			s.Extensions = []site.Extension{s.Extensions[2], {Number: "204"}, s.Extensions[1]}
			s.Extensions[0].Name = "Anne"
		}, []ObjectChange{
			{Kind: "extensions", Key: "203", Op: Changed, Fields: []FieldChange{{"name", "Ann", "Anne"}}},
			{Kind: "extensions", Key: "204", Op: Added, Fields: []FieldChange{{"number", "", "204"}}},
			{Kind: "extensions", Key: "201", Op: Removed},
			{Kind: "users", Key: "amy", Op: Added, Fields: []FieldChange{{"login", "", "amy"}, {"role", "", "agent"}, {"password", "", "(set)"}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, new := testSite(), testSite()
			tt.edit(new)
			got := Diff(old, new)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff =\n%s\nwant\n%s", show(got), show(tt.want))
			}
		})
	}
}

func show(cs []ObjectChange) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s %s %s\n", c.Kind, c.Key, c.Op)
		for _, f := range c.Fields {
			fmt.Fprintf(&b, "    %s: %q -> %q\n", f.Field, f.Old, f.New)
		}
	}
	return b.String()
}

// TestDiffNeverShowsSecrets adds a whole site, changes every secret and
// removes them, and looks for any secret in what Diff returns.
func TestDiffNeverShowsSecrets(t *testing.T) {
	s := testSite()
	s.Users[0].Password = "plain-pw"
	changed := Clone(s)
	changed.Extensions[0].Secret = "new-s201"
	changed.Extensions[0].VoicemailPIN = "86420"
	changed.Agents[0].PIN = "4321"
	changed.Voicemail[0].PIN = "mbox-pin-2"
	changed.Trunks[0].Password = "new-trunk-pass"
	changed.System.SMTP.Password = "new-smtp"
	changed.Users[0].Password = "new-plain-pw"
	changed.Users[0].PasswordHash = "$2a$newhash"
	secrets := []string{"s201", "1234", "9999", "trunk-pass", "smtp-secret", "plain-pw", "$2a$hash",
		"new-s201", "4321", "mbox-pin-2", "new-trunk-pass", "new-smtp", "new-plain-pw", "$2a$newhash", "86420"}
	for name, d := range map[string][]ObjectChange{
		"added":   Diff(nil, s),
		"changed": Diff(s, changed),
		"cleared": Diff(changed, &site.Site{System: site.System{SMTP: &site.SMTP{}}}),
	} {
		text := show(d)
		if len(d) == 0 {
			t.Fatalf("%s: no changes", name)
		}
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s: diff shows secret %q:\n%s", name, secret, text)
			}
		}
	}
}
