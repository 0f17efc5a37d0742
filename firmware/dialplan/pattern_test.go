package dialplan

import (
	"testing"

	"ringbox/firmware/site"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, number string
		want            bool
	}{
		{"911", "911", true},
		{"911", "9111", false},
		{"+1NXXNXXXXXX", "+12125551234", true},
		{"+1NXXNXXXXXX", "+11125551234", false}, // area code cannot start with 1
		{"+1NXXNXXXXXX", "12125551234", false},
		{"9.", "9", false},
		{"9.", "912345", true},
		{"9.", "9*1", false}, // '.' is digits only
		{"9.", "9#", false},
		{"9.", "91#", false},
		{"*67.", "*675551234", true}, // a symbol the pattern names
		{"*67.", "*675551234#", false},
		{"[1-5]XX", "399", true},
		{"[1-5]XX", "699", false},
		{"[147]Z", "40", false},
		{"[147]Z", "79", true},
		{"011.", "01144123", true},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.pattern, err)
		}
		if got := p.Match(tt.number); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, tt.number, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, bad := range []string{"", ".", "9.1", "[1-5", "[]", "[5-1]", "1+2", "9a", "[a]"} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q) succeeded, want an error", bad)
		}
	}
}

func TestLookup(t *testing.T) {
	plan, err := NewPlan([]site.OutboundRoute{
		{Pattern: "911", Trunks: []string{"pstn"}, Emergency: true},
		{Pattern: "011.", Trunks: []string{"carrier"}, Permission: site.PermInternational},
		{Pattern: "9.", Strip: 1, Trunks: []string{"carrier"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		number, class string
		ok, allowed   bool
		out           string
	}{
		{"911", site.PermInternal, true, true, "911"},
		{"01144207", "", true, false, "01144207"},
		{"01144207", site.PermInternational, true, true, "01144207"},
		{"95551234", site.PermNational, true, true, "5551234"},
		{"95551234", site.PermLocal, true, true, "5551234"},          // a local number: local will do
		{"912125550100", site.PermLocal, true, false, "12125550100"}, // national
		{"9011442071234567", site.PermNational, true, false, "011442071234567"},
		{"123", site.PermInternational, false, false, ""},
	}
	for _, tt := range tests {
		d, ok := plan.Lookup(tt.number, tt.class)
		if ok != tt.ok || d.Allowed != tt.allowed || d.Number != tt.out {
			t.Errorf("Lookup(%q, %q) = %+v %v, want ok=%v allowed=%v number=%q", tt.number, tt.class, d, ok, tt.ok, tt.allowed, tt.out)
		}
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"911", "+1NXXNXXXXXX", "9.", "[1-5]XX", "[1-"} {
		f.Add(s, "912345")
	}
	f.Fuzz(func(t *testing.T, pattern, number string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		if p.Match(number) && len(number) < p.MinLen() {
			t.Errorf("%q matched %q shorter than MinLen %d", pattern, number, p.MinLen())
		}
	})
}
