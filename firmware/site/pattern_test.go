package site_test

import (
	"testing"

	"ringbox/firmware/dialplan"
	"ringbox/firmware/site"
)

// The site keeps its own copy of the pattern grammar (dialplan imports
// site). These tests hold the two to the same answers.

var patternSeeds = []string{
	"911", "+1NXXNXXXXXX", "9.", "011.", "1[5-8]", "[147]X", "0[1-9]XXXXXXXX",
	".", "9.1", "+", "1+", "[", "[]", "[a]", "[5-1]", "[1-]", "X*#", "zZnN", "", "*45", "*.",
}

var numberSeeds = []string{"911", "+15551230000", "95551234", "9", "0114412345", "15", "19", "47", "*45", "#", "", "+", "1+2"}

func checkAgree(t *testing.T, pat, number string) {
	t.Helper()
	p, derr := dialplan.Compile(pat)
	got, serr := site.PatternMatch(pat, number)
	if (derr == nil) != (serr == nil) {
		t.Fatalf("pattern %q: dialplan error %v, site error %v", pat, derr, serr)
	}
	if derr == nil && p.Match(number) != got {
		t.Fatalf("pattern %q number %q: dialplan %v, site %v", pat, number, p.Match(number), got)
	}
}

func TestPatternAgreesWithDialplan(t *testing.T) {
	for _, p := range patternSeeds {
		for _, n := range numberSeeds {
			checkAgree(t, p, n)
		}
	}
}

func FuzzPatternAgreesWithDialplan(f *testing.F) {
	for _, p := range patternSeeds {
		f.Add(p, "911")
	}
	f.Fuzz(func(t *testing.T, pat, number string) {
		checkAgree(t, pat, number)
	})
}

func TestPatternCovers(t *testing.T) {
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
		if got := site.PatternCovers(tt.a, tt.b); got != tt.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzPatternCovers: when a covers b, every number b matches, a matches.
func FuzzPatternCovers(f *testing.F) {
	f.Add("9.", "911", "911")
	f.Add("+1NXXNXXXXXX", "+1212NXXXXXX", "+12125551234")
	f.Add("X.", "9X.", "9*1")
	f.Fuzz(func(t *testing.T, a, b, number string) {
		if !site.PatternCovers(a, b) {
			return
		}
		mb, _ := site.PatternMatch(b, number)
		ma, _ := site.PatternMatch(a, number)
		if mb && !ma {
			t.Fatalf("%q covers %q, but %q matches only %q", a, b, number, b)
		}
	})
}
