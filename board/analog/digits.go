package analog

import (
	"strings"

	"ringbox/firmware/dialplan"
	"ringbox/firmware/site"
)

// Feature codes a phone may dial (docs/features.md): fixed ones dial as
// soon as they are complete; *28 and *70 take more digits, ended by '#'
// or the inter-digit timeout.
var (
	fixedFeatures  = []string{"*43", "*44", "*45", "*46", "*47", "*48", "*97"}
	prefixFeatures = []string{"*28", "*70"}
)

// verdict is what digit collection does after a digit.
type verdict int

const (
	wait    verdict = iota // more digits may follow
	dialNow                // the number is complete: dial it
	noMatch                // nothing can match: the phone gets congestion tone
)

// judge decides whether digits (collected so far, without a final '#')
// form a number to dial now: an extension, a feature code or an outbound
// pattern that matches exactly while nothing longer could still match.
// Numbers that only patterns with a '.' match wait for '#' or the
// inter-digit timeout, like every PBX's overlap dialling.
func judge(s *site.Site, digits string) verdict {
	if digits == "" {
		return wait
	}
	exact, longer := false, false
	for _, x := range s.Extensions {
		switch {
		case x.Number == digits:
			exact = true
		case strings.HasPrefix(x.Number, digits):
			longer = true
		}
	}
	for _, f := range fixedFeatures {
		switch {
		case f == digits:
			exact = true
		case strings.HasPrefix(f, digits):
			longer = true
		}
	}
	for _, f := range prefixFeatures {
		switch {
		case strings.HasPrefix(f, digits):
			longer = true
		case strings.HasPrefix(digits, f):
			exact, longer = true, true
		}
	}
	for _, r := range s.Outbound {
		p, err := dialplan.Compile(r.Pattern)
		if err != nil {
			continue
		}
		if p.Match(digits) {
			exact = true
		}
		if p.Longer(digits) {
			longer = true
		}
	}
	switch {
	case exact && !longer:
		return dialNow
	case !exact && !longer:
		return noMatch
	}
	return wait
}
