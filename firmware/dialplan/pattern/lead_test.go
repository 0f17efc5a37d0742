package pattern

import "testing"

func TestLead(t *testing.T) {
	for _, c := range []struct {
		pat  string
		n    int
		rest string
		want string
		ok   bool
	}{
		{"9.", 1, "011442071234567", "9011442071234567", true},
		{"9.", 1, "", "", false},
		{"9.", 1, "*123", "", false}, // '.' never yields a symbol
		{"+1NXXNXXXXXX", 0, "+19005550100", "+19005550100", true},
		{"+1NXXNXXXXXX", 2, "9005550100", "+19005550100", true},
		{"+1NXXNXXXXXX", 0, "+11005550100", "", false},
		{"[2-5]X.", 1, "12", "212", true},
		{"911", 0, "911", "911", true},
		{"911", 0, "9111", "", false},
	} {
		p, err := Compile(c.pat)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.Lead(c.n, c.rest)
		if got != c.want || ok != c.ok {
			t.Errorf("%s.Lead(%d, %q) = %q %v, want %q %v", c.pat, c.n, c.rest, got, ok, c.want, c.ok)
		}
		if ok && !p.Match(got) {
			t.Errorf("%s does not match its own lead %q", c.pat, got)
		}
	}
}
