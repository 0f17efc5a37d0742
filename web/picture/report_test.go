package picture

import (
	"strings"
	"testing"
	"time"
)

func TestAgentBars(t *testing.T) {
	svg := string(AgentBars([]AgentCount{
		{Label: "Al <script>", Answered: 4, Missed: 1},
		{Label: "Ann", Answered: 2, Declined: 3},
	}))
	for _, want := range []string{
		`role="img"`,
		"Al &lt;script&gt;: 4 answered, 1 missed, 0 declined", // the tooltip says it in words, escaped
		"4 / 1 / 0", "2 / 0 / 3", // numbers beside the bars, readable without colour
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("bars lack %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script>") {
		t.Error("a label went into the SVG unescaped")
	}
	// Both agents have 5 offers: their bars end at the same x.
	if n := strings.Count(svg, `fill="`+colAnswered+`"`); n != 3 { // legend + two bars
		t.Errorf("%d answered rectangles, want 3", n)
	}
}

func TestActivityStrip(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, paris)
	to := from.AddDate(0, 0, 1)
	svg := string(ActivityStrip("Al", from, to, paris, []StripSpan{
		{From: from.Add(8 * time.Hour), To: from.Add(12 * time.Hour), Kind: "available", Title: "Available 08:00 to 12:00"},
		{From: from.Add(9 * time.Hour), To: from.Add(9*time.Hour + 6*time.Minute), Kind: "on_call", Title: "On a call"},
		{From: from.Add(12 * time.Hour), To: from.Add(13 * time.Hour), Kind: "logged_out"},
	}))
	// Available from 08:00 to 12:00 of a 24-hour strip 420 units wide
	// starting at 124: x = 124 + 420*8/24 = 264, width 70.
	if !strings.Contains(svg, `<rect x="264" y="6" width="70" height="20" fill="`+colAvail+`"/>`) {
		t.Errorf("the available stretch is not drawn from 08:00 to 12:00 Paris time:\n%s", svg)
	}
	if !strings.Contains(svg, "<title>On a call</title>") || strings.Count(svg, "<g>") != 2 {
		t.Errorf("want two drawn stretches with tooltips (logged out is blank):\n%s", svg)
	}
	if !strings.Contains(svg, ">Mar 1<") || !strings.Contains(svg, ">12h<") {
		t.Errorf("ticks are not in the site's zone:\n%s", svg)
	}
}
