package site

import (
	"slices"
	"strings"
)

// maxConferencePIN bounds a room's PIN: digits a caller types.
const maxConferencePIN = 16

// conferenceList checks the meet-me rooms: ids, numbers that no other
// dialled number takes (extensions, park slots, other rooms, emergency
// numbers; feature codes start with * and room numbers cannot), PINs,
// sizes, announce modes and mute keys.
func (v *validator) conferenceList() {
	s := v.s
	ids(v, "conferences", "id", len(s.Conferences), func(i int) string { return s.Conferences[i].ID })
	slots := s.System.Slots()
	numbers := map[string]int{}
	for i, c := range s.Conferences {
		p := indexPath("conferences", i)
		if n := c.Number; n != "" {
			np := fieldPath(p, "number")
			first, dup := numbers[n]
			switch {
			case !isDigits(n):
				v.add(np, "conference number %q must be digits only", n)
			case dup:
				v.add(np, "duplicate conference number %s (already used by conferences[%d] at %s)", n, first, v.where(fieldPath(indexPath("conferences", first), "number")))
			default:
				numbers[n] = i
				if _, ok := v.exts[n]; ok {
					v.add(np, "conference number %s is also extension %s", n, n)
				}
				if slices.Contains(slots, n) {
					v.add(np, "conference number %s is also a park slot (system.park_slots)", n)
				}
				for j, r := range s.Outbound {
					if pat := v.outbound[j]; r.Emergency && pat != nil && pat.Match(n) {
						v.add(np, "conference number %s is also an emergency number (outbound[%d] pattern %q)", n, j, r.Pattern)
						break
					}
				}
			}
		}
		if c.PIN != "" && (!isDigits(c.PIN) || len(c.PIN) > maxConferencePIN) {
			v.add(fieldPath(p, "pin"), "a conference PIN is 1 to %d digits", maxConferencePIN)
		}
		if m := c.MaxMembers; m != 0 && (m < MinConferenceMembers || m > MaxConferenceMembers) {
			v.add(fieldPath(p, "max_members"), "max_members %d: a room holds %d to %d members", m, MinConferenceMembers, MaxConferenceMembers)
		}
		v.enum(fieldPath(p, "announce"), "announce mode", c.Announce, []string{AnnounceTone, AnnounceNone})
		if k := c.MuteKey; k != "" && (len(k) > 4 || strings.Trim(k, "0123456789*#") != "") {
			v.add(fieldPath(p, "mute_key"), "mute key %q: up to 4 keys among 0-9, * and #, like *6", k)
		}
	}
}
