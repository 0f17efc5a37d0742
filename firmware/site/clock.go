package site

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // schedules must work on a box whose image has no zoneinfo
)

// dayNames are the day names of the site file, indexed by time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func dayIndex(s string) (int, bool) {
	for i, n := range dayNames {
		if s == n {
			return i, true
		}
	}
	return 0, false
}

// ParseDays parses days such as "mon-fri", "sat", "mon,wed,fri" or
// "mon-wed,fri". A range may wrap around the week ("fri-mon"). The result is
// indexed by time.Weekday.
func ParseDays(s string) ([7]bool, error) {
	var days [7]bool
	if strings.TrimSpace(s) == "" {
		return days, fmt.Errorf("no days given (write mon-fri, sat or mon,wed,fri)")
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := dayIndex(strings.TrimSpace(lo))
		if !ok {
			return days, fmt.Errorf("unknown day %q in %q (days are mon tue wed thu fri sat sun)", strings.TrimSpace(lo), s)
		}
		b := a
		if isRange {
			if b, ok = dayIndex(strings.TrimSpace(hi)); !ok {
				return days, fmt.Errorf("unknown day %q in %q (days are mon tue wed thu fri sat sun)", strings.TrimSpace(hi), s)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return days, nil
}

// ParseClock parses a time of day "HH:MM" (or "H:MM") into minutes after
// midnight. "24:00" is accepted as the end of the day (1440).
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !isDigits(h) || !isDigits(m) {
		return 0, fmt.Errorf("bad time %q (write it as HH:MM, like 09:00)", s)
	}
	hh := int(h[0] - '0')
	if len(h) == 2 {
		hh = hh*10 + int(h[1]-'0')
	}
	mm := int(m[0]-'0')*10 + int(m[1]-'0')
	switch {
	case hh == 24 && mm == 0:
		return 24 * 60, nil
	case hh > 23:
		return 0, fmt.Errorf("impossible time %q: the hour must be 00 to 23", s)
	case mm > 59:
		return 0, fmt.Errorf("impossible time %q: the minutes must be 00 to 59", s)
	}
	return hh*60 + mm, nil
}

// span is a parsed Range.
type span struct {
	days     [7]bool
	from, to int // minutes; to < from crosses midnight
}

func (r Range) parse() (span, error) {
	var sp span
	var err error
	if sp.days, err = ParseDays(r.Days); err != nil {
		return sp, err
	}
	if r.From == "" {
		return sp, fmt.Errorf("missing from time")
	}
	if r.To == "" {
		return sp, fmt.Errorf("missing to time")
	}
	if sp.from, err = ParseClock(r.From); err != nil {
		return sp, err
	}
	if sp.to, err = ParseClock(r.To); err != nil {
		return sp, err
	}
	if sp.from == 24*60 {
		return sp, fmt.Errorf("a range cannot start at 24:00 (write 00:00 on the next day)")
	}
	if sp.to == 24*60 {
		sp.to = 0 // ends at midnight: the same as crossing into 00:00
	}
	if sp.from == sp.to && r.To != "24:00" {
		return sp, fmt.Errorf("from and to are both %s: the range is empty", r.From)
	}
	return sp, nil
}

// minutes lists the week-minute intervals [start, end) of sp, with the week
// starting Sunday 00:00; an interval may run past the week's end.
func (sp span) minutes() [][2]int {
	var out [][2]int
	for d, on := range sp.days {
		if !on {
			continue
		}
		start, end := d*1440+sp.from, d*1440+sp.to
		if sp.to <= sp.from {
			end += 1440
		}
		out = append(out, [2]int{start, end})
	}
	return out
}

// contains reports whether the wall-clock weekday and minute fall in sp.
func (sp span) contains(day time.Weekday, minute int) bool {
	if sp.from < sp.to {
		return sp.days[day] && minute >= sp.from && minute < sp.to
	}
	// Crossing midnight: the evening part on the day itself, the morning
	// part on the next day.
	return (sp.days[day] && minute >= sp.from) || (sp.days[(day+6)%7] && minute < sp.to)
}

// Contains reports whether t, already in the site's location, falls in the
// range. From is included, To is not. A range whose To is earlier than its
// From crosses midnight: mon 22:00-06:00 covers Monday 22:00 to 24:00 and
// Tuesday 00:00 to 06:00. An invalid range contains nothing.
//
// Only the wall clock of t counts, so a range keeps its local meaning across
// daylight-saving changes.
func (r Range) Contains(t time.Time) bool {
	sp, err := r.parse()
	if err != nil {
		return false
	}
	return sp.contains(t.Weekday(), t.Hour()*60+t.Minute())
}

// InRanges reports whether t, already in the site's location, falls in any
// of rs.
func InRanges(rs []Range, t time.Time) bool {
	for _, r := range rs {
		if r.Contains(t) {
			return true
		}
	}
	return false
}

// OpenAt reports whether the schedule is open at t, judged in loc: a holiday
// (a date in loc) is closed all day, otherwise the open ranges decide. (It is
// not named Open because that is the field holding the ranges.)
func (s *Schedule) OpenAt(t time.Time, loc *time.Location) bool {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	date := t.Format(time.DateOnly)
	for _, h := range s.Holidays {
		if h == date {
			return false
		}
	}
	return InRanges(s.Open, t)
}

// locations caches loaded time zones: loading one reads and parses tzdata.
var locations sync.Map // name -> *time.Location

// loadLocation loads an IANA zone, refusing "Local", which would make the
// box's routing depend on how its image was set up.
func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name like America/New_York)", name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name like America/New_York or Europe/Paris)", name)
	}
	locations.Store(name, l)
	return l, nil
}

// Location returns the site's time zone, or UTC when system.timezone is
// empty or unknown (Validate reports the latter).
func (s *Site) Location() *time.Location {
	if s.System.Timezone == "" {
		return time.UTC
	}
	l, err := loadLocation(s.System.Timezone)
	if err != nil {
		return time.UTC
	}
	return l
}
