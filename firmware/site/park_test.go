package site

import (
	"strings"
	"testing"
)

func TestParseParkSlots(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"701-709", "701 702 703 704 705 706 707 708 709", ""},
		{" 70 - 72 ", "70 71 72", ""},
		{"0701-0703", "0701 0702 0703", ""},
		{"800", "800", ""},
		{"709-701", "", "ends before"},
		{"1-200", "", "more than 100"},
		{"0-9223372036854775807", "", "more than 100"},
		{"7a-9", "", "range of numbers"},
		{"-5-3", "", "range of numbers"},
		{"", "", "range of numbers"},
		{"+1-+3", "", "range of numbers"},
	} {
		got, err := ParseParkSlots(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseParkSlots(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("ParseParkSlots(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	if got := (&System{}).Slots(); len(got) != 9 || got[0] != "701" {
		t.Errorf("default slots %v", got)
	}
}

// FuzzParseParkSlots: any park_slots text gives slots or an error, never
// a crash or more than MaxParkSlots slots.
func FuzzParseParkSlots(f *testing.F) {
	for _, s := range []string{"701-709", "1", "9-1", "0-9223372036854775807", "999999999999999999999-1", "0-99", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseParkSlots(s)
		if err == nil && (len(got) == 0 || len(got) > MaxParkSlots) {
			t.Fatalf("ParseParkSlots(%q) gave %d slots", s, len(got))
		}
	})
}
