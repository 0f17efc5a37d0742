package changeset

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "%d\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "x\ny\n", "x\ny\n", ""},
		{"both empty", "", "", ""},
		{"one line changed", lines(1, 9), strings.Replace(lines(1, 9), "5\n", "five\n", 1),
			"@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{"from empty", "", "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to empty", "a\n", "", "@@ -1 +0,0 @@\n-a\n"},
		{"added at the end", lines(1, 5), lines(1, 6), "@@ -3,3 +3,4 @@\n 3\n 4\n 5\n+6\n"},
		{"added at the top", lines(2, 5), lines(1, 5), "@@ -1,3 +1,4 @@\n+1\n 2\n 3\n 4\n"},
		{"no newline at end", "a\nb", "a\nc",
			"@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"},
		{"newline added at end", "a\nb", "a\nb\n",
			"@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		{"changes 6 apart share a hunk", lines(1, 12), "1\nB\n" + lines(3, 8) + "I\n" + lines(10, 12),
			"@@ -1,12 +1,12 @@\n 1\n-2\n+B\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+I\n 10\n 11\n 12\n"},
		{"changes 7 apart get two hunks", lines(1, 13), "1\nB\n" + lines(3, 9) + "J\n" + lines(11, 13),
			"@@ -1,5 +1,5 @@\n 1\n-2\n+B\n 3\n 4\n 5\n@@ -7,7 +7,7 @@\n 7\n 8\n 9\n-10\n+J\n 11\n 12\n 13\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UnifiedDiff("old.yaml", "new.yaml", []byte(tt.a), []byte(tt.b))
			want := tt.want
			if want != "" {
				want = "--- old.yaml\n+++ new.yaml\n" + want
			}
			if got != want {
				t.Errorf("UnifiedDiff =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestUnifiedDiffMatchesDiff compares with the system's diff -u on random
// edits of files with distinct lines, where the shortest diff is unique, so
// the output must be the same byte for byte (but for the header's dates).
func TestUnifiedDiffMatchesDiff(t *testing.T) {
	diff := lookDiff(t)
	r := rand.New(rand.NewPCG(1, 2))
	fresh := 0
	for n := range 60 {
		var a, b []string
		for i := range r.IntN(40) {
			line := "line " + strconv.Itoa(i) + "\n"
			a = append(a, line)
			switch r.IntN(8) {
			case 0: // removed
			case 1: // replaced
				fresh++
				b = append(b, "new "+strconv.Itoa(fresh)+"\n")
			case 2: // inserted before
				fresh++
				b = append(b, "new "+strconv.Itoa(fresh)+"\n", line)
			default:
				b = append(b, line)
			}
		}
		as, bs := []byte(strings.Join(a, "")), []byte(strings.Join(b, ""))
		if n%5 == 0 && len(bs) > 0 {
			bs = bs[:len(bs)-1] // no newline at the end
		}
		want := body(runDiff(t, diff, "-u", as, bs))
		if got := body(UnifiedDiff("a", "b", as, bs)); got != want {
			t.Fatalf("case %d: UnifiedDiff of\n%s\nand\n%s\n=\n%s\ndiff -u says\n%s", n, as, bs, got, want)
		}
	}
}

// TestUnifiedDiffMinimal checks, on files of few distinct lines (many ways
// to align them), that the diff removes and adds as few lines as diff
// --minimal does, and that it turns a into b.
func TestUnifiedDiffMinimal(t *testing.T) {
	diff := lookDiff(t)
	r := rand.New(rand.NewPCG(3, 4))
	gen := func() []byte {
		var b bytes.Buffer
		for range r.IntN(60) {
			b.WriteString(string(rune('a'+r.IntN(4))) + "\n")
		}
		return b.Bytes()
	}
	for n := range 60 {
		a, b := gen(), gen()
		got := UnifiedDiff("a", "b", a, b)
		if p, err := applyPatch(a, got); err != nil || !bytes.Equal(p, b) {
			t.Fatalf("case %d: patch %q of %q gives %q, %v; want %q", n, got, a, p, err, b)
		}
		if g, w := edits(got), edits(runDiff(t, diff, "-u --minimal", a, b)); g != w {
			t.Errorf("case %d: %d lines removed or added, diff --minimal needs %d:\n%s", n, g, w, got)
		}
	}
}

func lookDiff(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("diff")
	if err != nil {
		t.Skip("no diff on this system")
	}
	return p
}

func runDiff(t *testing.T, diff, flags string, a, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(pa, a, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(diff, append(strings.Fields(flags), pa, pb)...).Output()
	if ee := (*exec.ExitError)(nil); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("diff: %v", err)
	}
	return string(out)
}

// body drops the --- and +++ lines.
func body(d string) string {
	for range 2 {
		if strings.HasPrefix(d, "--- ") || strings.HasPrefix(d, "+++ ") {
			_, d, _ = strings.Cut(d, "\n")
		}
	}
	return d
}

// edits counts the lines a unified diff removes or adds.
func edits(d string) int {
	n := 0
	for _, l := range strings.Split(body(d), "\n") {
		if strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+") {
			n++
		}
	}
	return n
}

// applyPatch applies a unified diff to a, checking every context and
// removed line and every hunk's line counts.
func applyPatch(a []byte, patch string) ([]byte, error) {
	src := splitLines(a)
	if patch == "" {
		return a, nil
	}
	lines := strings.SplitAfter(patch, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return nil, errors.New("no header")
	}
	if lines[len(lines)-1] != "" {
		return nil, errors.New("last line has no newline")
	}
	lines = lines[2 : len(lines)-1]
	var out bytes.Buffer
	pos := 0
	for len(lines) > 0 {
		var os, oc, ns, nc int
		h := lines[0]
		if _, err := fmt.Sscanf(fullRange(h), "@@ -%d,%d +%d,%d @@\n", &os, &oc, &ns, &nc); err != nil {
			return nil, fmt.Errorf("bad hunk header %q: %v", h, err)
		}
		start := os - 1
		if oc == 0 {
			start = os
		}
		if start < pos || start > len(src) {
			return nil, fmt.Errorf("hunk %q out of order", h)
		}
		for _, l := range src[pos:start] {
			out.WriteString(l)
		}
		pos = start
		lines = lines[1:]
		for len(lines) > 0 && !strings.HasPrefix(lines[0], "@@") {
			op, text := lines[0][0], lines[0][1:]
			lines = lines[1:]
			if len(lines) > 0 && lines[0] == "\\ No newline at end of file\n" {
				text = strings.TrimSuffix(text, "\n")
				lines = lines[1:]
			}
			switch op {
			case ' ', '-':
				if pos >= len(src) || src[pos] != text {
					return nil, fmt.Errorf("hunk %q: line %d is not %q", h, pos+1, text)
				}
				pos++
				oc--
				if op == ' ' {
					out.WriteString(text)
					nc--
				}
			case '+':
				out.WriteString(text)
				nc--
			default:
				return nil, fmt.Errorf("bad line %q", op)
			}
		}
		if oc != 0 || nc != 0 {
			return nil, fmt.Errorf("hunk %q: counts off by %d, %d", h, oc, nc)
		}
	}
	for _, l := range src[pos:] {
		out.WriteString(l)
	}
	return out.Bytes(), nil
}

// fullRange rewrites "-5" in a hunk header as "-5,1".
func fullRange(h string) string {
	f := strings.Fields(h)
	for i := 1; i <= 2 && i < len(f); i++ {
		if !strings.Contains(f[i], ",") {
			f[i] += ",1"
		}
	}
	return strings.Join(f, " ") + "\n"
}

func FuzzUnifiedDiff(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nc\nd"))
	f.Add([]byte(""), []byte("x\n"))
	f.Add([]byte("x"), []byte("x\n"))
	f.Add([]byte("version: 1\nsystem:\n  name: Acme\n"), []byte("version: 1\nsystem:\n  name: Acme Ltd\n  timezone: UTC\n"))
	f.Add([]byte("a\na\nb\na\n\n\n"), []byte("b\na\n\na\na\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		d := UnifiedDiff("a", "b", a, b)
		if bytes.Equal(a, b) != (d == "") {
			t.Fatalf("equal %v, diff %q", bytes.Equal(a, b), d)
		}
		got, err := applyPatch(a, d)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("patch %q of %q = %q, %v; want %q", d, a, got, err, b)
		}
	})
}

// bigSiteFiles returns two site-like files of about n lines. With shuffle,
// b holds the same lines as a (one kind of line repeated a lot, as in site
// files) in a different order, which makes the shortest diff costly to find;
// without, b is a with a few hundred scattered edits.
func bigSiteFiles(n int, shuffle bool) (a, b []byte) {
	r := rand.New(rand.NewPCG(5, 6))
	var la []string
	for i := 0; len(la) < n; i++ {
		la = append(la, "  - number: \""+strconv.Itoa(1000+i)+"\"\n", "    name: Person "+strconv.Itoa(i%50)+"\n",
			"    voicemail: true\n", "    permission: national\n")
	}
	lb := append([]string(nil), la...)
	if shuffle {
		r.Shuffle(len(lb), func(i, j int) { lb[i], lb[j] = lb[j], lb[i] })
	} else {
		for range 300 {
			lb[r.IntN(len(lb))] = "    name: Edited " + strconv.Itoa(r.IntN(1000)) + "\n"
		}
	}
	return []byte(strings.Join(la, "")), []byte(strings.Join(lb, ""))
}

// TestUnifiedDiffCostly checks the diff of two large, thoroughly reordered
// files, where the search gives up on the shortest diff, still turns a
// into b.
func TestUnifiedDiffCostly(t *testing.T) {
	a, b := bigSiteFiles(10000, true)
	d := UnifiedDiff("a", "b", a, b)
	if p, err := applyPatch(a, d); err != nil || !bytes.Equal(p, b) {
		t.Fatalf("patch does not give b: %v", err)
	}
}

// BenchmarkUnifiedDiff measures diffs of two 10,000-line site files: a few
// hundred scattered edits, and the same lines thoroughly reordered.
func BenchmarkUnifiedDiff(b *testing.B) {
	for _, shuffle := range []bool{false, true} {
		x, y := bigSiteFiles(10000, shuffle)
		b.Run("shuffle="+strconv.FormatBool(shuffle), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				UnifiedDiff("a", "b", x, y)
			}
		})
	}
}
