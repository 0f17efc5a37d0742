package dialplan

import (
	"fmt"
	"strings"

	"ringbox/firmware/numplan"
	"ringbox/firmware/site"
)

// Warnings are the open-ended routes of s (their pattern ends in '.')
// that a caller could use to send a number of a higher class than the
// route's permission: such calls are refused
// (the permission is a cap), but the installer who wrote `9.` with
// permission national most likely did not mean the route to take 9011...
// at all. Each warning names the route and one number it would refuse,
// the dearest found. The site is assumed valid.
func Warnings(s *site.Site) site.Errors {
	p, err := NewSitePlan(s)
	if err != nil {
		return nil
	}
	var out site.Errors
	examples := p.num.Examples()
	for i, r := range p.routes {
		field := fmt.Sprintf("outbound[%d]", i)
		switch {
		case r.Emergency && strings.HasSuffix(r.Pattern, "."):
			out = append(out, &site.Problem{Field: field, Msg: fmt.Sprintf(
				"emergency has no effect on an open-ended pattern (%q): only the emergency numbers of the numbering plan pass through it whatever the caller's permission; write the number itself (like 911) for an emergency route", r.Pattern)})
		case !r.Emergency && Rank(r.PermissionClass()) == 0:
			out = append(out, &site.Problem{Field: field, Msg: fmt.Sprintf(
				"route %q with permission internal carries nothing but emergency numbers: the permission caps the numbers a route carries (local, national, international, premium)", r.Pattern)})
			continue
		}
		if !strings.HasSuffix(r.Pattern, ".") {
			// A fixed-length pattern was written against the numbering
			// plan (+1NXXNXXXXXX); the few dear numbers inside it (+1900)
			// are refused call by call, and there is no pattern to
			// narrow it to. Open-ended ones are the toll-fraud hole.
			continue
		}
		// One example per class the route refuses, cheapest first.
		byClass := map[numplan.Class]string{}
		for _, ex := range examples {
			if len(ex) < len(r.Prepend) || ex[:len(r.Prepend)] != r.Prepend {
				continue
			}
			d, ok := r.pat.Lead(r.Strip, ex[len(r.Prepend):])
			if !ok || p.earlier(i, d) {
				continue
			}
			dec := p.decide(r, d, site.PermPremium)
			if _, seen := byClass[dec.Class]; dec.Refused == RefusedRoute && !seen {
				byClass[dec.Class] = fmt.Sprintf("%s, sent as %s (%s)", d, dec.Number, dec.Class)
			}
		}
		if len(byClass) == 0 {
			continue
		}
		var list []string
		for c := numplan.Emergency; c <= numplan.Unknown; c++ {
			if ex, ok := byClass[c]; ok {
				list = append(list, ex)
			}
		}
		out = append(out, &site.Problem{
			Field: field,
			Msg: fmt.Sprintf("route %q (permission %s) matches numbers of a higher class, which it refuses: %s; narrow the pattern, or give such numbers their own route",
				r.Pattern, r.PermissionClass(), strings.Join(list, "; ")),
		})
	}
	return out
}

// earlier reports whether a route before i takes number.
func (p *Plan) earlier(i int, number string) bool {
	for _, r := range p.routes[:i] {
		if r.pat.Match(number) {
			return true
		}
	}
	return false
}
