package dialplan

import (
	"fmt"

	"ringbox/firmware/site"
)

// Rank orders permission classes; an unknown or empty class is national,
// the default of SITE.md.
func Rank(class string) int {
	switch class {
	case site.PermInternal:
		return 0
	case site.PermLocal:
		return 1
	case "", site.PermNational:
		return 2
	case site.PermInternational:
		return 3
	}
	return -1
}

// ValidClass reports whether class is one of the permission classes.
func ValidClass(class string) bool { return class == "" || Rank(class) >= 0 }

// Route is an outbound route with its compiled pattern.
type Route struct {
	site.OutboundRoute
	Index int // position in the site file
	pat   *Pattern
}

// Plan is the compiled outbound routes of a site, in file order.
type Plan struct{ routes []Route }

// NewPlan compiles routes. A site that passed validation never fails here.
func NewPlan(routes []site.OutboundRoute) (*Plan, error) {
	p := &Plan{}
	for i, r := range routes {
		pat, err := Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("outbound[%d]: %w", i, err)
		}
		p.routes = append(p.routes, Route{OutboundRoute: r, Index: i, pat: pat})
	}
	return p, nil
}

// Decision is where an outbound number goes.
type Decision struct {
	Route   Route
	Number  string // the number sent to the trunk: stripped and prepended
	Allowed bool   // false: the caller's class does not cover the route
}

// Lookup finds the first route (in file order) whose pattern matches number
// and decides whether a caller of class may use it. Emergency routes are open
// to every caller. ok is false when no route matches.
func (p *Plan) Lookup(number, class string) (d Decision, ok bool) {
	for _, r := range p.routes {
		if !r.pat.Match(number) {
			continue
		}
		out := number
		if r.Strip > 0 && r.Strip < len(out) {
			out = out[r.Strip:]
		}
		out = r.Prepend + out
		allowed := r.Emergency || (Rank(class) >= 0 && Rank(class) >= Rank(r.Permission))
		return Decision{Route: r, Number: out, Allowed: allowed}, true
	}
	return Decision{}, false
}
