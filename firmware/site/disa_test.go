package site

import (
	"strconv"
	"strings"
	"testing"
)

func TestSameNumber(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"+15550001001", "+15550001001", true},
		{"+15550001001", "15550001001", true},
		{"+15550001001", "5550001001", true},
		{"+1 (555) 000-1001", "0015550001001", true},
		{"+33612345678", "0612345678", true},
		{"+33612345678", "612345678", true},
		{"+15550001001", "+15550001002", false},
		{"+15550001001", "0001001", false},       // too short to be national
		{"+49115550001001", "5550001001", false}, // 4 digits more than a country code
		{"15550001001", "5550001001", false},     // both national: must be equal
		{"101", "101", true},
		{"anonymous", "anonymous", false},
		{"", "", false},
		{"+", "+", false},
		{"+15550001001", "sip:+15550001001", false},
	} {
		if got := SameNumber(c.a, c.b); got != c.want {
			t.Errorf("SameNumber(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := SameNumber(c.b, c.a); got != c.want {
			t.Errorf("SameNumber(%q, %q) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}

// FuzzSameNumber: caller numbers come from SIP headers; any text compares
// without a crash, symmetrically, and a number is itself.
func FuzzSameNumber(f *testing.F) {
	for _, s := range [][2]string{{"+15550001001", "5550001001"}, {"00", "+"}, {"0", "+0"}, {"(", ")"}, {"+33612345678", "0612345678"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if SameNumber(a, b) != SameNumber(b, a) {
			t.Fatalf("SameNumber(%q, %q) not symmetric", a, b)
		}
		if cleanNumber(a) != "" && !SameNumber(a, a) {
			t.Fatalf("SameNumber(%q, itself) = false", a)
		}
	})
}

func disaSite() *Site {
	return &Site{
		Version: 1,
		System:  System{Name: "t", Timezone: "UTC", OfficeNumber: "+15551230000"},
		Extensions: []Extension{
			{Number: "101", Mobile: "+15550001001", DISAPIN: "4321"},
			{Number: "102"},
		},
		Agents: []Agent{{ID: "sue", Extension: "102", Mobile: "+15550001002", PIN: "9876"}},
		Queues: []Queue{{ID: "sales", Number: "600", Agents: []QueueAgent{{Agent: "sue"}}}},
	}
}

func TestDISAFields(t *testing.T) {
	if errs := disaSite().Validate(); errs != nil {
		t.Fatalf("valid site refused: %v", errs)
	}
	s := disaSite()
	if got := s.ExtensionOfMobile("5550001002"); got != "102" {
		t.Errorf("agent sue's mobile is extension %q, want 102", got)
	}
	if got := s.ExtensionOfMobile("+15550001001"); got != "101" {
		t.Errorf("extension mobile is extension %q, want 101", got)
	}
	if got := s.ExtensionOfMobile("+15550009999"); got != "" {
		t.Errorf("a stranger is extension %q", got)
	}
	if s.DISAPINOf("101") != "4321" || s.DISAPINOf("102") != "9876" {
		t.Errorf("PINs: 101 %q, 102 %q", s.DISAPINOf("101"), s.DISAPINOf("102"))
	}
	if n, w := s.System.DISALimit(); n != 5 || w.Minutes() != 10 {
		t.Errorf("default limit %d per %s", n, w)
	}
	for _, c := range []struct {
		name  string
		edit  func(s *Site)
		field string
		msg   string
	}{
		{"bad mobile", func(s *Site) { s.Extensions[0].Mobile = "call me" }, "extensions[0].mobile", "phone number"},
		{"short pin", func(s *Site) { s.Extensions[0].DISAPIN = "12" }, "extensions[0].disa_pin", "at least 4"},
		{"letters pin", func(s *Site) { s.Extensions[0].DISAPIN = "12ab" }, "extensions[0].disa_pin", "digits only"},
		{"shared mobile", func(s *Site) { s.Extensions[1].Mobile = "5550001001" }, "extensions[1].mobile", "one extension"},
		{"agent mobile of another extension", func(s *Site) { s.Agents[0].Mobile = "+15550001001" }, "agents[0].mobile", "one extension"},
		{"queue number letters", func(s *Site) { s.Queues[0].Number = "6x" }, "queues[0].number", "digits"},
		{"queue number is extension", func(s *Site) { s.Queues[0].Number = "101" }, "queues[0].number", "extension"},
		{"queue number is park slot", func(s *Site) { s.Queues[0].Number = "701" }, "queues[0].number", "park slot"},
		{"queue number twice", func(s *Site) {
			s.Queues = append(s.Queues, Queue{ID: "support", Number: "600", Agents: []QueueAgent{{Agent: "sue"}}})
		}, "queues[1].number", "already"},
		{"negative attempts", func(s *Site) { s.System.DISAAttempts = -1 }, "system.disa_attempts", "0"},
	} {
		s := disaSite()
		c.edit(s)
		errs := s.Validate()
		found := false
		for _, p := range errs {
			if p.Field == c.field && strings.Contains(p.Msg, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want a problem at %s saying %q, got %v", c.name, c.field, c.msg, errs)
		}
	}
	// An agent's mobile on their own extension's listed mobile is one person.
	s = disaSite()
	s.Agents[0].Mobile = "+15550001001"
	s.Agents[0].Extension = "101"
	if errs := s.Validate(); errs != nil {
		t.Errorf("the same person's mobile twice refused: %v", errs)
	}
}

func TestDISAPINNotExported(t *testing.T) {
	s := disaSite()
	out, err := Marshal(s, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "4321") {
		t.Errorf("the export without secrets shows the DISA PIN:\n%s", out)
	}
	out, err = Marshal(s, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "disa_pin: \"4321\"") && !strings.Contains(string(out), "disa_pin: '4321'") && !strings.Contains(string(out), "disa_pin: 4321") {
		t.Errorf("the export with secrets lacks the DISA PIN:\n%s", out)
	}
}

// BenchmarkExtensionOfMobile: recognising a caller on a site with 500
// extensions and 200 agents with mobiles.
func BenchmarkExtensionOfMobile(b *testing.B) {
	s := &Site{}
	for i := range 500 {
		s.Extensions = append(s.Extensions, Extension{Number: strconv.Itoa(1000 + i)})
	}
	for i := range 200 {
		s.Agents = append(s.Agents, Agent{ID: "a" + strconv.Itoa(i), Extension: strconv.Itoa(1000 + i), Mobile: "+1555000" + strconv.Itoa(1000+i)})
	}
	for b.Loop() {
		if s.ExtensionOfMobile("5550001199") != "1199" {
			b.Fatal("not found")
		}
	}
}
