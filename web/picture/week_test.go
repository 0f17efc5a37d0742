package picture

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/site"
)

// setNow fixes the clock that says which day is today.
func setNow(t *testing.T, at time.Time) {
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
}

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func office() site.Schedule {
	return site.Schedule{ID: "office", Name: "Office", Open: []site.Range{
		{Days: "mon-fri", From: "09:00", To: "17:00"},
		{Days: "wed", From: "22:00", To: "02:00"}, // late shift into Thursday
		{Days: "fri", From: "22:00", To: "06:00"}, // Friday is a holiday: only Saturday's part opens
		{Days: "sun", From: "23:00", To: "01:00"}, // into Monday, also the Monday of this week
		{Days: "mon", From: "25:00", To: "26:00"}, // rejected by the engine
	}, Holidays: []string{"2026-12-25", "2027-01-01", "2026-12-14", "2027-04-05", "2027-05-01",
		"2027-05-08", "2027-07-14", "2026-12-25", "not a date"}}
}

// days lists the day columns of a week grid.
func dayGroups(t *testing.T, svg *node) []*node {
	t.Helper()
	ds := svg.all(byClass("pic-day"))
	if len(ds) != 7 {
		t.Fatalf("%d day columns, want 7", len(ds))
	}
	return ds
}

// openMinutes reads back which minutes of a day column are drawn open.
func openMinutes(t *testing.T, day *node) [24 * 60]bool {
	var open [24 * 60]bool
	for _, r := range day.all(byClass("pic-open")) {
		y0, y1 := r.f(t, "y"), r.f(t, "y")+r.f(t, "height")
		from := int((y0-wkHeadH)/wkHourH*60 + 0.5)
		to := int((y1-wkHeadH)/wkHourH*60 + 0.5)
		for m := from; m < to; m++ {
			open[m] = true
		}
	}
	return open
}

func TestWeekGrid(t *testing.T) {
	loc := paris(t)
	setNow(t, time.Date(2026, 12, 23, 10, 30, 0, 0, loc)) // a Wednesday
	s := office()
	// Any moment of the week picks the same Monday-to-Sunday.
	out := WeekGrid(s, loc, time.Date(2026, 12, 27, 23, 30, 0, 0, loc))
	if other := WeekGrid(s, loc, time.Date(2026, 12, 21, 0, 0, 0, 0, loc)); other != out {
		t.Errorf("the Sunday and the Monday of one week draw different grids")
	}
	svg := parseSVG(t, out)
	days := dayGroups(t, svg)

	wantTitles := []string{
		"Mon 21 Dec: open 00:00–01:00, 09:00–17:00",
		"Tue 22 Dec: open 09:00–17:00",
		"Wed 23 Dec (today): open 09:00–17:00, 22:00–24:00",
		"Thu 24 Dec: open 00:00–02:00, 09:00–17:00",
		"Fri 25 Dec: holiday, closed all day",
		"Sat 26 Dec: open 00:00–06:00",
		"Sun 27 Dec: open 23:00–24:00",
	}
	for i, d := range days {
		if d.title() != wantTitles[i] {
			t.Errorf("column %d is titled %q, want %q", i, d.title(), wantTitles[i])
		}
		// Headed with the weekday and the date.
		date := time.Date(2026, 12, 21+i, 0, 0, 0, 0, loc)
		if got := d.texts(); len(got) < 2 || got[0] != date.Format("Mon") || got[1] != date.Format("2 Jan") {
			t.Errorf("column %d header %q, want %s", i, got, date.Format("Mon, 2 Jan"))
		}
	}

	// What is drawn open is what the engine finds open, minute by minute
	// (on the hour and half hour, and around the edges).
	for i, d := range days {
		open := openMinutes(t, d)
		date := time.Date(2026, 12, 21+i, 0, 0, 0, 0, loc)
		for m := 0; m < 24*60; m++ {
			if m%30 != 0 && m%60 != 59 && m%60 != 1 {
				continue
			}
			at := date.Add(time.Duration(m) * time.Minute)
			if want := s.OpenAt(at, loc); open[m] != want {
				t.Errorf("%s: drawn open %v, engine says open %v", at.Format("Mon 2 Jan 15:04"), open[m], want)
			}
		}
	}

	// The crossing range is split across Wednesday and Thursday.
	if o := openMinutes(t, days[2]); !o[23*60+59] || o[0] {
		t.Errorf("Wednesday: want open at 23:59, closed at 00:00")
	}
	if o := openMinutes(t, days[3]); !o[0] || !o[119] || o[120] {
		t.Errorf("Thursday: want open 00:00-02:00 from Wednesday's late shift")
	}

	// Friday is the holiday: hatched and labelled, nothing open.
	fri := days[4]
	if len(fri.all(byClass("pic-holiday"))) != 1 || len(fri.all(byClass("pic-open"))) != 0 {
		t.Errorf("Friday: want a holiday fill and no open hours")
	}
	if got := fri.all(byClass("pic-holiday-text")); len(got) != 1 || got[0].text != "holiday" {
		t.Errorf("Friday is not labelled holiday")
	}
	if n := len(svg.all(byClass("pic-holiday"))); n != 1 {
		t.Errorf("%d holiday columns, want 1", n)
	}

	// Today is Wednesday: outlined, its name in the accent, the time marked.
	for i, d := range days {
		marked := len(d.all(byClass("pic-today"))) == 1 && len(d.all(byClass("pic-today-text"))) == 1
		if marked != (i == 2) {
			t.Errorf("column %d marked as today: %v", i, marked)
		}
	}
	if l := days[2].all(byClass("pic-now")); len(l) != 1 || !near(l[0].f(t, "y1"), wkHeadH+10.5*wkHourH) {
		t.Errorf("now line %v, want at 10:30", l)
	}

	// Hour labels every three hours.
	for hr := 0; hr <= 24; hr += 3 {
		svg.textNode(t, fmt.Sprintf("%02d:00", hr))
	}
	for _, x := range svg.texts() {
		if x == "01:00" || x == "10:00" {
			t.Errorf("hour %s labelled; only every third hour should be", x)
		}
	}

	// The next five holidays from today, then how many more; the one
	// before today is not listed, nor the bad date.
	list := svg.texts()
	i := strings.Index(strings.Join(list, "|"), "Next holidays")
	if i < 0 {
		t.Fatalf("no holiday list in %q", list)
	}
	got := strings.Join(list, "|")[i:]
	want := "Next holidays|Fri 25 Dec 2026|Fri 1 Jan 2027|Mon 5 Apr 2027|Sat 1 May 2027|Sat 8 May 2027|+1 more"
	if got != want {
		t.Errorf("list reads %q, want %q", got, want)
	}
	svg.textNode(t, "1 range not understood, not drawn")
	if l := svg.attr["aria-label"]; l != "Opening hours of Office, week of Mon 21 Dec to Sun 27 Dec 2026; holiday on Fri 25 Dec; today is Wed 23 Dec" {
		t.Errorf("aria-label %q", l)
	}
}

func TestWeekGridOtherWeek(t *testing.T) {
	loc := paris(t)
	setNow(t, time.Date(2026, 12, 23, 10, 30, 0, 0, loc))
	// A week ahead: no today, holidays listed from its Monday.
	svg := parseSVG(t, WeekGrid(office(), loc, time.Date(2027, 4, 7, 12, 0, 0, 0, loc)))
	if n := len(svg.all(byClass("pic-today"))); n != 0 {
		t.Errorf("%d columns marked today in a week without today", n)
	}
	days := dayGroups(t, svg)
	if days[0].title() != "Mon 5 Apr: holiday, closed all day" {
		t.Errorf("Monday titled %q, want the Easter Monday holiday", days[0].title())
	}
	svg.textNode(t, "Mon 5 Apr 2027")
	for _, x := range svg.texts() {
		if x == "Fri 1 Jan 2027" {
			t.Errorf("a holiday before the week is listed as next")
		}
	}
	// No holidays at all.
	svg = parseSVG(t, WeekGrid(site.Schedule{ID: "x"}, nil, time.Date(2027, 4, 7, 12, 0, 0, 0, time.UTC)))
	svg.textNode(t, "No holidays ahead")
	for _, d := range dayGroups(t, svg) {
		if !strings.HasSuffix(d.title(), "closed all day") {
			t.Errorf("schedule with no ranges: %q", d.title())
		}
	}
}

func TestWeekGridAcrossDST(t *testing.T) {
	loc := paris(t)
	setNow(t, time.Date(2026, 12, 23, 10, 30, 0, 0, loc))
	// Clocks go forward on Sunday 29 March 2026; ranges keep their wall
	// clock and the dates stay right.
	svg := parseSVG(t, WeekGrid(office(), loc, time.Date(2026, 3, 29, 23, 0, 0, 0, loc)))
	days := dayGroups(t, svg)
	if days[0].title() != "Mon 23 Mar: open 00:00–01:00, 09:00–17:00" || days[6].title() != "Sun 29 Mar: open 23:00–24:00" {
		t.Errorf("DST week titled %q … %q", days[0].title(), days[6].title())
	}
}

func TestWeekGridEscapesAndCaps(t *testing.T) {
	setNow(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := site.Schedule{ID: "s", Name: `<script>alert(1)</script>`}
	for m := 0; m < 24*60-1; m += 2 { // 720 one-minute ranges on Mondays
		s.Open = append(s.Open, site.Range{Days: "mon", From: clock(m), To: clock(m + 1)})
	}
	for d := range 400 {
		s.Holidays = append(s.Holidays, time.Date(2026, 2, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	out := WeekGrid(s, time.UTC, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if strings.Contains(string(out), "<script") {
		t.Fatalf("name came out unescaped")
	}
	if len(out) > 20_000 {
		t.Errorf("grid is %d bytes, want at most 20000", len(out))
	}
	svg := parseSVG(t, out)
	if !strings.Contains(svg.attr["aria-label"], "<script>alert(1)</script>") {
		t.Errorf("aria-label %q lost the name", svg.attr["aria-label"])
	}
	mon := dayGroups(t, svg)[0] // Monday 29 Dec 2025
	if n := len(mon.all(byClass("pic-open"))); n != wkMaxSpans {
		t.Errorf("Monday draws %d spans, want the cap %d", n, wkMaxSpans)
	}
	if !strings.HasSuffix(mon.title(), " and 696 more") {
		t.Errorf("Monday title %q does not count the spans not drawn", mon.title())
	}
	svg.textNode(t, "+395 more")
}
