// Package numplan classifies the numbers the box sends to a trunk by the
// numbering plan of the site's country: emergency, local, national,
// mobile, premium or international. Outbound permission is judged on this
// class (package dialplan), never on the route a number matched, so a
// prefix route such as "9." cannot carry a call of a higher class than
// the caller may make.
//
// The plans are tables of prefixes, longest match first. A number no rule
// of the plan recognises (a typo, a length the plan does not know, a
// national number in a foreign format) is Unknown, which needs the
// international permission: the classification fails closed.
//
// Numbers in E.164 form ("+" and a country code) are classed by their
// country code: the site's own country code is read as a national number
// of the plan, any other is international.
package numplan

import (
	"strings"
)

// Class is the class of a number sent to a trunk.
type Class int

// Classes, from the cheapest to the dearest. Emergency numbers are open to
// every caller whatever their permission.
const (
	Emergency Class = iota
	Local
	National
	Mobile
	International
	Premium
	Unknown // no rule matched: treated as international
)

var classNames = [...]string{"emergency", "local", "national", "mobile", "international", "premium", "unknown"}

func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// Rule is one line of a plan: numbers that start with Prefix and whose
// length is between Min and Max (0: any) are of class Class.
type Rule struct {
	Prefix   string
	Min, Max int
	Class    Class
	// Example is a number of this rule, used by `ringbox check` to show a
	// number a route could send.
	Example string
}

// Plan is the numbering plan of one country.
type Plan struct {
	Country     string // the tone zone names it: us, uk, de, fr, it, es, nl, au, jp
	CountryCode string // E.164 country code, without '+'
	// Trunk is what national numbers start with when dialled in the
	// country ("1" in NANP, "0" in most, "" in Italy and Spain, whose
	// numbers keep their first digit in E.164): E.164 numbers of the
	// country are read as Trunk + national significant number.
	Trunk string
	Rules []Rule
}

// For returns the plan of a country (a tone zone name; "" and "ca" are
// NANP, like "us"). ok is false for a country without a plan; the caller
// then classes everything but emergency numbers as Unknown.
func For(country string) (*Plan, bool) {
	switch strings.ToLower(country) {
	case "", "us", "ca":
		return &nanp, true
	}
	p, ok := plans[strings.ToLower(country)]
	return p, ok
}

// Countries lists the countries with a plan.
func Countries() []string {
	return []string{"us", "ca", "uk", "de", "fr", "it", "es", "nl", "au", "jp"}
}

// Classify returns the class of number, the string sent to a trunk.
// Numbers with anything but digits (and a leading '+') are Unknown.
func (p *Plan) Classify(number string) Class {
	if number == "" {
		return Unknown
	}
	if number[0] == '+' {
		rest := number[1:]
		if !digits(rest) {
			return Unknown
		}
		if !strings.HasPrefix(rest, p.CountryCode) {
			return International
		}
		nsn := rest[len(p.CountryCode):]
		if p.Trunk == "1" && p.CountryCode == "1" {
			return p.match("1" + nsn)
		}
		c := p.match(p.Trunk + nsn)
		if c == Emergency {
			// "+33112" is not how anyone calls the emergency services.
			return Unknown
		}
		return c
	}
	if !digits(number) {
		return Unknown
	}
	return p.match(number)
}

func (p *Plan) match(n string) Class {
	best, bestLen := Unknown, -1
	for _, r := range p.Rules {
		if !strings.HasPrefix(n, r.Prefix) || len(r.Prefix) <= bestLen {
			continue
		}
		if (r.Min > 0 && len(n) < r.Min) || (r.Max > 0 && len(n) > r.Max) {
			continue
		}
		best, bestLen = r.Class, len(r.Prefix)
	}
	return best
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Examples are example numbers of every rule of the plan, with their
// class, E.164 forms included: what `ringbox check` tries each route with.
func (p *Plan) Examples() []string {
	var out []string
	for _, r := range p.Rules {
		if r.Example == "" {
			continue
		}
		out = append(out, r.Example)
		// Emergency numbers are not dialled in E.164, nor international
		// prefixes, except NANP's other countries (+1 809...).
		if r.Class == Emergency || (r.Class == International && p.Trunk != p.CountryCode) {
			continue
		}
		if strings.HasPrefix(r.Example, p.Trunk) {
			out = append(out, "+"+p.CountryCode+strings.TrimPrefix(r.Example, p.Trunk))
		}
	}
	return append(out, "+442071234567", "+33144556677", "+8613800138000")
}
