// Package pattern is the grammar of outbound dial patterns, shared by the
// site validator (package site) and the router (package dialplan), which
// imports site and so cannot be imported by it.
//
//	0-9 + * #   that character ('+' only first)
//	X           any digit 0-9
//	Z           any digit 1-9
//	N           any digit 2-9
//	[1-5] [147] any digit in the set (ranges and single digits)
//	.           one or more further digits (only at the end); never * or #,
//	            which only a pattern that names them matches
package pattern

import (
	"fmt"
	"strings"
)

// Pattern is a compiled outbound pattern.
type Pattern struct {
	src   string
	elems []uint16 // per position: bits 0-9 digits, 10 '*', 11 '#', 12 '+'
	rest  bool     // ends in '.': one or more further digits
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// MinLen is the shortest number the pattern matches.
func (p *Pattern) MinLen() int {
	if p.rest {
		return len(p.elems) + 1
	}
	return len(p.elems)
}

const (
	setDigits = 1<<10 - 1
	setTail   = setDigits // what '.' may match: digits only (toll fraud: 9*... never slips through)
	bitPlus   = 1 << 12
)

func charBit(c byte) uint16 {
	switch {
	case c >= '0' && c <= '9':
		return 1 << (c - '0')
	case c == '*':
		return 1 << 10
	case c == '#':
		return 1 << 11
	}
	return 0
}

// Compile parses src; its errors say what is wrong and where.
func Compile(src string) (*Pattern, error) {
	p := &Pattern{src: src}
	if src == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		var e uint16
		switch {
		case c == '.':
			if i != len(src)-1 {
				return nil, fmt.Errorf("pattern %q: '.' must be the last character (position %d)", src, i+1)
			}
			if i == 0 {
				return nil, fmt.Errorf("pattern %q: '.' alone would match every number", src)
			}
			p.rest = true
			continue
		case c == 'X' || c == 'x':
			e = setDigits
		case c == 'Z' || c == 'z':
			e = setDigits &^ 1
		case c == 'N' || c == 'n':
			e = setDigits &^ 3
		case c == '[':
			end := strings.IndexByte(src[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("pattern %q: '[' at position %d is never closed", src, i+1)
			}
			body := src[i+1 : i+end]
			if body == "" {
				return nil, fmt.Errorf("pattern %q: empty set at position %d", src, i+1)
			}
			for j := 0; j < len(body); j++ {
				if body[j] < '0' || body[j] > '9' {
					return nil, fmt.Errorf("pattern %q: %q in a set at position %d is not a digit", src, body[j], i+2+j)
				}
				lo := body[j]
				if j+2 < len(body) && body[j+1] == '-' {
					hi := body[j+2]
					if hi < '0' || hi > '9' || hi < lo {
						return nil, fmt.Errorf("pattern %q: bad range %q at position %d", src, body[j:j+3], i+2+j)
					}
					for d := lo; d <= hi; d++ {
						e |= charBit(d)
					}
					j += 2
					continue
				}
				e |= charBit(lo)
			}
			i += end
		case c == '+':
			if i != 0 {
				return nil, fmt.Errorf("pattern %q: '+' is only allowed first", src)
			}
			e = bitPlus
		case charBit(c) != 0:
			e = charBit(c)
		default:
			return nil, fmt.Errorf("pattern %q: unexpected %q at position %d", src, c, i+1)
		}
		p.elems = append(p.elems, e)
	}
	return p, nil
}

// Match reports whether number matches the whole pattern.
func (p *Pattern) Match(number string) bool {
	n := len(p.elems)
	if len(number) < n || (!p.rest && len(number) != n) || (p.rest && len(number) == n) {
		return false
	}
	for i, e := range p.elems {
		c := number[i]
		b := charBit(c)
		if c == '+' {
			b = bitPlus
		}
		if b == 0 || e&b == 0 {
			return false
		}
	}
	for i := n; i < len(number); i++ {
		if charBit(number[i])&setTail == 0 {
			return false
		}
	}
	return true
}

// Longer reports whether some number longer than prefix that starts
// with prefix matches the pattern: a phone dialling digit by digit must
// wait for more before it dials.
func (p *Pattern) Longer(prefix string) bool {
	n := len(p.elems)
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		b := charBit(c)
		if c == '+' {
			b = bitPlus
		}
		if i >= n {
			if !p.rest || b&setTail == 0 {
				return false
			}
			continue
		}
		if b == 0 || p.elems[i]&b == 0 {
			return false
		}
	}
	return p.rest || len(prefix) < n
}

// Covers reports whether every number q matches is also matched by p, so
// that a route with q after a route with p can never be used.
func (p *Pattern) Covers(q *Pattern) bool {
	if !p.rest {
		if q.rest || len(q.elems) != len(p.elems) {
			return false
		}
	} else {
		// q's numbers have at least len(q.elems) (+1 with rest) characters;
		// p needs more than len(p.elems).
		minQ := len(q.elems)
		if q.rest {
			minQ++
		}
		if minQ <= len(p.elems) {
			return false
		}
	}
	for i, e := range q.elems {
		var want uint16 = setTail
		if i < len(p.elems) {
			want = p.elems[i]
		}
		if e&^want != 0 {
			return false
		}
	}
	return true
}

// Lead returns a number the pattern matches that is n characters of the
// pattern's own choosing followed by rest, the first such in digit order;
// ok is false when there is none. It answers "what could a caller dial so
// that, once a route strips n characters, rest is sent?".
func (p *Pattern) Lead(n int, rest string) (string, bool) {
	total := n + len(rest)
	if total < len(p.elems) || (!p.rest && total != len(p.elems)) || (p.rest && total == len(p.elems)) {
		return "", false
	}
	b := make([]byte, 0, total)
	for i := 0; i < total; i++ {
		var e uint16 = setTail
		if i < len(p.elems) {
			e = p.elems[i]
		}
		if i >= n {
			c := rest[i-n]
			cb := charBit(c)
			if c == '+' {
				cb = bitPlus
			}
			if cb == 0 || e&cb == 0 {
				return "", false
			}
			b = append(b, c)
			continue
		}
		c, ok := first(e)
		if !ok {
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

// first is the first character of a set: a digit, then *, #, +.
func first(e uint16) (byte, bool) {
	for d := 0; d < 10; d++ {
		if e&(1<<d) != 0 {
			return byte('0' + d), true
		}
	}
	switch {
	case e&(1<<10) != 0:
		return '*', true
	case e&(1<<11) != 0:
		return '#', true
	case e&bitPlus != 0:
		return '+', true
	}
	return 0, false
}
