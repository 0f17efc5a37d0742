package picture

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/flow"
	"ringbox/firmware/site"
)

var names = map[string]string{
	"ext:101": "101 Reception", "ext:102": "102 Sales", "bob": "Bob Smith",
	"+15550100": "+1 555 0100", "voicemail:100": "Voicemail 100", "queue:support": "Support queue",
	"hangup": "Hang up", "ivr:main": "Main menu",
}

func label(s string) string {
	if n, ok := names[s]; ok {
		return n
	}
	return s
}

func sales() site.RingGroup {
	return site.RingGroup{ID: "sales", Name: "Sales", Repeat: 2, NoAnswer: "voicemail:100", Stages: []site.Stage{
		{Ring: []string{"ext:101", "bob"}, For: site.Duration(20 * time.Second)},
		{Ring: []string{"ext:102", "bob", "+15550100"}, For: site.Duration(10 * time.Second)},
	}}
}

// bar is one drawn ring window: its tooltip, class and where it is.
type bar struct {
	title, class string
	x0, x1, y    float64
}

func bars(t *testing.T, svg *node) []bar {
	t.Helper()
	var out []bar
	for _, g := range svg.all(byClass("pic-win")) {
		for _, r := range g.children {
			if r.name == "rect" {
				x, w := r.f(t, "x"), r.f(t, "width")
				out = append(out, bar{g.title(), r.attr["class"], x, x + w, r.f(t, "y") + r.f(t, "height")/2})
			}
		}
	}
	return out
}

// barsOf lists the bars whose tooltip starts with who.
func barsOf(bs []bar, who string) []bar {
	var out []bar
	for _, b := range bs {
		if strings.HasPrefix(b.title, who+":") {
			out = append(out, b)
		}
	}
	return out
}

// tickX is where the axis label for sec seconds is.
func tickX(t *testing.T, svg *node, sec int) float64 {
	t.Helper()
	for _, x := range svg.all(isText) {
		if x.text == fmt.Sprint(sec) && x.hasClass("pic-muted") {
			return x.f(t, "x")
		}
	}
	t.Fatalf("no tick labelled %d s; texts %q", sec, svg.texts())
	return 0
}

func TestTimelineBarsFollowStages(t *testing.T) {
	svg := parseSVG(t, RingGroupTimeline(sales(), nil, label))

	// 60 s in all (two passes of 30 s): a tick every 5 s.
	for s := 0; s <= 60; s += 5 {
		tickX(t, svg, s)
	}
	bs := bars(t, svg)
	if len(bs) != 10 {
		t.Fatalf("%d bars, want 10 (5 member windows, two passes): %v", len(bs), bs)
	}
	// Bob is in both stages: four bars, the second pass lighter.
	bob := barsOf(bs, "Bob Smith")
	want := []struct {
		from, until int
		class       string
	}{{0, 20, "pic-bar"}, {20, 30, "pic-bar"}, {30, 50, "pic-bar-repeat"}, {50, 60, "pic-bar-repeat"}}
	if len(bob) != len(want) {
		t.Fatalf("Bob has %d bars, want %d: %v", len(bob), len(want), bob)
	}
	bobLabel := svg.textNode(t, "Bob Smith").f(t, "y")
	for i, w := range want {
		b := bob[i]
		if !near(b.x0, tickX(t, svg, w.from)) || !near(b.x1, tickX(t, svg, w.until)) {
			t.Errorf("Bob's bar %d spans x %.1f-%.1f, want the %d s and %d s ticks (%.1f-%.1f)",
				i, b.x0, b.x1, w.from, w.until, tickX(t, svg, w.from), tickX(t, svg, w.until))
		}
		if b.class != w.class {
			t.Errorf("Bob's bar %d (%s) has class %q, want %q", i, b.title, b.class, w.class)
		}
		if b.y < bobLabel-tlRowH/2 || b.y > bobLabel+tlRowH/2 {
			t.Errorf("Bob's bar %d at y %.1f is not on Bob's row (label at %.1f)", i, b.y, bobLabel)
		}
	}
	// Reception rings in stage 1 only, on its own row.
	rec := barsOf(bs, "101 Reception")
	if len(rec) != 2 || !near(rec[0].x1, tickX(t, svg, 20)) || !near(rec[1].x0, tickX(t, svg, 30)) {
		t.Errorf("101 Reception bars %v, want 0-20 s and 30-50 s", rec)
	}
	if rec[0].y == bob[0].y {
		t.Errorf("Reception and Bob share a row")
	}
	// Stage names and the end.
	svg.textNode(t, "stage 1")
	svg.textNode(t, "stage 2")
	svg.textNode(t, "pass 2")
	svg.textNode(t, "then →")
	end := svg.all(byClass("pic-then"))
	if len(end) != 1 || end[0].title() != "then Voicemail 100" {
		t.Errorf("end box %v, want one titled %q", end, "then Voicemail 100")
	}
	if got := strings.Join(end[0].texts(), " "); got != "then → Voicemail 100" {
		t.Errorf("end box reads %q, want %q", got, "then → Voicemail 100")
	}
	if l := svg.attr["aria-label"]; !strings.Contains(l, "Ring group Sales: 2 stages, 4 members, 60 s in all, rung 2 times over; then Voicemail 100") {
		t.Errorf("aria-label %q does not describe the group", l)
	}
}

func TestTimelineDefaults(t *testing.T) {
	g := site.RingGroup{ID: "front", Stages: []site.Stage{{Ring: []string{"ext:101"}, For: site.Duration(15 * time.Second)}}}
	svg := parseSVG(t, RingGroupTimeline(g, nil, nil))
	bs := bars(t, svg)
	if len(bs) != 1 || bs[0].class != "pic-bar" {
		t.Fatalf("bars %v, want one first-pass bar (repeat 0 means once)", bs)
	}
	svg.textNode(t, "ext:101") // no label func: the member as written
	svg.textNode(t, "hangup")  // no no_answer: hang up
	// One row is shorter than the end box: the box still ends above the
	// axis labels.
	box := svg.all(byClass("pic-end"))[0]
	if bottom, axis := box.f(t, "y")+box.f(t, "height"), svg.textNode(t, "15").f(t, "y"); bottom > axis-12 {
		t.Errorf("end box ends at y %.1f, over the axis labels at %.1f", bottom, axis)
	}
	if got := svg.all(byClass("pic-bar-repeat")); len(got) != 0 {
		t.Errorf("%d repeat bars drawn for a group rung once", len(got))
	}
}

func TestTimelineSkippedMembers(t *testing.T) {
	plan := &flow.PlanResult{
		Group: "sales", At: time.Date(2026, 12, 7, 19, 30, 0, 0, time.UTC), End: flow.Offset(60 * time.Second),
		NoAnswer: "voicemail:100",
		Rings: []flow.PlanRing{
			{Round: 1, Stage: 1, Member: "ext:101", From: 0, Until: flow.Offset(20 * time.Second)},
			{Round: 1, Stage: 2, Member: "ext:102"}, // mobile rings, desk phone skipped
		},
		Skipped: []flow.PlanSkip{
			{Round: 1, Stage: 1, Member: "bob", Reason: "off hours"},
			{Round: 2, Stage: 2, Member: "+15550100", Reason: "on a call"},
			{Round: 1, Stage: 2, Member: "ext:102", Reason: "do not disturb"},
		},
	}
	svg := parseSVG(t, RingGroupTimeline(sales(), plan, label))
	bs := bars(t, svg)

	bob := barsOf(bs, "Bob Smith")
	if bob[0].class != "pic-skip" || !strings.Contains(bob[0].title, "skipped, off hours") {
		t.Errorf("Bob's first bar %+v: want hatched with reason off hours", bob[0])
	}
	for _, b := range bob[1:] {
		if b.class == "pic-skip" {
			t.Errorf("Bob's bar %q is marked skipped; only stage 1 of pass 1 is", b.title)
		}
	}
	ext := barsOf(bs, "+1 555 0100")
	if len(ext) != 2 || ext[0].class != "pic-bar" || ext[1].class != "pic-skip" ||
		!strings.Contains(ext[1].title, "on a call") {
		t.Errorf("outside number bars %+v: want the pass 2 bar skipped, on a call", ext)
	}
	sales := barsOf(bs, "102 Sales")
	if sales[0].class != "pic-bar" || !strings.Contains(sales[0].title, "partly skipped, do not disturb") {
		t.Errorf("102 Sales bar %+v: rings on another phone, want a normal bar saying partly skipped", sales[0])
	}
	// The reason is written under the member's name, and on the bar when
	// it fits there (20 s does, 10 s does not).
	rowSays := map[string]string{}
	for _, g := range svg.all(func(n *node) bool { return n.name == "g" && n.attr["class"] == "" }) {
		for _, x := range g.all(byClass("pic-skip-text")) {
			rowSays[g.title()] += x.text
		}
	}
	wantRows := map[string]string{"Bob Smith (bob)": "off hours", "+1 555 0100 (+15550100)": "on a call"}
	if fmt.Sprint(rowSays) != fmt.Sprint(wantRows) {
		t.Errorf("rows say %q, want %q", rowSays, wantRows)
	}
	var onBars []string
	for _, g := range svg.all(byClass("pic-win")) {
		for _, x := range g.all(byClass("pic-skip-text")) {
			onBars = append(onBars, x.text)
		}
	}
	if strings.Join(onBars, ",") != "off hours" {
		t.Errorf("reasons on bars %q, want only off hours (on a call does not fit 10 s)", onBars)
	}
	for _, g := range svg.all(byClass("pic-win")) {
		hatched := len(g.all(byClass("pic-hatch"))) > 0
		if skipped := len(g.all(byClass("pic-skip"))) > 0; hatched != skipped {
			t.Errorf("bar %q: hatched %v, skipped %v", g.title(), hatched, skipped)
		}
	}
	svg.textNode(t, "skipped now") // legend
	svg.textNode(t, "A call at Mon 7 Dec 19:30: rings for 60 s, then Voicemail 100")
	if l := svg.attr["aria-label"]; !strings.HasSuffix(l, "; 2 members skipped now") {
		t.Errorf("aria-label %q does not count the skipped members", l)
	}
}

func TestTimelineEscapesNames(t *testing.T) {
	evil := `<script>alert("x")</script>`
	g := site.RingGroup{ID: "g", Name: evil, NoAnswer: "external:+15550100",
		Stages: []site.Stage{{Ring: []string{"ext:101"}, For: site.Duration(10 * time.Second)}}}
	plan := &flow.PlanResult{Skipped: []flow.PlanSkip{{Round: 1, Stage: 1, Member: "ext:101", Reason: "<b>away</b>"}}}
	out := RingGroupTimeline(g, plan, func(string) string { return evil })
	if strings.Contains(string(out), "<script") || strings.Contains(string(out), "<b>") {
		t.Fatalf("markup from names came out unescaped:\n%s", out)
	}
	svg := parseSVG(t, out)
	// The installer still reads the name as written.
	if !strings.Contains(svg.attr["aria-label"], evil) {
		t.Errorf("aria-label %q lost the name", svg.attr["aria-label"])
	}
	if b := bars(t, svg); len(b) != 1 || !strings.Contains(b[0].title, "<b>away</b>") {
		t.Errorf("skipped bar %v: want the reason as written in its tooltip", b)
	}
}

func TestTimelineSizeCap(t *testing.T) {
	var many []string
	for i := range 500 {
		many = append(many, fmt.Sprintf("ext:%d", 1000+i))
	}
	g := site.RingGroup{ID: "all", Repeat: 50, Stages: []site.Stage{
		{Ring: many, For: site.Duration(10 * time.Second)},
		{Ring: many[:30], For: site.Duration(5 * time.Second)},
	}}
	out := RingGroupTimeline(g, nil, nil)
	if len(out) > 40_000 {
		t.Errorf("timeline of 500 members is %d bytes, want at most 40000", len(out))
	}
	svg := parseSVG(t, out)
	svg.textNode(t, "+480 more")
	svg.textNode(t, "ext:1019")
	for _, x := range svg.texts() {
		if x == "ext:1020" {
			t.Errorf("member 21 drawn; rows should stop at 20")
		}
	}
	svg.textNode(t, "Rings through the stages 50 times; 46 more passes of 15 s not drawn")
	// 4 passes of 20 + 20 windows.
	if n := len(bars(t, svg)); n != 160 {
		t.Errorf("%d bars, want 160 (20 rows, 2 stages, 4 passes)", n)
	}
}

func TestTimelineBarCap(t *testing.T) {
	// 20 members in 40 stages of 1 s: 800 windows per pass.
	var st []site.Stage
	for range 40 {
		var m []string
		for i := range 20 {
			m = append(m, fmt.Sprint("ext:", 100+i))
		}
		st = append(st, site.Stage{Ring: m, For: site.Duration(time.Second)})
	}
	svg := parseSVG(t, RingGroupTimeline(site.RingGroup{ID: "g", Stages: st}, nil, nil))
	if n := len(bars(t, svg)); n != maxBars {
		t.Errorf("%d bars, want the cap %d", n, maxBars)
	}
	svg.textNode(t, "+400 more ring windows not drawn")
}

func TestTickStep(t *testing.T) {
	tests := []struct {
		total, want time.Duration
	}{
		{20 * time.Second, 5 * time.Second},
		{60 * time.Second, 5 * time.Second},
		{90 * time.Second, 10 * time.Second},
		{120 * time.Second, 10 * time.Second},
		{4 * time.Minute, 30 * time.Second},
		{6 * time.Minute, 30 * time.Second},
		{10 * time.Minute, time.Minute},
		{24 * time.Hour, 24*time.Hour/12 + time.Second},
	}
	for _, tt := range tests {
		if got := tickStep(tt.total); got != tt.want {
			t.Errorf("tickStep(%v) = %v, want %v", tt.total, got, tt.want)
		}
	}
}

func TestTimelineEmptyGroup(t *testing.T) {
	plan := &flow.PlanResult{At: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), NoAnswer: "hangup"}
	svg := parseSVG(t, RingGroupTimeline(site.RingGroup{ID: "empty"}, plan, label))
	if n := len(bars(t, svg)); n != 0 {
		t.Errorf("%d bars for a group with no stages", n)
	}
	svg.textNode(t, "A call at Mon 7 Dec 09:00: nobody rings, then Hang up")
	if got := strings.Join(svg.all(byClass("pic-then"))[0].texts(), " "); got != "then → Hang up" {
		t.Errorf("end box reads %q", got)
	}
}
