package site

import (
	"fmt"
	"strings"
	"testing"
)

// TestConferenceValidation: each bad room field is refused with a message
// naming the field and its line; a good room passes.
func TestConferenceValidation(t *testing.T) {
	const base = "version: 1\nsystem: {name: X}\nextensions: [{number: \"101\"}]\n"
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
		msg   string
	}{
		{"number not digits", "conferences: [{id: a, number: \"8a\"}]\n", 4, "conferences[0].number", "digits only"},
		{"number is a feature code", "conferences: [{id: a, number: \"*80\"}]\n", 4, "conferences[0].number", "digits only"},
		{"number is an extension", "conferences: [{id: a, number: \"101\"}]\n", 4, "conferences[0].number", "also extension 101"},
		{"number is a park slot", "conferences: [{id: a, number: \"701\"}]\n", 4, "conferences[0].number", "park slot"},
		{"two rooms one number", "conferences: [{id: a, number: \"800\"}, {id: b, number: \"800\"}]\n", 4, "conferences[1].number", "duplicate conference number 800"},
		{"emergency number", "trunks: [{id: t, host: sip.example}]\noutbound: [{pattern: \"911\", trunks: [t], emergency: true}]\nconferences: [{id: a, number: \"911\"}]\n", 6, "conferences[0].number", "emergency number"},
		{"duplicate id", "conferences: [{id: a, number: \"800\"}, {id: a, number: \"801\"}]\n", 4, "conferences[1].id", "duplicate id"},
		{"missing id", "conferences: [{number: \"800\"}]\n", 4, "conferences[0]", "missing id"},
		{"pin not digits", "conferences: [{id: a, pin: \"12a4\"}]\n", 4, "conferences[0].pin", "1 to 16 digits"},
		{"pin too long", "conferences: [{id: a, pin: \"12345678901234567\"}]\n", 4, "conferences[0].pin", "1 to 16 digits"},
		{"one member", "conferences: [{id: a, max_members: 1}]\n", 4, "conferences[0].max_members", "2 to 50"},
		{"too many members", "conferences: [{id: a, max_members: 51}]\n", 4, "conferences[0].max_members", "2 to 50"},
		{"announce", "conferences: [{id: a, announce: loud}]\n", 4, "conferences[0].announce", `unknown announce mode "loud"`},
		{"mute key", "conferences: [{id: a, mute_key: \"*6x\"}]\n", 4, "conferences[0].mute_key", "0-9, * and #"},
		{"unknown room", "inbound: [{match: \"*\", to: \"conference:nope\"}]\n", 4, "inbound[0].to", `no conference with id "nope"`},
		{"unknown field", "conferences: [{id: a, pinn: \"1\"}]\n", 4, "conferences[0].pinn", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base+tt.yaml), "f.yaml")
			errs, ok := err.(Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("Parse error = %v (%T), want Errors", err, err)
			}
			for _, p := range errs {
				if p.Line == tt.line && p.Field == tt.field && strings.Contains(p.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want a problem f.yaml:%d: %s: ...%s...; got\n%v", tt.line, tt.field, tt.msg, errs)
		})
	}

	good := base + `conferences:
  - {id: sales, number: "800", pin: "4321", max_members: 50, announce: none, mute_key: "#6"}
  - {id: all-hands}
inbound: [{match: "*", to: "conference:all-hands"}]
`
	s, err := Parse([]byte(good), "f.yaml")
	if err != nil {
		t.Fatalf("a good room refused: %v", err)
	}
	a, b := s.FindConference("sales"), s.FindConference("all-hands")
	if a == nil || b == nil || s.ConferenceByNumber("800") != a || s.ConferenceByNumber("") != nil {
		t.Fatalf("rooms not found by id and number: %+v", s.Conferences)
	}
	if a.Members() != 50 || a.Tones() || a.Mute() != "#6" {
		t.Errorf("sales: members %d tones %v mute %q, want 50 false #6", a.Members(), a.Tones(), a.Mute())
	}
	if b.Members() != 10 || !b.Tones() || b.Mute() != "*6" {
		t.Errorf("defaults: members %d tones %v mute %q, want 10 true *6", b.Members(), b.Tones(), b.Mute())
	}
}

// FuzzConferenceFields: whatever a room's fields hold, Parse accepts it
// or says what is wrong, never crashes; an accepted room has a number of
// digits, a PIN of at most 16 digits, a size within bounds and a mute key
// of keypad keys.
func FuzzConferenceFields(f *testing.F) {
	f.Add("800", "4321", 10, "tone", "*6")
	f.Add("101", "", 0, "", "")
	f.Add("*80", "12a", 1, "loud", "*6x")
	f.Add("", "00000000000000000", 51, "none", "####")
	f.Fuzz(func(t *testing.T, number, pin string, max int, announce, mute string) {
		y := fmt.Sprintf("version: 1\nsystem: {name: X}\nextensions: [{number: \"101\"}]\nconferences: [{id: a, number: %q, pin: %q, max_members: %d, announce: %q, mute_key: %q}]\n",
			number, pin, max, announce, mute)
		s, err := Parse([]byte(y), "f.yaml")
		if err != nil {
			if _, ok := err.(Errors); !ok && s != nil {
				t.Fatalf("error %v (%T) with a site", err, err)
			}
			return
		}
		r := s.Conferences[0]
		if r.Number != "" && !isDigits(r.Number) || r.Number == "101" {
			t.Errorf("accepted number %q", r.Number)
		}
		if r.PIN != "" && (!isDigits(r.PIN) || len(r.PIN) > 16) {
			t.Errorf("accepted pin %q", r.PIN)
		}
		if m := r.Members(); m < MinConferenceMembers || m > MaxConferenceMembers {
			t.Errorf("accepted max_members %d", m)
		}
		if k := r.Mute(); len(k) > 4 || strings.Trim(k, "0123456789*#") != "" {
			t.Errorf("accepted mute key %q", k)
		}
	})
}
