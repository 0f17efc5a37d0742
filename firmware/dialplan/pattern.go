// Package dialplan matches dialled numbers against the outbound patterns of
// the site file and decides which route, trunks and permission apply.
//
// # Patterns
//
// A pattern is matched against the whole number, character by character:
//
//	0-9 + * #   that character
//	X           any digit 0-9
//	Z           any digit 1-9
//	N           any digit 2-9
//	[1-5] [147] any digit in the set (ranges and single digits)
//	.           one or more further characters (only at the end)
//
// "9." matches 9 followed by anything; "+1NXXNXXXXXX" a North American
// number in E.164.
package dialplan

import (
	"fmt"
	"strings"
)

// Pattern is a compiled outbound pattern.
type Pattern struct {
	src   string
	elems []elem
	rest  bool // ends in "."
}

type elem struct {
	set [12]bool // 0-9, then '*', '#'; unused for lit
	lit byte     // non-zero: this exact character ('+' or a digit)
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

func idx(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c == '*':
		return 10
	case c == '#':
		return 11
	}
	return -1
}

// Compile parses a pattern. The error says what is wrong and where.
func Compile(src string) (*Pattern, error) {
	if src == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	p := &Pattern{src: src}
	for i := 0; i < len(src); i++ {
		c := src[i]
		var e elem
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
			for d := 0; d <= 9; d++ {
				e.set[d] = true
			}
		case c == 'Z' || c == 'z':
			for d := 1; d <= 9; d++ {
				e.set[d] = true
			}
		case c == 'N' || c == 'n':
			for d := 2; d <= 9; d++ {
				e.set[d] = true
			}
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
				lo := idx(body[j])
				if lo < 0 || lo > 9 {
					return nil, fmt.Errorf("pattern %q: %q in a set at position %d is not a digit", src, body[j], i+2+j)
				}
				if j+2 < len(body) && body[j+1] == '-' {
					hi := idx(body[j+2])
					if hi < 0 || hi > 9 || hi < lo {
						return nil, fmt.Errorf("pattern %q: bad range %q at position %d", src, body[j:j+3], i+2+j)
					}
					for d := lo; d <= hi; d++ {
						e.set[d] = true
					}
					j += 2
					continue
				}
				e.set[lo] = true
			}
			i += end
		case c == '+':
			if i != 0 {
				return nil, fmt.Errorf("pattern %q: '+' is only allowed first", src)
			}
			e.lit = '+'
		case idx(c) >= 0:
			e.set[idx(c)] = true
		default:
			return nil, fmt.Errorf("pattern %q: unexpected %q at position %d", src, c, i+1)
		}
		p.elems = append(p.elems, e)
	}
	return p, nil
}

// Match reports whether number matches the whole pattern.
func (p *Pattern) Match(number string) bool {
	if len(number) < len(p.elems) {
		return false
	}
	if !p.rest && len(number) != len(p.elems) {
		return false
	}
	if p.rest && len(number) == len(p.elems) {
		return false // '.' needs one more character
	}
	for i, e := range p.elems {
		c := number[i]
		if e.lit != 0 {
			if c != e.lit {
				return false
			}
			continue
		}
		x := idx(c)
		if x < 0 || !e.set[x] {
			return false
		}
	}
	if p.rest {
		for i := len(p.elems); i < len(number); i++ {
			if idx(number[i]) < 0 {
				return false
			}
		}
	}
	return true
}

// MinLen is the shortest number the pattern matches.
func (p *Pattern) MinLen() int {
	if p.rest {
		return len(p.elems) + 1
	}
	return len(p.elems)
}
