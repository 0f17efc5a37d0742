package picture

import (
	"fmt"
	"strings"
	"testing"

	"ringbox/firmware/site"
)

// branches reads the branches of an IVR tree: what each row's key (or
// lead text) and destination box say, top to bottom.
func branches(t *testing.T, svg *node) [][2]string {
	t.Helper()
	var out [][2]string
	lastY := -1.0
	for _, g := range svg.all(byClass("pic-branch")) {
		tx := g.texts()
		if len(tx) == 0 || len(tx) > 2 {
			t.Fatalf("branch %q has texts %q", g.title(), tx)
		}
		row := [2]string{tx[0]}
		if len(tx) == 2 {
			row[1] = tx[1]
		}
		out = append(out, row)
		y := g.all(isText)[0].f(t, "y")
		if y <= lastY {
			t.Errorf("branch %q at y %.1f is not below the one before (%.1f)", g.title(), y, lastY)
		}
		lastY = y
	}
	return out
}

func TestIVRTreeKeypadOrder(t *testing.T) {
	ivr := site.IVR{ID: "main", Name: "Main menu", Greeting: "welcome", Options: map[string]string{
		"#": "hangup", "0": "extension:100", "2": "queue:support", "1": "ringgroup:sales",
		"*": "voicemail:100", "9": "ivr:main",
	}, OnTimeout: "queue:support"}
	svg := parseSVG(t, IVRTree(ivr, label))
	got := branches(t, svg)
	want := [][2]string{
		{"1", "ringgroup:sales"}, {"2", "Support queue"}, {"9", "Main menu"}, {"0", "extension:100"},
		{"*", "Voicemail 100"}, {"#", "Hang up"},
		{"no key →", "Support queue"}, {"wrong key →", "Hang up"}, // on_invalid defaults to hang up
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("branches\n got %q\nwant %q", got, want)
	}
	// Every branch links the menu box to its row.
	for _, g := range svg.all(byClass("pic-branch")) {
		if len(g.all(byClass("pic-link"))) != 1 {
			t.Errorf("branch %q has no link to the menu", g.title())
		}
	}
	svg.textNode(t, "Main menu")
	svg.textNode(t, "greeting: welcome")
	if l := svg.attr["aria-label"]; !strings.HasPrefix(l, "Menu Main menu (greeting: welcome): Key 1: ringgroup:sales; Key 2: Support queue;") ||
		!strings.HasSuffix(l, "No key pressed: Support queue; Wrong key: Hang up") {
		t.Errorf("aria-label %q", l)
	}
}

func TestIVRTreeDefaults(t *testing.T) {
	svg := parseSVG(t, IVRTree(site.IVR{ID: "night", DirectDial: true}, nil))
	want := [][2]string{{"no key →", "hangup"}, {"wrong key →", "hangup"}}
	if got := branches(t, svg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("branches %q, want %q", got, want)
	}
	svg.textNode(t, "night")
	svg.textNode(t, "no greeting")
	svg.textNode(t, "Callers may also dial an extension number.")
}

func TestIVRTreeEscapesAndCaps(t *testing.T) {
	evil := `<script>alert("x")</script>`
	ivr := site.IVR{ID: "m", Name: evil, Greeting: evil, Options: map[string]string{}}
	for i := range 300 {
		ivr.Options[fmt.Sprint(i)] = "external:+1555" + fmt.Sprint(i)
	}
	out := IVRTree(ivr, func(d string) string { return evil + d })
	if strings.Contains(string(out), "<script") {
		t.Fatalf("markup from names came out unescaped")
	}
	if len(out) > 15_000 {
		t.Errorf("tree of 300 options is %d bytes, want at most 15000", len(out))
	}
	svg := parseSVG(t, out)
	got := branches(t, svg)
	if len(got) != ivMaxKeys+3 {
		t.Fatalf("%d branches, want %d options, +more, no key, wrong key", len(got), ivMaxKeys)
	}
	// The ten phone keys come first, then other keys as text.
	if got[0][0] != "1" || got[9][0] != "0" || got[ivMaxKeys][0] != "+288 more" {
		t.Errorf("branches %q", got)
	}
	if !strings.HasPrefix(got[0][1], `<script>alert("x")`) {
		t.Errorf("destination reads %q, want the label as written", got[0][1])
	}
}
