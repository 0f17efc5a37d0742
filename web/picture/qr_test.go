package picture

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

var run = regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// modules decodes a QR picture back to its bitmap of dark modules.
func modules(t *testing.T, svg *node) [][]bool {
	t.Helper()
	vb := strings.Fields(svg.attr["viewBox"])
	if len(vb) != 4 || vb[2] != vb[3] {
		t.Fatalf("viewBox %q is not square", svg.attr["viewBox"])
	}
	n, _ := strconv.Atoi(vb[2])
	paths := svg.all(func(x *node) bool { return x.name == "path" })
	if len(paths) != 1 {
		t.Fatalf("%d paths, want one for all dark modules", len(paths))
	}
	bm := make([][]bool, n)
	for i := range bm {
		bm[i] = make([]bool, n)
	}
	d := paths[0].attr["d"]
	for d != "" {
		m := run.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("path does not read as runs of modules at %.40q", d)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		if back, _ := strconv.Atoi(m[4]); back != w || x+w > n || y >= n {
			t.Fatalf("run %q is not a 1-module-high rectangle inside the code", m[0])
		}
		for i := x; i < x+w; i++ {
			if bm[y][i] {
				t.Fatalf("module %d,%d drawn twice", i, y)
			}
			bm[y][i] = true
		}
		d = d[len(m[0]):]
	}
	return bm
}

func TestQRMatchesBitmap(t *testing.T) {
	for _, text := range []string{
		"sip:101@192.168.1.10:5060",
		"sip:reception@pbx.example.com:5061;transport=tcp",
		strings.Repeat("sip:long-user-name@pbx.example.com:5060 ", 20), // a large version
	} {
		out, err := QR(text)
		if err != nil {
			t.Fatalf("QR(%q): %v", text, err)
		}
		svg := parseSVG(t, out)
		if svg.attr["shape-rendering"] != "crispEdges" {
			t.Errorf("shape-rendering %q, want crispEdges", svg.attr["shape-rendering"])
		}
		got := modules(t, svg)

		q, err := qrcode.New(text, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		want := q.Bitmap()
		if len(got) != len(want) {
			t.Fatalf("%q: %d modules across, want %d", text, len(got), len(want))
		}
		// Version v has 17+4v modules, plus the quiet zone on both sides.
		if len(got) != 17+4*q.VersionNumber+8 {
			t.Errorf("%q: %d modules across for version %d, want 4 quiet modules each side", text, len(got), q.VersionNumber)
		}
		for y := range want {
			for x := range want[y] {
				if got[y][x] != want[y][x] {
					t.Fatalf("%q: module %d,%d is %v, want %v", text, x, y, got[y][x], want[y][x])
				}
				quiet := x < 4 || y < 4 || x >= len(got)-4 || y >= len(got)-4
				if quiet && got[y][x] {
					t.Fatalf("%q: module %d,%d in the quiet zone is dark", text, x, y)
				}
			}
		}
		// Three finder patterns: a dark 7-module corner just inside the
		// quiet zone, so a decoder finds the code.
		for _, c := range [][2]int{{4, 4}, {len(got) - 5, 4}, {4, len(got) - 5}} {
			if !got[c[1]][c[0]] {
				t.Errorf("%q: no finder pattern corner at %v", text, c)
			}
		}
	}
}

func TestQRDescription(t *testing.T) {
	tests := []struct{ text, want string }{
		{"sip:101@pbx.example:5060", "QR code of sip:101@pbx.example:5060"},
		{"sip:101:s3cret@pbx.example:5060", "QR code of sip:101:…@pbx.example:5060"},
		{"sips://bob:pw@host", "QR code of sips://bob:…@host"},
		{"plain text", "QR code of plain text"},
	}
	for _, tt := range tests {
		out, err := QR(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		svg := parseSVG(t, out)
		if got := svg.attr["aria-label"]; got != tt.want {
			t.Errorf("QR(%q) described as %q, want %q", tt.text, got, tt.want)
		}
		if strings.Contains(string(out), "s3cret") {
			t.Errorf("QR(%q) shows the password in its text", tt.text)
		}
	}
}

func TestQREscapesAndFails(t *testing.T) {
	out, err := QR(`sip:<script>alert(1)</script>@pbx`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "<script") {
		t.Errorf("text came out unescaped: %s", out)
	}
	parseSVG(t, out)
	if _, err := QR(strings.Repeat("x", 4000)); err == nil {
		t.Errorf("QR of 4000 bytes succeeded; it cannot fit a QR code")
	}
}
