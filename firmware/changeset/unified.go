package changeset

import (
	"bytes"
	"strconv"
	"strings"
)

// contextLines is how many unchanged lines surround a change, as in diff -u.
const contextLines = 3

// UnifiedDiff returns the differences between a and b, two site files
// named oldName and newName, in the unified format of diff -u: a "---" and
// a "+++" line (with the names alone, no dates), then @@ hunks with three
// lines of context. A last line without a newline is followed by
// "\ No newline at end of file". Equal inputs give "".
//
// The diff is minimal (the fewest lines removed and added) unless the files
// differ so much that finding the minimum would take long; then it is still
// a correct diff, only longer than needed.
func UnifiedDiff(oldName, newName string, a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	del, ins := editScript(al, bl)

	// Change blocks: runs of removed and added lines between equal lines.
	type block struct{ a0, a1, b0, b1 int }
	var blocks []block
	for i, j := 0, 0; i < len(al) || j < len(bl); {
		if i < len(al) && j < len(bl) && !del[i] && !ins[j] {
			i, j = i+1, j+1
			continue
		}
		k := block{a0: i, b0: j}
		for i < len(al) && del[i] {
			i++
		}
		for j < len(bl) && ins[j] {
			j++
		}
		k.a1, k.b1 = i, j
		if k.a0 == k.a1 && k.b0 == k.b1 {
			break // cannot happen with a consistent edit script; never loop
		}
		blocks = append(blocks, k)
	}

	var w strings.Builder
	w.WriteString("--- " + oldName + "\n+++ " + newName + "\n")
	for len(blocks) > 0 {
		// A hunk takes blocks while the gap between them is no more than
		// both contexts, as diff -u joins them.
		n := 1
		for n < len(blocks) && blocks[n].a0-blocks[n-1].a1 <= 2*contextLines {
			n++
		}
		first, last := blocks[0], blocks[n-1]
		as := max(0, first.a0-contextLines)
		ae := min(len(al), last.a1+contextLines)
		bs := first.b0 - (first.a0 - as)
		be := last.b1 + (ae - last.a1)
		w.WriteString("@@ -" + hunkRange(as, ae-as) + " +" + hunkRange(bs, be-bs) + " @@\n")
		pos := as
		for _, k := range blocks[:n] {
			writeLines(&w, ' ', al[pos:k.a0])
			writeLines(&w, '-', al[k.a0:k.a1])
			writeLines(&w, '+', bl[k.b0:k.b1])
			pos = k.a1
		}
		writeLines(&w, ' ', al[pos:ae])
		blocks = blocks[n:]
	}
	return w.String()
}

// hunkRange formats a hunk's line range as diff -u does: "start,count",
// just "start" for one line, and the line before for an empty range.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(start) + ",0"
	case 1:
		return strconv.Itoa(start + 1)
	}
	return strconv.Itoa(start+1) + "," + strconv.Itoa(count)
}

func writeLines(w *strings.Builder, prefix byte, lines []string) {
	for _, l := range lines {
		w.WriteByte(prefix)
		w.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			w.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// splitLines splits s after each newline; the last line keeps no newline if
// s has none at its end, so that "x" and "x\n" differ as lines.
func splitLines(s []byte) []string {
	var out []string
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, string(s))
			break
		}
		out = append(out, string(s[:i+1]))
		s = s[i+1:]
	}
	return out
}

// maxCost bounds the search for one middle snake: past this many edits the
// search settles for the furthest point reached (as GNU diff does when a
// diff is "too expensive"), which keeps a diff of two 10,000-line files in
// milliseconds whatever they hold.
const maxCost = 1024

// editScript returns which elements of a are removed (del) and which of b
// are added (ins) by a shortest edit script from a to b, found with
// Myers' O(ND) algorithm in linear space.
func editScript[T comparable](a, b []T) (del, ins []bool) {
	del, ins = make([]bool, len(a)), make([]bool, len(b))
	// Number the elements, so that comparisons are of ints.
	ids := make(map[T]int, len(a))
	num := func(xs []T) []int {
		out := make([]int, len(xs))
		for i, x := range xs {
			id, ok := ids[x]
			if !ok {
				id = len(ids)
				ids[x] = id
			}
			out[i] = id
		}
		return out
	}
	na, nb := num(a), num(b)
	// An element found only on one side is always an edit; leaving those
	// out first keeps the search small when most lines are new (and the
	// result the same, as they can never be part of a common subsequence).
	inA, inB := make([]bool, len(ids)), make([]bool, len(ids))
	for _, id := range na {
		inA[id] = true
	}
	for _, id := range nb {
		inB[id] = true
	}
	d := &differ{del: del, ins: ins}
	for i, id := range na {
		if inB[id] {
			d.a, d.ai = append(d.a, id), append(d.ai, i)
		} else {
			del[i] = true
		}
	}
	for i, id := range nb {
		if inA[id] {
			d.b, d.bi = append(d.b, id), append(d.bi, i)
		} else {
			ins[i] = true
		}
	}
	d.compare(0, len(d.a), 0, len(d.b))
	return del, ins
}

// differ holds the sequences being compared (only elements both sides
// have), their indexes in the caller's slices, and scratch space.
type differ struct {
	a, b     []int
	ai, bi   []int
	del, ins []bool
	v1, v2   []int
}

// compare marks the edits that turn a[a0:a1] into b[b0:b1].
func (d *differ) compare(a0, a1, b0, b1 int) {
	for a0 < a1 && b0 < b1 && d.a[a0] == d.b[b0] {
		a0, b0 = a0+1, b0+1
	}
	for a0 < a1 && b0 < b1 && d.a[a1-1] == d.b[b1-1] {
		a1, b1 = a1-1, b1-1
	}
	if a0 == a1 || b0 == b1 {
		d.changed(a0, a1, b0, b1)
		return
	}
	x, y, ok := d.split(a0, a1, b0, b1)
	if !ok || (x == a0 && y == b0) || (x == a1 && y == b1) {
		d.changed(a0, a1, b0, b1)
		return
	}
	d.compare(a0, x, b0, y)
	d.compare(x, a1, y, b1)
}

func (d *differ) changed(a0, a1, b0, b1 int) {
	for i := a0; i < a1; i++ {
		d.del[d.ai[i]] = true
	}
	for j := b0; j < b1; j++ {
		d.ins[d.bi[j]] = true
	}
}

// split finds the middle snake of a shortest edit script of a[a0:a1] to
// b[b0:b1] by searching from both ends at once (Myers 1986, section 4b),
// and returns a point (x, y) on it. ok is false when the two have nothing
// in common. Past maxCost edits it returns the furthest point the forward
// search reached instead.
func (d *differ) split(a0, a1, b0, b1 int) (x, y int, ok bool) {
	n, m := a1-a0, b1-b0
	maxD := (n + m + 1) / 2
	off := maxD
	size := 2*maxD + 2
	if cap(d.v1) < size {
		d.v1, d.v2 = make([]int, size), make([]int, size)
	}
	v1, v2 := d.v1[:size], d.v2[:size]
	for i := range v1 {
		v1[i], v2[i] = -1, -1
	}
	v1[off+1], v2[off+1] = 0, 0
	delta := n - m
	front := delta%2 != 0
	// Diagonals that ran off the edge of the grid are not searched again.
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for e := 0; e < maxD; e++ {
		if e > maxCost {
			return d.furthest(v1, off, e, k1start, k1end, a0, b0, n, m)
		}
		for k1 := -e + k1start; k1 <= e-k1end; k1 += 2 {
			i := off + k1
			var x1 int
			if k1 == -e || (k1 != e && v1[i-1] < v1[i+1]) {
				x1 = v1[i+1]
			} else {
				x1 = v1[i-1] + 1
			}
			y1 := x1 - k1
			for x1 < n && y1 < m && d.a[a0+x1] == d.b[b0+y1] {
				x1, y1 = x1+1, y1+1
			}
			v1[i] = x1
			switch {
			case x1 > n:
				k1end += 2
			case y1 > m:
				k1start += 2
			case front:
				j := off + delta - k1
				if j >= 0 && j < size && v2[j] != -1 && x1 >= n-v2[j] {
					return a0 + x1, b0 + y1, true
				}
			}
		}
		for k2 := -e + k2start; k2 <= e-k2end; k2 += 2 {
			i := off + k2
			var x2 int
			if k2 == -e || (k2 != e && v2[i-1] < v2[i+1]) {
				x2 = v2[i+1]
			} else {
				x2 = v2[i-1] + 1
			}
			y2 := x2 - k2
			for x2 < n && y2 < m && d.a[a1-1-x2] == d.b[b1-1-y2] {
				x2, y2 = x2+1, y2+1
			}
			v2[i] = x2
			switch {
			case x2 > n:
				k2end += 2
			case y2 > m:
				k2start += 2
			case !front:
				j := off + delta - k2
				if j >= 0 && j < size && v1[j] != -1 {
					x1 := v1[j]
					y1 := off + x1 - j
					if x1 >= n-x2 {
						return a0 + x1, b0 + y1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// furthest returns the point of the forward search that got furthest into
// the grid, to split a diff that is too costly to make minimal.
func (d *differ) furthest(v1 []int, off, e, kstart, kend, a0, b0, n, m int) (x, y int, ok bool) {
	best := -1
	for k := -e + 1 + kstart; k <= e-1-kend; k += 2 {
		x1 := v1[off+k]
		y1 := x1 - k
		if x1 < 0 || x1 > n || y1 < 0 || y1 > m {
			continue
		}
		if x1+y1 > best {
			best, x, y = x1+y1, x1, y1
		}
	}
	if best <= 0 || (x == n && y == m) {
		return 0, 0, false
	}
	return a0 + x, b0 + y, true
}
