package site

import (
	"strings"
	"time"
)

// DISA defaults (system.disa_attempts, system.disa_window) and PIN rules.
const (
	DefaultDISAAttempts = 5
	DefaultDISAWindow   = 10 * time.Minute
	// MinDISAPIN is the shortest disa_pin: the PIN is all that stands
	// between a stranger and the office's outside lines.
	MinDISAPIN = 4
)

// DISALimit is how many calls to disa one caller number may make within
// the window.
func (s *System) DISALimit() (attempts int, window time.Duration) {
	attempts = orInt(s.DISAAttempts, DefaultDISAAttempts)
	window = DefaultDISAWindow
	if s.DISAWindow > 0 {
		window = time.Duration(s.DISAWindow)
	}
	return attempts, window
}

// DISAPINOf is the PIN that lets a caller use disa as extension x: its
// disa_pin, else the pin of the agent whose extension it is; "" for none
// (the extension cannot be reached with a PIN).
func (s *Site) DISAPINOf(x string) string {
	for _, e := range s.Extensions {
		if e.Number == x && e.DISAPIN != "" {
			return e.DISAPIN
		}
	}
	for _, a := range s.Agents {
		if a.Extension == x && a.PIN != "" {
			return a.PIN
		}
	}
	return ""
}

// ExtensionOfMobile is the extension a caller from number stands for: the
// extension whose mobile it is, or the extension of the agent whose mobile
// it is; "" for none. Numbers are compared with [SameNumber].
func (s *Site) ExtensionOfMobile(number string) string {
	number = cleanNumber(number)
	if number == "" {
		return ""
	}
	for _, e := range s.Extensions {
		if e.Mobile != "" && sameClean(cleanNumber(e.Mobile), number) {
			return e.Number
		}
	}
	for _, a := range s.Agents {
		if a.Extension != "" && a.Mobile != "" && sameClean(cleanNumber(a.Mobile), number) {
			return a.Extension
		}
	}
	return ""
}

// SameNumber reports whether two phone numbers name the same line, as
// carriers write them: visual separators (space, -, ., parentheses) are
// ignored and 00 stands for +; a number in national form (an optional
// trunk 0, then at least 7 digits) is the same as an international one
// that ends with it after a country code of 1 to 3 digits, so
// +15550001001 is 15550001001 and 5550001001, and +33612345678 is
// 0612345678. Anything that is not a phone number matches nothing.
func SameNumber(a, b string) bool {
	return sameClean(cleanNumber(a), cleanNumber(b))
}

// plain reports whether s is already a clean number: digits after an
// optional +, not starting with 00.
func plain(s string) bool {
	d := strings.TrimPrefix(s, "+")
	if d == "" || strings.HasPrefix(s, "00") {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// sameClean is SameNumber on numbers cleanNumber has cleaned.
func sameClean(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	ap, bp := strings.HasPrefix(a, "+"), strings.HasPrefix(b, "+")
	ad, bd := strings.TrimPrefix(a, "+"), strings.TrimPrefix(b, "+")
	if ad == bd {
		return true
	}
	if ap == bp {
		return false
	}
	if bp { // a is the one without +
		ad, bd = bd, ad
	}
	// bd is national: drop the trunk prefix.
	bd = strings.TrimPrefix(bd, "0")
	if len(bd) < 7 {
		return false
	}
	cc := len(ad) - len(bd)
	return cc >= 1 && cc <= 3 && strings.HasSuffix(ad, bd)
}

// cleanNumber strips visual separators and turns 00 into +; "" when what
// is left is not a phone number.
func cleanNumber(s string) string {
	if plain(s) {
		return s // the usual case: nothing to strip, no copy
	}
	var b strings.Builder
	for i, c := range s {
		switch {
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			return ""
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "00") {
		n = "+" + n[2:]
	}
	if n == "+" {
		return ""
	}
	return n
}

// disaFields checks what disa and the per-queue login need: extensions'
// mobiles and DISA PINs, the DISA rate limit, and queue numbers.
func (v *validator) disaFields() {
	if v.s.System.DISAAttempts < 0 {
		v.add("system.disa_attempts", "must be 0 (the default, 5) or more, not %d", v.s.System.DISAAttempts)
	}
	v.duration("system.disa_window", v.s.System.DISAWindow, false)
	// A mobile stands for one extension, or disa could not tell whose
	// call it is.
	type owner struct{ path, number, ext string }
	var mobiles []owner
	mine := func(path, number, ext string) {
		for _, m := range mobiles {
			if SameNumber(number, m.number) && m.ext != ext {
				v.add(path, "mobile %q is also the mobile of %s (extension %s): a mobile stands for one extension", number, m.path, m.ext)
				return
			}
		}
		mobiles = append(mobiles, owner{path, number, ext})
	}
	for i, e := range v.s.Extensions {
		p := indexPath("extensions", i)
		v.phone(fieldPath(p, "mobile"), "mobile", e.Mobile)
		if e.Mobile != "" && isPhoneNumber(e.Mobile) {
			mine(fieldPath(p, "mobile"), e.Mobile, e.Number)
		}
		if e.DISAPIN != "" {
			if !isDigits(e.DISAPIN) || len(e.DISAPIN) < MinDISAPIN {
				v.add(fieldPath(p, "disa_pin"), "a DISA PIN is at least %d digits, digits only", MinDISAPIN)
			}
		}
	}
	for i, a := range v.s.Agents {
		if a.Mobile != "" && a.Extension != "" && isPhoneNumber(a.Mobile) {
			mine(fieldPath(indexPath("agents", i), "mobile"), a.Mobile, a.Extension)
		}
	}
	nums := map[string]int{}
	slots := map[string]bool{}
	for _, s := range v.s.System.Slots() {
		slots[s] = true
	}
	for i, q := range v.s.Queues {
		if q.Number == "" {
			continue
		}
		p := fieldPath(indexPath("queues", i), "number")
		_, ext := v.exts[q.Number]
		first, dup := nums[q.Number]
		switch {
		case !isDigits(q.Number):
			v.add(p, "queue number %q must be digits (it is dialled, and after *45)", q.Number)
		case dup:
			v.add(p, "queue number %s is already queue %q's", q.Number, v.s.Queues[first].ID)
		case ext:
			v.add(p, "queue number %s is also an extension", q.Number)
		case slots[q.Number]:
			v.add(p, "queue number %s is also a park slot (system.park_slots)", q.Number)
		default:
			nums[q.Number] = i
		}
	}
}
