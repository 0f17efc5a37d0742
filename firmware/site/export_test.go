package site

// Exported for pattern_test.go, an external test package that can import
// package dialplan (which imports this one).

// PatternMatch compiles src with the site's copy of the pattern grammar and
// matches number, reporting the compile error if any.
func PatternMatch(src, number string) (bool, error) {
	p, err := compilePattern(src)
	if err != nil {
		return false, err
	}
	return p.match(number), nil
}

// PatternCovers reports whether every number b matches is matched by a.
func PatternCovers(a, b string) bool {
	pa, err1 := compilePattern(a)
	pb, err2 := compilePattern(b)
	return err1 == nil && err2 == nil && pa.covers(pb)
}
