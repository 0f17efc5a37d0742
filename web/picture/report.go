package picture

import (
	"fmt"
	"html/template"
	"time"
)

// The managers' report charts. Their colours are SVG fill attributes,
// not classes: they are the report's own and the console's stylesheet
// need not carry them (attributes are not styles, so the CSP allows them).
const (
	colAnswered = "#2e7d4f" // green
	colMissed   = "#a3241c" // red
	colDeclined = "#b86e00" // amber
	colAvail    = "#2e7d4f"
	colUnavail  = "#8a93a1"
	colOffered  = "#b86e00"
	colOnCall   = "#0b5cad"
	colWrapup   = "#5b87c0"
)

// AgentCount is one agent's row of the bar chart.
type AgentCount struct {
	Label                      string
	Answered, Missed, Declined int
}

// AgentBars draws one stacked horizontal bar per agent: answered, missed
// and declined offers, scaled to the busiest agent, with the numbers
// written beside each bar so the chart reads without colour.
func AgentBars(rows []AgentCount) template.HTML {
	const labelW, rowH, top, plotX1 = 116.0, 24.0, 24.0, 470.0
	rows = rows[:min(len(rows), maxMemberRows)]
	most := 1
	for _, r := range rows {
		most = max(most, r.Answered+r.Missed+r.Declined)
	}
	h := top + rowH*float64(len(rows)) + 8
	var c canvas
	c.open(tlWidth, h, "pic", fmt.Sprintf("Queue offers per agent: answered, missed and declined (%s)", plural(len(rows), "agent")))
	c.rect(0, 0, tlWidth, h, "pic-bg")
	// Legend.
	x := labelW + 8
	for _, l := range []struct{ col, name string }{{colAnswered, "answered"}, {colMissed, "missed"}, {colDeclined, "declined"}} {
		fill(&c, x, 6, 12, 12, l.col)
		c.text(x+16, 17, "", "pic-muted", l.name)
		x += 100
	}
	scale := (plotX1 - labelW - 8) / float64(most)
	for i, r := range rows {
		y := top + rowH*float64(i)
		c.text(labelW, y+16, "end", "", short(r.Label, fits(labelW)))
		x := labelW + 8
		c.group("", fmt.Sprintf("%s: %d answered, %d missed, %d declined", r.Label, r.Answered, r.Missed, r.Declined))
		for _, seg := range []struct {
			n   int
			col string
		}{{r.Answered, colAnswered}, {r.Missed, colMissed}, {r.Declined, colDeclined}} {
			if seg.n > 0 {
				w := scale * float64(seg.n)
				fill(&c, x, y+4, w, tlBarH, seg.col)
				x += w
			}
		}
		c.endGroup()
		c.text(x+6, y+16, "", "pic-muted", fmt.Sprintf("%d / %d / %d", r.Answered, r.Missed, r.Declined))
	}
	return c.close()
}

// StripSpan is a stretch of an agent's day in one status or state.
type StripSpan struct {
	From, To time.Time
	// Kind: available, unavailable, offered, on_call, wrapup; anything
	// else (logged out) is left blank.
	Kind  string
	Title string // tooltip: what and how long
}

var stripColours = map[string]string{
	"available": colAvail, "unavailable": colUnavail, "offered": colOffered, "on_call": colOnCall, "wrapup": colWrapup,
}

// ActivityStrip draws one agent's period as a strip: time across (hours
// in loc), a coloured span for each stretch logged in, blank while logged
// out.
func ActivityStrip(label string, from, to time.Time, loc *time.Location, spans []StripSpan) template.HTML {
	const labelW, plotX1, top = 116.0, 544.0, 6.0
	const h = 48.0
	total := to.Sub(from).Seconds()
	if total <= 0 {
		total = 1
	}
	xOf := func(t time.Time) float64 {
		return labelW + 8 + (plotX1-labelW-8)*t.Sub(from).Seconds()/total
	}
	var c canvas
	c.open(tlWidth, h, "pic", fmt.Sprintf("%s's activity from %s to %s: green available, grey unavailable, amber offered, blue on a call, light blue wrap-up, blank logged out",
		label, from.In(loc).Format("2006-01-02 15:04"), to.In(loc).Format("2006-01-02 15:04")))
	c.rect(0, 0, tlWidth, h, "pic-bg")
	c.text(labelW, top+16, "end", "", short(label, fits(labelW)))
	c.rect(labelW+8, top, plotX1-labelW-8, 20, "pic-skip")
	drawn := 0
	for _, sp := range spans {
		col, ok := stripColours[sp.Kind]
		if !ok || !sp.To.After(sp.From) {
			continue
		}
		if drawn++; drawn > maxBars {
			break
		}
		x0, x1 := xOf(sp.From), xOf(sp.To)
		c.group("", sp.Title)
		fill(&c, x0, top, max(x1-x0, 0.5), 20, col)
		c.endGroup()
	}
	// Ticks: every few hours in the site's zone.
	step := time.Hour
	for to.Sub(from)/step > 8 {
		step *= 2
	}
	t := from.In(loc).Truncate(time.Hour)
	if t.Before(from) {
		t = t.Add(time.Hour)
	}
	for ; !t.After(to); t = t.Add(step) {
		x := xOf(t)
		c.line(x, top+20, x, top+25, "pic-axis")
		lbl := t.In(loc).Format("15h")
		if t.In(loc).Hour() == 0 {
			lbl = t.In(loc).Format("Jan 2")
		}
		c.text(x, top+38, "middle", "pic-muted", lbl)
	}
	return c.close()
}

// fill draws a rectangle of colour col.
func fill(c *canvas, x, y, w, h float64, col string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(x), num(y), num(w), num(h), col)
}
