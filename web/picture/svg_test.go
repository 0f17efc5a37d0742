package picture

import (
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// node is one parsed SVG element.
type node struct {
	name     string
	attr     map[string]string
	text     string // character data directly inside
	children []*node
	parent   *node
}

// parseSVG parses a picture with encoding/xml, failing the test when it is
// not well-formed or not an accessible, scalable SVG.
func parseSVG(t *testing.T, h template.HTML) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(h)))
	d.Strict = true
	root := &node{name: "#doc"}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, h)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attr: map[string]string{}, parent: cur}
			for _, a := range tok.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			cur.children = append(cur.children, n)
			cur = n
		case xml.EndElement:
			cur = cur.parent
		case xml.CharData:
			cur.text += string(tok)
		}
	}
	if len(root.children) != 1 || root.children[0].name != "svg" {
		t.Fatalf("want one <svg> element, got %d elements", len(root.children))
	}
	svg := root.children[0]
	if svg.attr["role"] != "img" || svg.attr["aria-label"] == "" || svg.attr["width"] != "100%" ||
		!strings.HasPrefix(svg.attr["viewBox"], "0 0 ") {
		t.Errorf("svg attributes %v: want role=img, an aria-label, width 100%% and a viewBox", svg.attr)
	}
	if len(svg.children) == 0 || svg.children[0].name != "title" || svg.children[0].text != svg.attr["aria-label"] {
		t.Errorf("svg must start with a <title> equal to its aria-label %q", svg.attr["aria-label"])
	}
	return svg
}

// all lists n and its descendants that match.
func (n *node) all(match func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(n *node) {
		if match(n) {
			out = append(out, n)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return out
}

func (n *node) hasClass(c string) bool {
	return n.attr != nil && strings.Contains(" "+n.attr["class"]+" ", " "+c+" ")
}

func byClass(c string) func(*node) bool { return func(n *node) bool { return n.hasClass(c) } }

func isText(n *node) bool { return n.name == "text" }

// texts lists the visible texts of n, in document order.
func (n *node) texts() []string {
	var out []string
	for _, t := range n.all(isText) {
		out = append(out, t.text)
	}
	return out
}

// textNode finds the <text> reading s.
func (n *node) textNode(t *testing.T, s string) *node {
	t.Helper()
	for _, x := range n.all(isText) {
		if x.text == s {
			return x
		}
	}
	t.Fatalf("no text %q in picture; texts: %q", s, n.texts())
	return nil
}

// title is the <title> child of n, or "".
func (n *node) title() string {
	for _, c := range n.children {
		if c.name == "title" {
			return c.text
		}
	}
	return ""
}

func (n *node) f(t *testing.T, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr[attr], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.name, attr, n.attr[attr], err)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.11 }

// TestColoursContrast checks the colours on the pictures' background:
// text at least 4.5:1, bars and marks at least 3:1 (WCAG 2.1 1.4.3 and
// 1.4.11).
func TestColoursContrast(t *testing.T) {
	tests := []struct {
		name   string
		fg, bg string
		min    float64
	}{
		{"text", colInk, colBg, 4.5},
		{"muted text", colMuted, colBg, 4.5},
		{"skipped reason", colInk, colSkipBg, 4.5},
		{"holiday text", colHoliday, colHolBg, 4.5},
		{"today text", colAccent, colBg, 4.5},
		{"key on key", colBg, colAccent, 4.5},
		{"ringing bar", colBar, colBg, 3},
		{"skipped outline", colSkip, colBg, 3},
		{"holiday hatching", colHoliday, colHolBg, 3},
		{"repeat bar", colRepeat, colBg, 3},
		{"open hours", colOpen, colBg, 3},
		{"end box text", colInk, colEndBg, 4.5},
	}
	for _, tt := range tests {
		if got := contrast(tt.fg, tt.bg); got < tt.min {
			t.Errorf("%s: %s on %s has contrast %.2f, want at least %.1f", tt.name, tt.fg, tt.bg, got, tt.min)
		}
	}
	// The repeat bar must still look lighter than the first pass.
	if luminance(colRepeat) <= luminance(colBar) {
		t.Errorf("repeat bar %s is not lighter than %s", colRepeat, colBar)
	}
	for _, c := range []string{colBar, colRepeat, colOpen, colSkip, colHoliday, colBg, colInk} {
		if !strings.Contains(CSS, c) {
			t.Errorf("CSS does not use colour %s", c)
		}
	}
}

func luminance(hex string) float64 {
	v, _ := strconv.ParseUint(hex[1:], 16, 32)
	ch := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(v>>16&255) + 0.7152*ch(v>>8&255) + 0.0722*ch(v&255)
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestCSSClassesDefined checks every class the pictures use is styled.
func TestCSSClassesDefined(t *testing.T) {
	used := map[string]bool{}
	re := regexp.MustCompile(`class="([^"]*)"`)
	for _, h := range samplePictures(t) {
		for _, m := range re.FindAllStringSubmatch(string(h), -1) {
			for c := range strings.FieldsSeq(m[1]) {
				used[c] = true
			}
		}
	}
	// Classes that only mark a group for tooltips and tests.
	unstyled := map[string]bool{"pic-timeline": true, "pic-week": true, "pic-ivr": true, "pic-win": true,
		"pic-then": true, "pic-day": true, "pic-branch": true}
	for c := range used {
		if !strings.HasPrefix(c, "pic") {
			t.Errorf("class %q is not prefixed pic-", c)
		}
		if !unstyled[c] && !strings.Contains(CSS, "."+c+"{") && !strings.Contains(CSS, "."+c+" ") {
			t.Errorf("class %q is used but CSS does not style it", c)
		}
	}
}

func TestEscapeAndClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<script>alert("x")</script>`, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`},
		{"a\x00b\x1bc", "a\uFFFDb\uFFFDc"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"tab\there", "tab here"},
	}
	for _, tt := range tests {
		if got := esc(tt.in); got != tt.want {
			t.Errorf("esc(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := short("Reception desk", 9); got != "Receptio…" {
		t.Errorf(`short("Reception desk", 9) = %q`, got)
	}
	if got := short("Ünïcode names", 4); got != "Ünï…" {
		t.Errorf(`short("Ünïcode names", 4) = %q, want "Ünï…"`, got)
	}
}
