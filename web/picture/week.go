package picture

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"ringbox/firmware/site"
)

// now is the clock that says which day is today; tests set it.
var now = time.Now

// Week grid geometry, in user units.
const (
	wkWidth    = 560.0
	wkHourW    = 46.0 // hour labels, left
	wkHeadH    = 44.0 // day names and dates
	wkHourH    = 14.0
	wkLineH    = 18.0
	wkHolidays = 5  // holidays listed under the grid
	wkMaxSpans = 24 // open spans drawn in one day; more are only counted
)

// interval is [from, to) in minutes after midnight.
type interval struct{ from, to int }

// WeekGrid draws schedule s for the week (Monday to Sunday) holding
// weekOf, judged in loc (nil: UTC): seven columns headed with their dates,
// the hours down, open hours filled, holidays closed and labelled, and
// today marked. Under the grid it lists the next five holidays from the
// later of today and that Monday.
//
// It reads the ranges as the engine does (site.Schedule.OpenAt): a range
// whose end is before its start runs past midnight into the next day, and
// a holiday closes its whole date. Ranges the engine would reject are
// left out, and counted under the grid.
func WeekGrid(s site.Schedule, loc *time.Location, weekOf time.Time) template.HTML {
	if loc == nil {
		loc = time.UTC
	}
	name := s.Name
	if name == "" {
		name = s.ID
	}
	t := weekOf.In(loc)
	// Noon, so that adding days never lands on the wrong date across a
	// daylight-saving change.
	monday := time.Date(t.Year(), t.Month(), t.Day()-(int(t.Weekday())+6)%7, 12, 0, 0, 0, loc)
	var days [7]time.Time
	for i := range days {
		days[i] = monday.AddDate(0, 0, i)
	}
	nowIn := now().In(loc)
	today := nowIn.Format(time.DateOnly)

	open, bad := openByWeekday(s.Open)
	holiday := map[string]bool{}
	var dates []string
	for _, h := range s.Holidays {
		if _, err := time.ParseInLocation(time.DateOnly, h, loc); err == nil && !holiday[h] {
			holiday[h] = true
			dates = append(dates, h)
		}
	}
	slices.Sort(dates)
	from := max(today, monday.Format(time.DateOnly))
	var next []string
	for _, d := range dates {
		if d >= from {
			next = append(next, d)
		}
	}

	gridTop := wkHeadH
	gridBottom := gridTop + 24*wkHourH
	colW := (wkWidth - wkHourW - 8) / 7
	var notes []string
	if bad > 0 {
		notes = append(notes, fmt.Sprintf("%s not understood, not drawn", plural(bad, "range")))
	}
	listLines := 1 + min(len(next), wkHolidays)
	if len(next) > wkHolidays {
		listLines++
	}
	h := gridBottom + 12 + float64(len(notes)+listLines)*wkLineH + 8

	desc := fmt.Sprintf("Opening hours of %s, week of %s to %s", name,
		days[0].Format("Mon 2 Jan"), days[6].Format("Mon 2 Jan 2006"))
	var hols []string
	for _, d := range days {
		if holiday[d.Format(time.DateOnly)] {
			hols = append(hols, d.Format("Mon 2 Jan"))
		}
	}
	if len(hols) > 0 {
		desc += "; holiday on " + strings.Join(hols, ", ")
	}
	if today >= days[0].Format(time.DateOnly) && today <= days[6].Format(time.DateOnly) {
		desc += "; today is " + nowIn.Format("Mon 2 Jan")
	}

	var c canvas
	c.open(wkWidth, h, "pic pic-week", desc)
	c.rect(0, 0, wkWidth, h, "pic-bg")

	// Hour lines, labelled every three hours.
	for hr := 0; hr <= 24; hr++ {
		y := gridTop + float64(hr)*wkHourH
		cls := "pic-grid"
		if hr%3 == 0 {
			cls = "pic-axis"
			c.text(wkHourW-6, y+4, "end", "pic-muted", fmt.Sprintf("%02d:00", hr))
		}
		c.line(wkHourW, y, wkWidth-8, y, cls)
	}

	for i, d := range days {
		x := wkHourW + float64(i)*colW
		date := d.Format(time.DateOnly)
		isToday, isHoliday := date == today, holiday[date]
		spans := open[d.Weekday()]
		c.group("pic-day", dayTitle(d, spans, isToday, isHoliday))
		head := "pic-strong"
		if isToday {
			head = "pic-today-text"
		}
		c.text(x+colW/2, 18, "middle", head, d.Format("Mon"))
		c.text(x+colW/2, 36, "middle", "pic-muted", d.Format("2 Jan"))
		c.line(x, gridTop, x, gridBottom, "pic-grid")
		if isHoliday {
			c.rect(x+1, gridTop, colW-2, gridBottom-gridTop, "pic-holiday")
			c.hatch(x+1, gridTop, colW-2, gridBottom-gridTop, "pic-holiday-hatch")
			c.text(x+colW/2, gridTop+12*wkHourH+5, "middle", "pic-holiday-text", "holiday")
		} else {
			for _, sp := range spans[:min(len(spans), wkMaxSpans)] {
				y0 := gridTop + float64(sp.from)/60*wkHourH
				y1 := gridTop + float64(sp.to)/60*wkHourH
				c.rect(x+3, y0, colW-6, y1-y0, "pic-open")
			}
		}
		if isToday {
			c.rect(x, 2, colW, gridBottom, "pic-today")
			m := nowIn.Hour()*60 + nowIn.Minute()
			y := gridTop + float64(m)/60*wkHourH
			c.line(x, y, x+colW, y, "pic-now")
		}
		c.endGroup()
	}
	c.line(wkWidth-8, gridTop, wkWidth-8, gridBottom, "pic-grid")

	y := gridBottom + 12
	for _, n := range notes {
		y += wkLineH
		c.text(8, y, "", "pic-muted", n)
	}
	y += wkLineH
	if len(next) == 0 {
		c.text(8, y, "", "pic-muted", "No holidays ahead")
	} else {
		c.text(8, y, "", "pic-strong", "Next holidays")
		for _, d := range next[:min(len(next), wkHolidays)] {
			y += wkLineH
			t, _ := time.ParseInLocation(time.DateOnly, d, loc)
			c.text(16, y, "", "", t.Format("Mon 2 Jan 2006"))
		}
		if n := len(next) - wkHolidays; n > 0 {
			y += wkLineH
			c.text(16, y, "", "pic-muted", fmt.Sprintf("+%d more", n))
		}
	}
	return c.close()
}

// dayTitle says in words what a column shows.
func dayTitle(d time.Time, spans []interval, today, holiday bool) string {
	var b strings.Builder
	b.WriteString(d.Format("Mon 2 Jan"))
	if today {
		b.WriteString(" (today)")
	}
	switch {
	case holiday:
		b.WriteString(": holiday, closed all day")
	case len(spans) == 0:
		b.WriteString(": closed all day")
	default:
		b.WriteString(": open ")
		for i, sp := range spans {
			if i == wkMaxSpans {
				fmt.Fprintf(&b, " and %d more", len(spans)-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(clock(sp.from) + "–" + clock(sp.to))
		}
	}
	return b.String()
}

func clock(m int) string {
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// openByWeekday turns ranges into each weekday's open spans, merged and
// sorted, indexed by time.Weekday, as site.Range.Contains reads them: a
// range that ends before it starts runs to midnight and on into the next
// day. bad counts ranges the engine would reject (they never open).
func openByWeekday(rs []site.Range) (open [7][]interval, bad int) {
	for _, r := range rs {
		days, err := site.ParseDays(r.Days)
		if err != nil || r.From == "" || r.To == "" {
			bad++
			continue
		}
		from, err1 := site.ParseClock(r.From)
		to, err2 := site.ParseClock(r.To)
		if err1 != nil || err2 != nil || from == 24*60 || (from == to && to != 24*60) {
			bad++
			continue
		}
		if to == 24*60 {
			to = 0 // ends at midnight
		}
		for d, on := range days {
			if !on {
				continue
			}
			if from < to {
				open[d] = append(open[d], interval{from, to})
				continue
			}
			open[d] = append(open[d], interval{from, 24 * 60})
			if to > 0 {
				next := (d + 1) % 7
				open[next] = append(open[next], interval{0, to})
			}
		}
	}
	for d := range open {
		open[d] = merge(open[d])
	}
	return open, bad
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []interval) []interval {
	slices.SortFunc(spans, func(a, b interval) int { return a.from - b.from })
	var out []interval
	for _, s := range spans {
		if n := len(out); n > 0 && s.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}
