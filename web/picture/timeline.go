package picture

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ringbox/firmware/flow"
	"ringbox/firmware/site"
)

// Caps of the timeline: past them the picture says how much it left out.
const (
	maxMemberRows = 20  // rows drawn; more members are counted, not drawn
	maxPasses     = 4   // passes through the stages drawn
	maxBars       = 400 // bars drawn in all
)

// Timeline geometry, in user units.
const (
	tlWidth   = 560.0
	tlLabelW  = 116.0 // member names, left
	tlEndW    = 110.0 // the "then →" box, right
	tlTop     = 22.0  // stage names above the rows
	tlRowH    = 24.0
	tlRowHDry = 34.0 // with a dry run: room for the skip reasons under the name
	tlBarH    = 16.0
	tlPlotX0  = tlLabelW + 8
	tlPlotX1  = tlWidth - tlEndW - 16
	tlAxisGap = 16.0 // tick labels below the rows
)

// RingGroupTimeline draws ring group g as a timeline: seconds across, one
// row per member, a bar for each stage window the member rings in (stage
// after stage, as the engine rings them), every pass through the stages
// after the first drawn lighter, and at the end where an unanswered call
// goes. label names a member ("ext:101", "fxs:1", an agent id, a phone
// number) as the installer should read it; nil shows the member as
// written.
//
// With a dry run (plan non-nil, for the same group), a member the plan
// skips in a stage is drawn hatched grey with the reason. The windows
// stay where the site file puts them: the picture shows the group as
// configured, the dry run only who would not ring now.
func RingGroupTimeline(g site.RingGroup, plan *flow.PlanResult, label func(member string) string) template.HTML {
	label = orIdentity(label)
	name := g.Name
	if name == "" {
		name = g.ID
	}

	// Rows: members in order of first appearance.
	var members []string
	seen := map[string]bool{}
	var stageLen time.Duration
	for _, st := range g.Stages {
		for _, m := range st.Ring {
			if !seen[m] {
				seen[m] = true
				members = append(members, m)
			}
		}
		stageLen += st.For.D()
	}
	rowOf := map[string]int{}
	for i, m := range members {
		if i < maxMemberRows {
			rowOf[m] = i
		}
	}
	rows := min(len(members), maxMemberRows)
	moreMembers := len(members) - rows

	passes := g.Repeats()
	drawn := min(passes, maxPasses)
	total := stageLen * time.Duration(drawn)
	span := total
	if span <= 0 {
		span = time.Second // nothing to draw; keeps the scale finite
	}
	scale := (tlPlotX1 - tlPlotX0) / span.Seconds()
	xAt := func(d time.Duration) float64 { return tlPlotX0 + d.Seconds()*scale }

	skips := planSkips(plan)
	rowH := tlRowH
	if plan != nil {
		rowH = tlRowHDry
	}

	// Height: stage names, rows (at least one, for the end box), the
	// "+N more" line, tick labels, notes and legend.
	bodyRows := max(rows, 1)
	if moreMembers > 0 {
		bodyRows++
	}
	dest := label(g.NoAnswerDest())
	destLines := wrap(dest, fits(tlEndW-14), 2)
	endH := 26 + 17*float64(len(destLines))
	// The rows are at least as tall as the end box, which sits beside them.
	bodyH := max(float64(bodyRows)*rowH, endH+4)
	rowsBottom := tlTop + bodyH
	notes := timelineNotes(g, plan, label, passes, drawn, stageLen)
	if n := windows(g, rowOf, drawn) - maxBars; n > 0 {
		notes = append(notes, fmt.Sprintf("+%d more ring windows not drawn", n))
	}
	h := rowsBottom + tlAxisGap + 8 + float64(len(notes))*16 + 24

	desc := fmt.Sprintf("Ring group %s: %s, %s, %s in all", name,
		plural(len(g.Stages), "stage"), plural(len(members), "member"), secs(stageLen*time.Duration(passes)))
	if passes > 1 {
		desc += fmt.Sprintf(", rung %d times over", passes)
	}
	desc += "; then " + label(g.NoAnswerDest())
	if n := len(skipsNow(plan)); n > 0 {
		desc += fmt.Sprintf("; %s skipped now", plural(n, "member"))
	}

	var c canvas
	c.open(tlWidth, h, "pic pic-timeline", desc)
	c.rect(0, 0, tlWidth, h, "pic-bg")

	// Ticks and their labels.
	step := tickStep(total)
	for t := time.Duration(0); t <= total; t += step {
		x := xAt(t)
		c.line(x, tlTop, x, rowsBottom, "pic-grid")
		c.text(x, rowsBottom+tlAxisGap, "middle", "pic-muted", strconv.Itoa(int(t.Seconds())))
	}
	c.text(tlPlotX0-6, rowsBottom+tlAxisGap, "end", "pic-muted", "seconds")
	c.line(tlPlotX0, rowsBottom, tlPlotX1, rowsBottom, "pic-axis")

	// Stage boundaries, named on the first pass when there is room.
	var at time.Duration
	for p := 0; p < drawn; p++ {
		for i, st := range g.Stages {
			x0, x1 := xAt(at), xAt(at+st.For.D())
			if x1-x0 >= 4 {
				c.line(x0, tlTop-14, x0, rowsBottom, "pic-stage")
				tag := "stage " + strconv.Itoa(i+1)
				if p > 0 {
					tag = "pass " + strconv.Itoa(p+1)
				}
				if p == 0 || i == 0 {
					if n := fitsSmall(x1 - x0 - 4); n >= 3 {
						c.text(x0+3, tlTop-6, "", "pic-muted", short(tag, n))
					}
				}
			}
			at += st.For.D()
		}
	}

	// Member names.
	for i := range rows {
		m := members[i]
		y := tlTop + float64(i)*rowH
		c.group("", label(m)+" ("+m+")")
		if why := memberReasons(skips, m); why != "" {
			// The bars may be too short to say why; the row does.
			c.text(tlLabelW, y+rowH/2-1, "end", "", short(label(m), fits(tlLabelW)))
			c.text(tlLabelW, y+rowH/2+12, "end", "pic-skip-text", short(why, fitsSmall(tlLabelW)))
		} else {
			c.text(tlLabelW, y+rowH/2+5, "end", "", short(label(m), fits(tlLabelW)))
		}
		c.endGroup()
	}
	if moreMembers > 0 {
		y := tlTop + float64(rows)*rowH
		c.text(tlLabelW, y+rowH/2+5, "end", "pic-muted", fmt.Sprintf("+%d more", moreMembers))
	}

	// Bars.
	bars := 0
	at = 0
	for p := 0; p < drawn; p++ {
		for si, st := range g.Stages {
			from, until := at, at+st.For.D()
			at = until
			done := map[string]bool{}
			for _, m := range st.Ring {
				row, ok := rowOf[m]
				if !ok || done[m] {
					continue
				}
				done[m] = true
				if bars == maxBars {
					continue
				}
				bars++
				x, w := xAt(from), xAt(until)-xAt(from)
				y := tlTop + float64(row)*rowH + (rowH-tlBarH)/2
				where := fmt.Sprintf("%s to %s, stage %d", secs(from), secs(until), si+1)
				if p > 0 {
					where += fmt.Sprintf(", pass %d", p+1)
				}
				sk := skips[skipKey{p + 1, si + 1, m}]
				switch {
				case sk.reason != "" && !sk.partly:
					c.group("pic-win", fmt.Sprintf("%s: skipped, %s (%s)", label(m), sk.reason, where))
					c.rect(x, y, w, tlBarH, "pic-skip")
					c.hatch(x, y, w, tlBarH, "pic-hatch")
					if fitsSmall(w-4) >= utf8.RuneCountInString(sk.reason) {
						c.text(x+w/2, y+tlBarH-4, "middle", "pic-skip-text", sk.reason)
					}
				case sk.reason != "":
					// An agent whose desk phone is skipped (do not disturb)
					// may still ring on the mobile: the bar stays, the
					// tooltip tells.
					c.group("pic-win", fmt.Sprintf("%s: rings %s; partly skipped, %s", label(m), where, sk.reason))
					c.rect(x, y, w, tlBarH, barClass(p))
				default:
					c.group("pic-win", fmt.Sprintf("%s: rings %s", label(m), where))
					c.rect(x, y, w, tlBarH, barClass(p))
				}
				c.endGroup()
			}
		}
	}

	// Where the call goes when nobody answers.
	ex := tlPlotX1 + 12
	by := tlTop + (bodyH-endH)/2
	c.group("pic-then", "then "+dest)
	c.rect(ex, by, tlEndW, endH, "pic-end")
	c.text(ex+8, by+18, "", "pic-muted", "then →")
	for i, l := range destLines {
		c.text(ex+8, by+36+17*float64(i), "", "pic-strong", l)
	}
	c.endGroup()

	// Notes and legend.
	y := rowsBottom + tlAxisGap + 8
	for _, n := range notes {
		y += 16
		c.text(8, y, "", "pic-muted", short(n, fitsSmall(tlWidth-16)))
	}
	y += 20
	lx := 8.0
	legend := func(cls, text string, hatched bool) {
		c.rect(lx, y-10, 14, 12, cls)
		if hatched {
			c.hatch(lx, y-10, 14, 12, "pic-hatch")
		}
		c.text(lx+18, y, "", "pic-muted", text)
		lx += 18 + float64(len(text))*6.7 + 14
	}
	legend("pic-bar", "rings", false)
	if drawn > 1 {
		legend("pic-bar-repeat", "rings again (repeat)", false)
	}
	if plan != nil {
		legend("pic-skip", "skipped now", true)
	}
	return c.close()
}

// windows counts the bars the drawn passes hold, before the cap.
func windows(g site.RingGroup, rowOf map[string]int, drawn int) int {
	n := 0
	for _, st := range g.Stages {
		done := map[string]bool{}
		for _, m := range st.Ring {
			if _, ok := rowOf[m]; ok && !done[m] {
				done[m] = true
				n++
			}
		}
	}
	return n * drawn
}

func barClass(pass int) string {
	if pass == 0 {
		return "pic-bar"
	}
	return "pic-bar-repeat"
}

type skipKey struct {
	round, stage int
	member       string
}

type skipInfo struct {
	reason string
	partly bool // some of the member's phones still ring
}

// planSkips indexes the dry run's skips by round, stage and member. A
// member both skipped and rung in one stage (an agent's desk phone on do
// not disturb, the mobile ringing) is only partly skipped.
func planSkips(plan *flow.PlanResult) map[skipKey]skipInfo {
	out := map[skipKey]skipInfo{}
	if plan == nil {
		return out
	}
	for _, s := range plan.Skipped {
		out[skipKey{s.Round, s.Stage, s.Member}] = skipInfo{reason: s.Reason}
	}
	for _, r := range plan.Rings {
		k := skipKey{r.Round, r.Stage, r.Member}
		if s, ok := out[k]; ok {
			s.partly = true
			out[k] = s
		}
	}
	return out
}

// memberReasons joins the distinct reasons m is skipped for.
func memberReasons(skips map[skipKey]skipInfo, m string) string {
	var out []string
	for k, s := range skips {
		if k.member == m && !s.partly && !slices.Contains(out, s.reason) {
			out = append(out, s.reason)
		}
	}
	slices.Sort(out) // map order must not change the picture
	return strings.Join(out, ", ")
}

// skipsNow lists the members the plan skips altogether at least once.
func skipsNow(plan *flow.PlanResult) []string {
	var out []string
	seen := map[string]bool{}
	for k, s := range planSkips(plan) {
		if !s.partly && !seen[k.member] {
			seen[k.member] = true
			out = append(out, k.member)
		}
	}
	return out
}

// timelineNotes are the lines under the axis: passes not drawn and the dry
// run's outcome.
func timelineNotes(g site.RingGroup, plan *flow.PlanResult, label func(string) string, passes, drawn int, stageLen time.Duration) []string {
	var out []string
	if passes > drawn {
		out = append(out, fmt.Sprintf("Rings through the stages %d times; %d more passes of %s not drawn",
			passes, passes-drawn, secs(stageLen)))
	}
	if plan != nil {
		at := plan.At.Format("Mon 2 Jan 15:04")
		var b strings.Builder
		fmt.Fprintf(&b, "A call at %s: ", at)
		if len(plan.Rings) == 0 {
			b.WriteString("nobody rings")
		} else {
			fmt.Fprintf(&b, "rings for %s", secs(time.Duration(plan.End)))
		}
		dest := plan.NoAnswer
		if dest == "" {
			dest = g.NoAnswerDest()
		}
		b.WriteString(", then " + label(dest))
		out = append(out, b.String())
	}
	return out
}

// tickStep spaces the ticks at 5, 10 or 30 seconds, or whole minutes for
// long groups, so there are at most about a dozen.
func tickStep(total time.Duration) time.Duration {
	for _, s := range []time.Duration{5, 10, 30, 60, 120, 300, 600, 1800, 3600} {
		if total/(s*time.Second) <= 12 {
			return s * time.Second
		}
	}
	return total/12 + time.Second
}

// secs writes a duration in seconds ("45 s"), as the axis counts.
func secs(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
