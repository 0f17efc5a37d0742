package pattern

import "testing"

func covers(a, b string) bool {
	pa, err1 := Compile(a)
	pb, err2 := Compile(b)
	return err1 == nil && err2 == nil && pa.Covers(pb)
}

func TestCovers(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"911", "911", true},
		{"9.", "911", true},
		{"9.", "9X.", true},
		{"9.", "9", false},
		{"X.", "+1NXXNXXXXXX", false}, // '+' is not a digit
		{"+1NXXNXXXXXX", "+1212NXXXXXX", true},
		{"+1NXXNXXXXXX", "+1XXXNXXXXXX", false},
		{"NXXXXXX", "[2-9]XXXXXX", true},
		{"1[5-8]", "1[578]", true},
		{"1[578]", "1[5-8]", false},
		{"911", "91.", false},
		{"9X.", "9.", false},
	}
	for _, tt := range tests {
		if got := covers(tt.a, tt.b); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzCovers: when a covers b, every number b matches, a matches.
func FuzzCovers(f *testing.F) {
	f.Add("9.", "911", "911")
	f.Add("+1NXXNXXXXXX", "+1212NXXXXXX", "+12125551234")
	f.Add("X.", "9X.", "9*1")
	f.Fuzz(func(t *testing.T, a, b, number string) {
		if !covers(a, b) {
			return
		}
		pa, _ := Compile(a)
		pb, _ := Compile(b)
		if pb.Match(number) && !pa.Match(number) {
			t.Fatalf("%q covers %q, but %q matches only %q", a, b, number, b)
		}
	})
}

func TestLonger(t *testing.T) {
	for _, c := range []struct {
		pat, prefix string
		want        bool
	}{
		{"911", "9", true},
		{"911", "91", true},
		{"911", "911", false},
		{"911", "912", false},
		{"9.", "9", true},
		{"9.", "9555", true},
		{"9.", "8", false},
		{"1NXXNXXXXXX", "1", true},
		{"1NXXNXXXXXX", "11", false},
		{"1NXXNXXXXXX", "12125551234", false},
		{"+1NXX", "1", false},
		{"[2-4]X", "", true},
	} {
		p, err := Compile(c.pat)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Longer(c.prefix); got != c.want {
			t.Errorf("%s.Longer(%q) = %v, want %v", c.pat, c.prefix, got, c.want)
		}
	}
}
