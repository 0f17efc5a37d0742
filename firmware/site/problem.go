package site

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a site: where it is and what is wrong, in
// words an installer understands.
type Problem struct {
	File  string // the site file's name; empty for a Site built in Go
	Line  int    // 1-based; 0 when the Site did not come from a file
	Field string // path of the field, like queues[0].agents[1] or ivrs[0].options["1"]
	Msg   string
}

// Error formats p as FILE:LINE: FIELD: MSG, leaving out what is unknown.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Line > 0 {
		if p.File == "" {
			b.WriteString("line ")
		}
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in a site, in file order. Parse returns it
// as its error; a nil or empty Errors means the site is valid.
type Errors []*Problem

// Error prints one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns e as an error, or nil when there is no problem, so that a nil
// Errors never becomes a non-nil error interface.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// sortByLine orders problems by line, keeping the order they were found in
// for problems on the same line.
func (e Errors) sortByLine() {
	slices.SortStableFunc(e, func(a, b *Problem) int { return cmp.Compare(a.Line, b.Line) })
}

// parentPath strips the last element of a field path: queues[0].agents[1]
// becomes queues[0].agents, which becomes queues[0], then queues, then "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			// A map key may hold '[' inside its quotes: look for ["
			if j := strings.LastIndex(p, `["`); j >= 0 && strings.HasSuffix(p, `"]`) {
				return p[:j]
			}
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

func fieldPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func keyPath(parent, key string) string { return parent + "[" + strconv.Quote(key) + "]" }
