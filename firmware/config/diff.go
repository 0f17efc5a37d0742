package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"ringbox/firmware/site"
)

// Changes lists, per kind of object, the ids added, removed and changed
// between two sites. It is the payload of the "config.changed" event.
type Changes struct {
	Added   map[string][]string `json:"added,omitempty"`
	Removed map[string][]string `json:"removed,omitempty"`
	Changed map[string][]string `json:"changed,omitempty"`
	System  bool                `json:"system,omitempty"`
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Changed) == 0 && !c.System
}

// Touches reports whether objects of kind (e.g. "prompts") were added,
// removed or changed.
func (c Changes) Touches(kind string) bool {
	return len(c.Added[kind])+len(c.Removed[kind])+len(c.Changed[kind]) > 0
}

func (c Changes) String() string {
	if c.Empty() {
		return "no changes"
	}
	var parts []string
	add := func(verb string, m map[string][]string) {
		kinds := make([]string, 0, len(m))
		for k := range m {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %s %s", verb, k, strings.Join(m[k], ",")))
		}
	}
	add("added", c.Added)
	add("removed", c.Removed)
	add("changed", c.Changed)
	if c.System {
		parts = append(parts, "changed system")
	}
	return strings.Join(parts, "; ")
}

// Diff compares two sites object by object (by id or number).
func Diff(old, new *site.Site) Changes {
	c := Changes{Added: map[string][]string{}, Removed: map[string][]string{}, Changed: map[string][]string{}}
	if old == nil {
		old = &site.Site{}
	}
	diffKind(&c, "extensions", old.Extensions, new.Extensions, func(x site.Extension) string { return x.Number })
	diffKind(&c, "agents", old.Agents, new.Agents, func(x site.Agent) string { return x.ID })
	diffKind(&c, "ring_groups", old.RingGroups, new.RingGroups, func(x site.RingGroup) string { return x.ID })
	diffKind(&c, "hunt_groups", old.HuntGroups, new.HuntGroups, func(x site.HuntGroup) string { return x.ID })
	diffKind(&c, "queues", old.Queues, new.Queues, func(x site.Queue) string { return x.ID })
	diffKind(&c, "ivrs", old.IVRs, new.IVRs, func(x site.IVR) string { return x.ID })
	diffKind(&c, "announcements", old.Announcements, new.Announcements, func(x site.Announcement) string { return x.ID })
	diffKind(&c, "schedules", old.Schedules, new.Schedules, func(x site.Schedule) string { return x.ID })
	diffKind(&c, "inbound", old.Inbound, new.Inbound, func(x site.InboundRoute) string {
		if x.Caller != "" { // routes by the caller (site/skills.go)
			return "caller " + x.Caller + "/" + x.Match + "/" + x.When
		}
		return x.Match + "/" + x.When
	})
	diffKind(&c, "voicemail", old.Voicemail, new.Voicemail, func(x site.Mailbox) string { return x.Box })
	diffKind(&c, "trunks", old.Trunks, new.Trunks, func(x site.Trunk) string { return x.ID })
	diffKind(&c, "outbound", old.Outbound, new.Outbound, func(x site.OutboundRoute) string { return x.Pattern })
	diffKind(&c, "lines", old.Lines, new.Lines, func(x site.Line) string { return x.Port })
	diffKind(&c, "prompts", old.Prompts, new.Prompts, func(x site.Prompt) string { return x.ID })
	diffKind(&c, "hold_music", old.HoldMusic, new.HoldMusic, func(x site.HoldMusic) string { return x.ID })
	diffKind(&c, "users", old.Users, new.Users, func(x site.User) string { return x.Login })
	diffKind(&c, "conferences", old.Conferences, new.Conferences, func(x site.Conference) string { return x.ID })
	c.System = !same(reflect.ValueOf(old.System), reflect.ValueOf(new.System))
	for _, m := range []map[string][]string{c.Added, c.Removed, c.Changed} {
		for k, v := range m {
			if len(v) == 0 {
				delete(m, k)
			}
		}
	}
	return c
}

func diffKind[T any](c *Changes, kind string, old, new []T, key func(T) string) {
	was := make(map[string]T, len(old))
	for _, o := range old {
		was[key(o)] = o
	}
	seen := make(map[string]bool, len(new))
	for _, n := range new {
		k := key(n)
		seen[k] = true
		prev, ok := was[k]
		switch {
		case !ok:
			c.Added[kind] = append(c.Added[kind], k)
		case !same(reflect.ValueOf(prev), reflect.ValueOf(n)):
			c.Changed[kind] = append(c.Changed[kind], k)
		}
	}
	for _, o := range old {
		if k := key(o); !seen[k] {
			c.Removed[kind] = append(c.Removed[kind], k)
		}
	}
}

// same reports whether a and b configure the same thing. It compares what
// pointers point to, not their addresses: every reload reads a new site, so
// a queue's comfort messages (a pointer) sit at a new address each time,
// and comparing printed values named every such queue as changed. A nil
// pointer, slice or map equals an empty one (the file and the store differ
// in which they give back for "none").
func same(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() || a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return isZero(a) && isZero(b)
		}
		return same(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !same(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !same(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return a.IsNil() == b.IsNil() // not configuration
	default:
		// Unexported fields cannot be read with Interface, so compare
		// the basic kinds through their reflect accessors.
		switch a.Kind() {
		case reflect.Bool:
			return a.Bool() == b.Bool()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return a.Int() == b.Int()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return a.Uint() == b.Uint()
		case reflect.Float32, reflect.Float64:
			return a.Float() == b.Float()
		case reflect.String:
			return a.String() == b.String()
		case reflect.Complex64, reflect.Complex128:
			return a.Complex() == b.Complex()
		}
		return false
	}
}

// isZero reports whether v is nil, empty, or points to a zero value.
func isZero(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || isZero(v.Elem())
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Struct:
		for i := range v.NumField() {
			if !isZero(v.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := range v.Len() {
			if !isZero(v.Index(i)) {
				return false
			}
		}
		return true
	}
	return v.IsZero()
}
