package dialplan

import (
	"fmt"
	"strings"

	"ringbox/firmware/numplan"
	"ringbox/firmware/site"
)

// Rank orders permission classes:
//
//	internal < local < national < international < premium
//
// An unknown or empty class is national, the default of SITE.md. Premium
// sits above international on purpose: premium-rate numbers are what
// toll fraud is paid through, and no class short of premium reaches them.
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
	case site.PermPremium:
		return 4
	}
	return -1
}

// ValidClass reports whether class is one of the permission classes.
func ValidClass(class string) bool { return class == "" || Rank(class) >= 0 }

// Needs is the permission class a caller (and a route) needs for a number
// of class c; "" for emergency numbers, which every caller may dial.
// Mobile numbers need national: in every plan the box knows they are
// dialled and billed as national calls.
func Needs(c numplan.Class) string {
	switch c {
	case numplan.Emergency:
		return ""
	case numplan.Local:
		return site.PermLocal
	case numplan.National, numplan.Mobile:
		return site.PermNational
	case numplan.Premium:
		return site.PermPremium
	}
	return site.PermInternational // international, and anything unrecognised
}

// Route is an outbound route with its compiled pattern.
type Route struct {
	site.OutboundRoute
	Index int // position in the site file
	pat   *Pattern
}

// Plan is the compiled outbound routes of a site, in file order, with the
// numbering plan of its country.
type Plan struct {
	routes []Route
	num    *numplan.Plan
}

// NewPlan compiles routes for a NANP site. A site that passed validation
// never fails here.
func NewPlan(routes []site.OutboundRoute) (*Plan, error) { return newPlan(routes, "") }

// NewSitePlan compiles the routes of s with the numbering plan of its
// country (system.tone_zone).
func NewSitePlan(s *site.Site) (*Plan, error) { return newPlan(s.Outbound, s.System.ToneZone) }

func newPlan(routes []site.OutboundRoute, country string) (*Plan, error) {
	num, ok := numplan.For(country)
	if !ok {
		// A country without a plan: nothing but the routes' own emergency
		// numbers is recognised, so everything needs international.
		num = &numplan.Plan{Country: country}
	}
	p := &Plan{num: num}
	for i, r := range routes {
		pat, err := Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("outbound[%d]: %w", i, err)
		}
		p.routes = append(p.routes, Route{OutboundRoute: r, Index: i, pat: pat})
	}
	return p, nil
}

// Numbering is the numbering plan numbers are classed by.
func (p *Plan) Numbering() *numplan.Plan { return p.num }

// Why a Decision refuses a call.
const (
	RefusedCaller  = "caller"  // the caller's class does not cover the number
	RefusedRoute   = "route"   // the route's permission (a cap) does not cover it
	RefusedSymbols = "symbols" // * or # in the number, the route does not allow them
	RefusedHours   = "hours"   // international outside system.international_hours
	RefusedLimit   = "limit"   // the caller's limit on outside calls is reached
)

// Decision is where an outbound number goes and whether the caller may.
type Decision struct {
	Route  Route
	Number string        // the number sent to the trunk: stripped and prepended
	Class  numplan.Class // the class of Number in the site's plan
	// Needs is the permission class Number needs ("" for emergency).
	Needs   string
	Allowed bool
	Refused string // RefusedCaller, RefusedRoute, RefusedSymbols; "" when allowed
}

// Lookup finds the first route (in file order) whose pattern matches number
// and decides whether a caller of class may send what the route makes of
// it. ok is false when no route matches.
//
// The decision is taken on the number sent to the trunk, after strip and
// prepend, classed by the site's numbering plan: the caller's class must
// cover it, and so must the route's permission, which caps what the route
// may carry and never grants anything. Emergency numbers are open to
// every caller, and so is a fixed route marked emergency (its pattern has
// no '.', so the installer wrote the whole number). A number with * or #
// leaves only through a route with allow_symbols, and is then classed as
// unknown (it needs international).
func (p *Plan) Lookup(number, class string) (d Decision, ok bool) {
	for _, r := range p.routes {
		if !r.pat.Match(number) {
			continue
		}
		return p.decide(r, number, class), true
	}
	return Decision{}, false
}

func (p *Plan) decide(r Route, number, class string) Decision {
	out := number
	if r.Strip > 0 && r.Strip < len(out) {
		out = out[r.Strip:]
	}
	out = r.Prepend + out
	d := Decision{Route: r, Number: out, Class: p.num.Classify(out)}
	if r.Emergency && !strings.HasSuffix(r.Pattern, ".") {
		d.Class = numplan.Emergency
	}
	d.Needs = Needs(d.Class)
	switch {
	case strings.ContainsAny(out, "*#") && !r.AllowSymbols:
		d.Refused = RefusedSymbols
	case d.Class == numplan.Emergency:
	case Rank(class) < 0 || Rank(class) < Rank(d.Needs):
		d.Refused = RefusedCaller
	case Rank(r.PermissionClass()) < Rank(d.Needs):
		d.Refused = RefusedRoute
	}
	d.Allowed = d.Refused == ""
	return d
}

// Reason says in words why d refuses the call, for the log and the audit.
func (d Decision) Reason(class string) string {
	switch d.Refused {
	case RefusedSymbols:
		return fmt.Sprintf("%s has * or #, which route %q does not allow (allow_symbols)", d.Number, d.Route.Pattern)
	case RefusedCaller:
		if class == "" {
			class = site.PermNational
		}
		return fmt.Sprintf("%s is %s and needs %q; the caller's class is %q", d.Number, d.Class, d.Needs, class)
	case RefusedRoute:
		return fmt.Sprintf("%s is %s and needs %q; route %q is capped at %q", d.Number, d.Class, d.Needs, d.Route.Pattern, d.Route.PermissionClass())
	case RefusedHours:
		return fmt.Sprintf("%s is %s, refused outside system.international_hours", d.Number, d.Class)
	case RefusedLimit:
		return fmt.Sprintf("%s refused: the caller's limit on outside calls is reached", d.Number)
	}
	return ""
}
