// Package dialplan matches dialled numbers against the outbound patterns of
// the site file and decides which route, trunks and permission apply.
//
// The pattern grammar itself (N, X, Z, [1-5], a trailing '.') lives in the
// leaf package dialplan/pattern, which the site validator shares.
package dialplan

import "ringbox/firmware/dialplan/pattern"

// Pattern is a compiled outbound pattern.
type Pattern = pattern.Pattern

// Compile parses a pattern. The error says what is wrong and where.
func Compile(src string) (*Pattern, error) { return pattern.Compile(src) }
