package changeset

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"ringbox/firmware/site"
)

func sec(n int) site.Duration { return site.Duration(time.Duration(n) * time.Second) }

// testSite is a small site with an object of every kind.
func testSite() *site.Site {
	return &site.Site{
		Version: 1,
		System:  site.System{Name: "Acme", Timezone: "Europe/Paris", SMTP: &site.SMTP{Host: "mail:25", From: "pbx@acme", Password: "smtp-secret"}},
		Extensions: []site.Extension{
			{Number: "201", Name: "Bob", Secret: "s201", Voicemail: true},
			{Number: "202", Name: "Sue", Secret: "s202"},
			{Number: "203", Name: "Ann", Secret: "s203"},
		},
		Agents: []site.Agent{
			{ID: "bob", Name: "Bob", Extension: "201", PIN: "1234", Hours: []site.Range{{Days: "mon-fri", From: "09:00", To: "17:00"}}},
			{ID: "sue", Name: "Sue", Extension: "202"},
		},
		RingGroups:    []site.RingGroup{{ID: "sales", Stages: []site.Stage{{Ring: []string{"201", "202"}, For: sec(20)}}}},
		HuntGroups:    []site.HuntGroup{{ID: "support", Members: []string{"201", "202"}}},
		Queues:        []site.Queue{{ID: "help", Agents: []site.QueueAgent{{Agent: "bob"}, {Agent: "sue", Level: 2}}, MaxWait: sec(300)}},
		IVRs:          []site.IVR{{ID: "main", Greeting: "welcome", Options: map[string]string{"1": "ring_group:sales", "2": "queue:help"}}},
		Announcements: []site.Announcement{{ID: "closed", Prompt: "closed", Next: "hangup"}},
		Schedules:     []site.Schedule{{ID: "office", Open: []site.Range{{Days: "mon-fri", From: "09:00", To: "17:00"}}}},
		Inbound: []site.InboundRoute{
			{Match: "0140000000", When: "office", To: "ivr:main", Otherwise: "announcement:closed"},
			{Match: "0140000001", To: "extension:201"},
			{Match: "*", To: "ivr:main"},
		},
		Voicemail: []site.Mailbox{{Box: "800", Name: "Sales", PIN: "9999"}},
		Trunks:    []site.Trunk{{ID: "ovh", Host: "sip.ovh.net", Username: "acme", Password: "trunk-pass", Register: true}},
		Outbound: []site.OutboundRoute{
			{Pattern: "112", Trunks: []string{"ovh"}, Emergency: true},
			{Pattern: "0[1-9]XXXXXXXX", Trunks: []string{"ovh"}},
			{Pattern: "00.", Trunks: []string{"ovh"}, Permission: site.PermInternational},
		},
		Lines:     []site.Line{{Port: "fxs:1", Extension: "203"}},
		Prompts:   []site.Prompt{{ID: "welcome", File: "welcome.wav"}, {ID: "closed", File: "closed.wav"}},
		HoldMusic: []site.HoldMusic{{ID: "default", Files: []string{"a.mp3", "b.mp3"}}},
		Users:     []site.User{{Login: "admin", Role: site.RoleAdmin, PasswordHash: "$2a$hash"}},
	}
}

func TestKinds(t *testing.T) {
	var keys []string
	for _, k := range Kinds() {
		keys = append(keys, k.Key)
		if k.Title == "" || k.Singular == "" {
			t.Errorf("kind %q has no title or singular", k.Key)
		}
		if want := k.Key == "inbound" || k.Key == "outbound"; k.Ordered != want {
			t.Errorf("kind %q: Ordered = %v, want %v", k.Key, k.Ordered, want)
		}
	}
	want := []string{"system", "extensions", "agents", "ring_groups", "hunt_groups", "queues", "ivrs",
		"announcements", "schedules", "inbound", "voicemail", "trunks", "outbound", "lines", "prompts",
		"hold_music", "users", "conferences", "caller_lists"}
	if !slices.Equal(keys, want) {
		t.Errorf("Kinds() = %v, want %v", keys, want)
	}
}

// TestKindsCoverSite fails when a list is added to site.Site without a
// kind here, which would leave its objects out of every diff and merge.
func TestKindsCoverSite(t *testing.T) {
	for f := range reflect.TypeFor[site.Site]().Fields() {
		if n := yamlName(f); n != "version" && !isKind(n) {
			t.Errorf("site.Site field %s (%q) has no kind", f.Name, n)
		}
	}
}

func TestKeys(t *testing.T) {
	s := testSite()
	s.Extensions = append(s.Extensions, site.Extension{Number: "201", Name: "Bob again"})
	tests := []struct {
		kind string
		want []string
	}{
		{"system", []string{"system"}},
		{"extensions", []string{"201", "202", "203", "201#2"}},
		{"agents", []string{"bob", "sue"}},
		{"queues", []string{"help"}},
		{"inbound", []string{"0140000000|office", "0140000001", "*"}},
		{"voicemail", []string{"800"}},
		{"outbound", []string{"112", "0[1-9]XXXXXXXX", "00."}},
		{"lines", []string{"fxs:1"}},
		{"users", []string{"admin"}},
		{"hold_music", []string{"default"}},
		{"nonsense", nil},
	}
	for _, tt := range tests {
		if got := Keys(s, tt.kind); !slices.Equal(got, tt.want) {
			t.Errorf("Keys(%q) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

func TestKeyAndObject(t *testing.T) {
	s := testSite()
	tests := []struct {
		kind, key string
		want      any
	}{
		{"extensions", "202", s.Extensions[1]},
		{"inbound", "0140000000|office", s.Inbound[0]},
		{"inbound", "*", s.Inbound[2]},
		{"users", "admin", s.Users[0]},
		{"lines", "fxs:1", s.Lines[0]},
		{"system", "system", s.System},
	}
	for _, tt := range tests {
		got, ok := Object(s, tt.kind, tt.key)
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Object(%q, %q) = %v, %v; want %v", tt.kind, tt.key, got, ok, tt.want)
		}
		if k := Key(tt.kind, got); k != tt.key {
			t.Errorf("Key(%q, %v) = %q, want %q", tt.kind, got, k, tt.key)
		}
	}
	if k := Key("inbound", &s.Inbound[0]); k != "0140000000|office" {
		t.Errorf("Key of a pointer = %q", k)
	}
	if k := Key("agents", s.Extensions[0]); k != "" {
		t.Errorf("Key of an extension as an agent = %q, want empty", k)
	}
	if _, ok := Object(s, "extensions", "999"); ok {
		t.Error("Object found extension 999")
	}
	if _, ok := Object(s, "system", "other"); ok {
		t.Error("Object found system under another key")
	}
}
