// Package picture draws the console's pictures: a ring group's timeline, a
// schedule's week, an IVR's menu tree and QR codes, as inline SVG.
//
// Every function is pure: site model in, [template.HTML] out, no HTTP and
// no JavaScript, so a page stays readable with scripts off and the same
// model always draws the same picture. Each SVG has role="img", a <title>
// and an aria-label saying in words what it shows, width 100% and a
// viewBox, so it scales down to a phone's screen. Colours come from CSS
// classes prefixed pic-; the page's stylesheet must include [CSS].
//
// # Size
//
// Names and destinations come from installers and may be long or many:
// every text is escaped and shortened (the full text is kept in a
// <title> tooltip), and rows, bars and branches are capped, the rest
// summed up as "+N more", so a site with hundreds of members still gives
// a page of a few tens of kilobytes.
package picture

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pictures are 560 units wide and shown at most 35rem (560 px) wide: 14px
// text on a desktop, about 9px on a 375 px phone, still readable.

// Colours of the pictures. They are drawn on their own light background
// (also on a dark page) and picked for contrast on it: text at least
// 4.5:1, bars and lines at least 3:1 (WCAG 2.1, checked by the tests).
const (
	colBg      = "#ffffff"
	colInk     = "#1d2430" // text
	colMuted   = "#545e6e" // secondary text
	colGrid    = "#d8dce3" // hour and tick lines; decoration only
	colAxis    = "#8a93a1"
	colBar     = "#0b5cad" // a member ringing, first pass
	colRepeat  = "#5b87c0" // the same, on a repeat pass
	colSkipBg  = "#eceef2"
	colSkip    = "#5f6878" // outline and hatching of a skipped member
	colOpen    = "#2e7d4f" // open hours
	colHoliday = "#a3241c" // hatching and text of a holiday
	colHolBg   = "#fbeceb"
	colAccent  = "#0b5cad" // today, keys
	colEndBg   = "#f1f3f6"
)

// CSS styles the pictures; the console adds it to its stylesheet once.
const CSS = `.pic{display:block;width:100%;height:auto;max-width:35rem;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.pic text{fill:` + colInk + `;font-size:14px}
.pic .pic-muted{fill:` + colMuted + `;font-size:12px}
.pic-bg{fill:` + colBg + `}
.pic-grid{stroke:` + colGrid + `;stroke-width:1}
.pic-axis{stroke:` + colAxis + `;stroke-width:1}
.pic-stage{stroke:` + colAxis + `;stroke-width:1;stroke-dasharray:3 3}
.pic-bar{fill:` + colBar + `;stroke:` + colBg + `;stroke-width:1}
.pic-bar-repeat{fill:` + colRepeat + `;stroke:` + colBg + `;stroke-width:1}
.pic-skip{fill:` + colSkipBg + `;stroke:` + colSkip + `;stroke-width:1}
.pic-hatch{stroke:` + colSkip + `;stroke-width:1;opacity:.6}
.pic .pic-skip-text{fill:` + colInk + `;font-size:12px;paint-order:stroke;stroke:` + colSkipBg + `;stroke-width:4px;stroke-linejoin:round}
.pic-box{fill:` + colBg + `;stroke:` + colMuted + `;stroke-width:1.5}
.pic-end{fill:` + colEndBg + `;stroke:` + colInk + `;stroke-width:1.5}
.pic .pic-strong{font-weight:700}
.pic-open{fill:` + colOpen + `}
.pic-holiday{fill:` + colHolBg + `}
.pic-holiday-hatch{stroke:` + colHoliday + `;stroke-width:1.5;opacity:.5}
.pic .pic-holiday-text{fill:` + colHoliday + `;font-weight:700;paint-order:stroke;stroke:` + colHolBg + `;stroke-width:4px}
.pic-today{fill:none;stroke:` + colAccent + `;stroke-width:3}
.pic .pic-today-text{fill:` + colAccent + `;font-weight:700}
.pic-now{stroke:` + colAccent + `;stroke-width:2}
.pic-link{fill:none;stroke:` + colMuted + `;stroke-width:1.5}
.pic-key{fill:` + colAccent + `}
.pic .pic-key-text{fill:` + colBg + `;font-weight:700}
.pic-qr{max-width:16rem}
.pic-qr-bg{fill:#fff}
.pic-qr-dark{fill:#000}
`

// canvas builds one SVG document. Its methods escape every text they are
// given; only numbers and class names go in unescaped.
type canvas struct {
	b strings.Builder
}

// open starts an <svg> of w×h user units with class cls, described by
// desc for screen readers and as its tooltip.
func (c *canvas) open(w, h float64, cls, desc string) {
	d := esc(desc)
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" class="%s" role="img" aria-label="%s" width="100%%" viewBox="0 0 %s %s"><title>%s</title>`,
		cls, d, num(w), num(h), d)
}

// close ends the document and returns it.
func (c *canvas) close() template.HTML {
	c.b.WriteString(`</svg>`)
	// The builder escaped every text it was given (see esc).
	return template.HTML(c.b.String())
}

func (c *canvas) rect(x, y, w, h float64, cls string) {
	fmt.Fprintf(&c.b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"/>`, cls, num(x), num(y), num(w), num(h))
}

func (c *canvas) line(x1, y1, x2, y2 float64, cls string) {
	fmt.Fprintf(&c.b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, cls, num(x1), num(y1), num(x2), num(y2))
}

// text writes s at (x, y); anchor is start, middle or end.
func (c *canvas) text(x, y float64, anchor, cls, s string) {
	cl := ""
	if cls != "" {
		cl = ` class="` + cls + `"`
	}
	an := ""
	if anchor != "" && anchor != "start" {
		an = ` text-anchor="` + anchor + `"`
	}
	fmt.Fprintf(&c.b, `<text x="%s" y="%s"%s%s>%s</text>`, num(x), num(y), an, cl, esc(s))
}

// group opens a <g> whose tooltip is title; end it with endGroup.
func (c *canvas) group(cls, title string) {
	cl := ""
	if cls != "" {
		cl = ` class="` + cls + `"`
	}
	fmt.Fprintf(&c.b, `<g%s><title>%s</title>`, cl, esc(title))
}

func (c *canvas) endGroup() { c.b.WriteString(`</g>`) }

// hatch draws diagonal lines across the rectangle, as one path: a
// pattern would need an id, and ids clash when a page holds several
// pictures (a pattern in a hidden one then paints nothing).
func (c *canvas) hatch(x, y, w, h float64, cls string) {
	if w <= 0 || h <= 0 {
		return
	}
	const gap = 6
	var p strings.Builder
	// Lines x' - x = (y+h - y') + k: from the bottom edge up to the right,
	// clipped to the rectangle.
	for k := -h + gap/2; k < w; k += gap {
		x1, y1 := x+k, y+h
		x2, y2 := x+k+h, y
		if x1 < x {
			y1 -= x - x1
			x1 = x
		}
		if x2 > x+w {
			y2 += x2 - (x + w)
			x2 = x + w
		}
		fmt.Fprintf(&p, "M%s %sL%s %s", num(x1), num(y1), num(x2), num(y2))
	}
	fmt.Fprintf(&c.b, `<path class="%s" d="%s"/>`, cls, p.String())
}

// num writes a coordinate with at most one decimal: enough on a
// 560-unit canvas, and short.
func num(v float64) string {
	return strconv.FormatFloat(float64(int64(v*10+sign(v)*0.5))/10, 'f', -1, 64)
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// esc makes s safe as SVG text or attribute: escaped for HTML and XML,
// with invalid UTF-8 and control characters (which XML forbids) replaced.
func esc(s string) string {
	return html.EscapeString(clean(s))
}

func clean(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if unicode.IsControl(r) || r == '\uFFFE' || r == '\uFFFF' {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r) || r == '\uFFFE' || r == '\uFFFF':
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// short cuts s to at most n characters, ending in "…" when cut, so that
// it fits the room a picture has for it.
func short(s string, n int) string {
	if n < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// fits is how many characters of 14px text fit in w units; a rough mean
// width, as the server knows no font metrics.
func fits(w float64) int { return int(w / 7.8) }

// fitsSmall is fits for 12px text.
func fitsSmall(w float64) int { return int(w / 6.7) }

// wrap breaks s into at most lines lines of at most n characters, at
// spaces where it can; the last line is shortened when s does not fit.
func wrap(s string, n, lines int) []string {
	var out []string
	rest := []rune(s)
	for len(rest) > 0 && len(out) < lines-1 && len(rest) > n {
		cut := n
		for i := n; i > n/2; i-- {
			if rest[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimSpace(string(rest[:cut])))
		rest = []rune(strings.TrimSpace(string(rest[cut:])))
	}
	if len(rest) > 0 || len(out) == 0 {
		out = append(out, short(string(rest), n))
	}
	return out
}

func orIdentity(label func(string) string) func(string) string {
	if label == nil {
		return func(s string) string { return s }
	}
	return label
}

// plural writes "1 member", "3 members".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + one + "s"
}
