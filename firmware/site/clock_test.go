package site

import (
	"strings"
	"testing"
	"time"
)

func TestParseDays(t *testing.T) {
	tests := []struct {
		in   string
		want string // days on, as "smtwtfs" with '-' for off
		err  string
	}{
		{"mon-fri", "-mtwtf-", ""},
		{"sat", "------s", ""},
		{"mon,wed,fri", "-m-w-f-", ""},
		{"mon-sun", "smtwtfs", ""},
		{"fri-mon", "sm---fs", ""},
		{"mon-wed, fri", "-mtw-f-", ""},
		{"sun", "s------", ""},
		{"", "", "no days"},
		{"monday", "", `unknown day "monday"`},
		{"mon-fry", "", `unknown day "fry"`},
		{"mon,,fri", "", `unknown day ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDays(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDays(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDays(%q): %v", tt.in, err)
			}
			var b strings.Builder
			for d, on := range got {
				if on {
					b.WriteByte("smtwtfs"[d])
				} else {
					b.WriteByte('-')
				}
			}
			if b.String() != tt.want {
				t.Errorf("ParseDays(%q) = %s, want %s", tt.in, b.String(), tt.want)
			}
		})
	}
}

func TestParseClock(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  string
	}{
		{"00:00", 0, ""},
		{"09:30", 570, ""},
		{"9:30", 570, ""},
		{"23:59", 1439, ""},
		{"24:00", 1440, ""},
		{"25:00", 0, "impossible time"},
		{"12:61", 0, "impossible time"},
		{"24:30", 0, "impossible time"},
		{"", 0, "bad time"},
		{"12", 0, "bad time"},
		{"12:5", 0, "bad time"},
		{"ab:cd", 0, "bad time"},
		{"-1:00", 0, "bad time"},
	}
	for _, tt := range tests {
		got, err := ParseClock(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseClock(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestRangeContainsMidnight(t *testing.T) {
	night := Range{Days: "mon", From: "22:00", To: "06:00"}
	// 2026-03-02 is a Monday.
	tests := []struct {
		at   string
		want bool
	}{
		{"2026-03-02 21:59", false},
		{"2026-03-02 22:00", true},
		{"2026-03-02 23:59", true},
		{"2026-03-03 00:00", true}, // Tuesday morning belongs to Monday's shift
		{"2026-03-03 05:59", true},
		{"2026-03-03 06:00", false},
		{"2026-03-03 22:30", false}, // Tuesday evening is not in the range
		{"2026-03-02 03:00", false}, // Monday morning belongs to Sunday's shift
	}
	for _, tt := range tests {
		at, _ := time.Parse("2006-01-02 15:04", tt.at)
		if got := night.Contains(at); got != tt.want {
			t.Errorf("mon 22:00-06:00 contains %s (%s) = %v, want %v", tt.at, at.Weekday(), got, tt.want)
		}
	}
	// sat-sun 22:00-06:00: Sunday night runs into Monday morning.
	weekend := Range{Days: "sat-sun", From: "22:00", To: "06:00"}
	mon, _ := time.Parse("2006-01-02 15:04", "2026-03-02 05:00")
	if !weekend.Contains(mon) {
		t.Errorf("sat-sun 22:00-06:00 should contain Monday 05:00")
	}
	// 18:00-24:00 ends at midnight, not crossing it.
	evening := Range{Days: "mon", From: "18:00", To: "24:00"}
	for at, want := range map[string]bool{"2026-03-02 23:59": true, "2026-03-03 00:00": false, "2026-03-02 17:59": false} {
		tm, _ := time.Parse("2006-01-02 15:04", at)
		if got := evening.Contains(tm); got != want {
			t.Errorf("mon 18:00-24:00 contains %s = %v, want %v", at, got, want)
		}
	}
}

// TestScheduleDST checks an 08:00-18:00 schedule on the days clocks change:
// the wall clock decides, so the schedule opens at local 08:00 whatever the
// UTC offset, and the hour that does not exist or repeats causes no harm.
func TestScheduleDST(t *testing.T) {
	sched := &Schedule{Open: []Range{{Days: "mon-sun", From: "08:00", To: "18:00"}}}
	tests := []struct {
		zone string
		utc  string // an instant in UTC
		want bool
	}{
		// New York springs forward on Sunday 2026-03-08 (EST -5 -> EDT -4).
		{"America/New_York", "2026-03-07T12:30:00Z", false}, // Sat 07:30 EST
		{"America/New_York", "2026-03-07T13:00:00Z", true},  // Sat 08:00 EST
		{"America/New_York", "2026-03-08T11:59:00Z", false}, // Sun 07:59 EDT
		{"America/New_York", "2026-03-08T12:00:00Z", true},  // Sun 08:00 EDT
		{"America/New_York", "2026-03-08T21:59:00Z", true},  // Sun 17:59 EDT
		{"America/New_York", "2026-03-08T22:00:00Z", false}, // Sun 18:00 EDT
		{"America/New_York", "2026-03-09T12:00:00Z", true},  // Mon 08:00 EDT
		{"America/New_York", "2026-03-09T11:30:00Z", false}, // Mon 07:30 EDT
		// New York falls back on Sunday 2026-11-01 (EDT -4 -> EST -5).
		{"America/New_York", "2026-11-01T12:30:00Z", false}, // Sun 07:30 EST
		{"America/New_York", "2026-11-01T13:00:00Z", true},  // Sun 08:00 EST
		{"America/New_York", "2026-11-01T23:00:00Z", false}, // Sun 18:00 EST
		{"America/New_York", "2026-11-02T13:00:00Z", true},  // Mon 08:00 EST
		{"America/New_York", "2026-11-02T12:59:00Z", false}, // Mon 07:59 EST
		// Paris springs forward on Sunday 2026-03-29 (CET +1 -> CEST +2).
		{"Europe/Paris", "2026-03-29T05:59:00Z", false}, // Sun 07:59 CEST
		{"Europe/Paris", "2026-03-29T06:00:00Z", true},  // Sun 08:00 CEST
		{"Europe/Paris", "2026-03-29T16:00:00Z", false}, // Sun 18:00 CEST
		{"Europe/Paris", "2026-03-30T06:00:00Z", true},  // Mon 08:00 CEST
		{"Europe/Paris", "2026-03-28T06:30:00Z", false}, // Sat 07:30 CET
		// Paris falls back on Sunday 2026-10-25 (CEST +2 -> CET +1).
		{"Europe/Paris", "2026-10-25T06:59:00Z", false}, // Sun 07:59 CET
		{"Europe/Paris", "2026-10-25T07:00:00Z", true},  // Sun 08:00 CET
		{"Europe/Paris", "2026-10-25T16:59:00Z", true},  // Sun 17:59 CET
		{"Europe/Paris", "2026-10-26T07:00:00Z", true},  // Mon 08:00 CET
		{"Europe/Paris", "2026-10-26T06:00:00Z", false}, // Mon 07:00 CET
	}
	for _, tt := range tests {
		loc := mustLoad(t, tt.zone)
		at, err := time.Parse(time.RFC3339, tt.utc)
		if err != nil {
			t.Fatal(err)
		}
		if got := sched.OpenAt(at, loc); got != tt.want {
			t.Errorf("%s: open at %s (%s local) = %v, want %v", tt.zone, tt.utc, at.In(loc).Format("Mon 15:04 MST"), got, tt.want)
		}
	}
}

// TestNightShiftAcrossDST: a shift crossing midnight on the night clocks
// spring forward still ends at local 06:00.
func TestNightShiftAcrossDST(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	shift := []Range{{Days: "sat", From: "22:00", To: "06:00"}}
	for utc, want := range map[string]bool{
		"2026-03-08T06:30:00Z": true,  // Sun 01:30 EST
		"2026-03-08T07:30:00Z": true,  // Sun 03:30 EDT (02:xx never happened)
		"2026-03-08T09:59:00Z": true,  // Sun 05:59 EDT
		"2026-03-08T10:00:00Z": false, // Sun 06:00 EDT
	} {
		at, _ := time.Parse(time.RFC3339, utc)
		if got := InRanges(shift, at.In(loc)); got != want {
			t.Errorf("sat 22:00-06:00 at %s (%s) = %v, want %v", utc, at.In(loc).Format("Mon 15:04 MST"), got, want)
		}
	}
}

func TestOpenAtHoliday(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	s := &Schedule{
		Open:     []Range{{Days: "mon-fri", From: "08:00", To: "18:00"}},
		Holidays: []string{"2026-12-25"},
	}
	// 2026-12-25 is a Friday. 03:00 UTC on the 26th is still the 25th in New York.
	for utc, want := range map[string]bool{
		"2026-12-24T15:00:00Z": true,  // Thu 10:00
		"2026-12-25T15:00:00Z": false, // holiday
		"2026-12-25T22:30:00Z": false, // holiday 17:30
		"2026-12-28T15:00:00Z": true,  // Mon 10:00
	} {
		at, _ := time.Parse(time.RFC3339, utc)
		if got := s.OpenAt(at, loc); got != want {
			t.Errorf("open at %s = %v, want %v", utc, got, want)
		}
	}
	if s.OpenAt(time.Date(2026, 12, 24, 15, 0, 0, 0, time.UTC), nil) != true {
		t.Errorf("a nil location should judge in UTC")
	}
}

func TestInvalidRangeContainsNothing(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // Monday
	for _, r := range []Range{
		{Days: "mon", From: "25:00", To: "11:00"},
		{Days: "moon", From: "09:00", To: "11:00"},
		{Days: "mon", From: "10:00", To: "10:00"},
		{Days: "mon", From: "09:00"},
	} {
		if r.Contains(at) {
			t.Errorf("%+v contains Monday 10:00; an invalid range should contain nothing", r)
		}
	}
}

func TestLocation(t *testing.T) {
	tests := []struct{ tz, want string }{
		{"", "UTC"},
		{"America/New_York", "America/New_York"},
		{"Mars/Olympus", "UTC"},
		{"Local", "UTC"},
	}
	for _, tt := range tests {
		s := &Site{System: System{Timezone: tt.tz}}
		if got := s.Location().String(); got != tt.want {
			t.Errorf("Location() with timezone %q = %s, want %s", tt.tz, got, tt.want)
		}
	}
}

// BenchmarkOpenAt measures one schedule decision, made for every inbound call
// that has a when.
func BenchmarkOpenAt(b *testing.B) {
	loc, _ := time.LoadLocation("America/New_York")
	s := &Schedule{
		Open:     []Range{{Days: "mon-fri", From: "08:00", To: "12:00"}, {Days: "mon-fri", From: "13:00", To: "18:00"}},
		Holidays: []string{"2026-12-25", "2027-01-01"},
	}
	at := time.Date(2026, 3, 4, 17, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		s.OpenAt(at, loc)
	}
}
