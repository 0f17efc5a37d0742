// Package changeset compares, merges and prints changes to a site (the
// configuration model of package site) for the web console's drafts.
//
// An installer edits a draft: a whole [site.Site] copied (with [Clone]) from
// the applied configuration at some version, the base. This package answers
// the questions the console asks about such a draft, with no HTTP and no
// database:
//
//   - which objects there are and how each is named ([Kinds], [Keys], [Key],
//     [Object]);
//   - what the draft changes, object by object and field by field, in words
//     an installer reads ([Diff]), with secrets masked;
//   - whether the draft can still be applied after someone else applied
//     another change since its base ([Merge]), object by object;
//   - what the draft does to the site file, line by line ([UnifiedDiff]).
//
// # Identity
//
// Every object of a list kind is known by a key that the site file also uses
// to refer to it: extensions by number, users by login, inbound routes by
// match and when, and so on (see [Key]). Two objects with the same key in one
// list (which validation refuses, but a draft may hold) get "#2", "#3", ...
// appended in list order so that none is lost. The system settings are one
// object with key "system".
//
// # Values
//
// Sites handed around are immutable snapshots: nothing here mutates its
// arguments, and [Merge] returns a fresh site that shares nothing with them.
// Comparisons do not tell a nil list or map from an empty one, nor a queue
// agent at level 1 from one without a level, as the site file writes both
// the same way.
package changeset

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"ringbox/firmware/site"
)

// Kind describes one kind of object in a site file.
type Kind struct {
	Key      string // the YAML key in the site file: "extensions", "ring_groups", "system"
	Title    string // for a heading: "Ring groups"
	Singular string // for a sentence: "ring group"
	// Ordered kinds (inbound and outbound routes) are lists in which the
	// first match wins, so an object's position is part of the change.
	Ordered bool
}

// SystemKey is the key of the one object of kind "system".
const SystemKey = "system"

// kinds is the site-file order of site.Site; field is the Go field name.
var kinds = []struct {
	Kind
	field string
}{
	{Kind{"system", "System", "system settings", false}, "System"},
	{Kind{"extensions", "Extensions", "extension", false}, "Extensions"},
	{Kind{"agents", "Agents", "agent", false}, "Agents"},
	{Kind{"ring_groups", "Ring groups", "ring group", false}, "RingGroups"},
	{Kind{"hunt_groups", "Hunt groups", "hunt group", false}, "HuntGroups"},
	{Kind{"queues", "Queues", "queue", false}, "Queues"},
	{Kind{"ivrs", "IVR menus", "IVR menu", false}, "IVRs"},
	{Kind{"announcements", "Announcements", "announcement", false}, "Announcements"},
	{Kind{"schedules", "Schedules", "schedule", false}, "Schedules"},
	{Kind{"inbound", "Inbound routes", "inbound route", true}, "Inbound"},
	{Kind{"voicemail", "Voicemail boxes", "voicemail box", false}, "Voicemail"},
	{Kind{"trunks", "Trunks", "trunk", false}, "Trunks"},
	{Kind{"outbound", "Outbound routes", "outbound route", true}, "Outbound"},
	{Kind{"lines", "Lines", "line", false}, "Lines"},
	{Kind{"prompts", "Prompts", "prompt", false}, "Prompts"},
	{Kind{"hold_music", "Hold music", "hold-music class", false}, "HoldMusic"},
	{Kind{"users", "Users", "user", false}, "Users"},
	{Kind{"conferences", "Conferences", "conference room", false}, "Conferences"},
	{Kind{"caller_lists", "Caller lists", "caller list", false}, "CallerLists"},
}

// kindIndex maps a kind's key to its place in kinds and its field in site.Site.
var kindIndex = func() map[string]int {
	m := make(map[string]int, len(kinds))
	t := reflect.TypeFor[site.Site]()
	for i, k := range kinds {
		f, ok := t.FieldByName(k.field)
		if !ok || yamlName(f) != k.Key {
			// A renamed field must be renamed here too; fail at start-up
			// rather than silently dropping a kind from every diff.
			panic(fmt.Sprintf("changeset: site.Site has no field %s with yaml key %q", k.field, k.Key))
		}
		m[k.Key] = i
	}
	return m
}()

// Kinds returns every kind of object in site-file order: system first, then
// the lists from extensions to users.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.Kind
	}
	return out
}

// list returns the field of s that holds kind: a slice, or the System
// struct. It panics on an unknown kind, which is a programming error.
func list(s *site.Site, kind string) reflect.Value {
	i, ok := kindIndex[kind]
	if !ok {
		panic(fmt.Sprintf("changeset: unknown kind %q", kind))
	}
	return reflect.ValueOf(s).Elem().FieldByName(kinds[i].field)
}

func isKind(kind string) bool {
	_, ok := kindIndex[kind]
	return ok
}

// Keys returns the keys of the objects of kind in s, in list order; for
// "system" it is just "system". Duplicate keys get "#2", "#3", ... appended.
// An unknown kind or a nil site has no keys.
func Keys(s *site.Site, kind string) []string {
	if s == nil || !isKind(kind) {
		return nil
	}
	if kind == SystemKey {
		return []string{SystemKey}
	}
	return keysOf(list(s, kind))
}

// keysOf returns the (deduplicated) keys of the elements of slice v.
func keysOf(v reflect.Value) []string {
	ks := make([]string, v.Len())
	seen := make(map[string]int, v.Len())
	for i := range v.Len() {
		k := keyOf(v.Index(i))
		seen[k]++
		if n := seen[k]; n > 1 {
			k += "#" + strconv.Itoa(n)
		}
		ks[i] = k
	}
	return ks
}

// inboundKey is an inbound route's key: match+"|"+when (the match alone
// when when is empty), after "caller "+caller+"|" for a route by the
// caller (whose match may be empty).
func inboundKey(x site.InboundRoute) string {
	k := x.Match
	if x.When != "" {
		k += "|" + x.When
	}
	if x.Caller != "" {
		k = "caller " + x.Caller + "|" + k
	}
	return k
}

// Key returns the key of obj, an object of kind (a site.Extension, a
// *site.Extension, ...): the extension's number, the inbound route's
// match+"|"+when (the match alone when when is empty), and so on. It is ""
// for a value that is not an object of a known kind.
func Key(kind string, obj any) string {
	if kind == SystemKey {
		return SystemKey
	}
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || !isKind(kind) || v.Type() != list(&site.Site{}, kind).Type().Elem() {
		return ""
	}
	return keyOf(v)
}

// keyOf is the identity of one list element.
func keyOf(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case site.Extension:
		return x.Number
	case site.Agent:
		return x.ID
	case site.RingGroup:
		return x.ID
	case site.HuntGroup:
		return x.ID
	case site.Queue:
		return x.ID
	case site.IVR:
		return x.ID
	case site.Announcement:
		return x.ID
	case site.Schedule:
		return x.ID
	case site.InboundRoute:
		return inboundKey(x)
	case site.Mailbox:
		return x.Box
	case site.Trunk:
		return x.ID
	case site.OutboundRoute:
		return x.Pattern
	case site.Line:
		return x.Port
	case site.Prompt:
		return x.ID
	case site.HoldMusic:
		return x.ID
	case site.User:
		return x.Login
	case site.CallerList:
		return x.ID
	}
	panic(fmt.Sprintf("changeset: no key for %s", v.Type()))
}

// Object returns the object of kind with key in s: the element value (a
// site.Extension, ...), or the site.System for kind "system". The value
// shares lists and maps with s; Clone s first to edit it.
func Object(s *site.Site, kind, key string) (any, bool) {
	if s == nil || !isKind(kind) {
		return nil, false
	}
	v := list(s, kind)
	if kind == SystemKey {
		return v.Interface(), key == SystemKey
	}
	for i, k := range keysOf(v) {
		if k == key {
			return v.Index(i).Interface(), true
		}
	}
	return nil, false
}

// yamlName is the name of struct field f in the site file: its yaml tag, or
// for a field the file never holds (tag "-", like a user's password hash)
// its Go name in snake case, so that a change to it can still be named.
func yamlName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch tag {
	case "":
		return strings.ToLower(f.Name)
	case "-":
		return snake(f.Name)
	}
	return tag
}

// snake turns PasswordHash into password_hash.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if 'A' <= r && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
