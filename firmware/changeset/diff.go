package changeset

import (
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"ringbox/firmware/site"
)

// Op is what happened to one object.
type Op string

// The operations of an ObjectChange.
const (
	Added   Op = "added"
	Removed Op = "removed"
	Changed Op = "changed"
	// Moved is a route (of an Ordered kind) whose settings are the same but
	// whose place among the routes changed, which changes which route wins.
	Moved Op = "moved"
)

// ObjectChange is one object added, removed, changed or moved.
type ObjectChange struct {
	Kind string // a Kind's Key
	Key  string // see Key
	Op   Op
	// Fields are the fields that differ, in model order. For an added
	// object they are its non-empty fields; a removed or moved object has
	// none.
	Fields []FieldChange
}

// FieldChange is one field of an object that differs.
type FieldChange struct {
	// Field is the path from the object, as site.Problem writes it:
	// "name", "stages[0].for", "options[\"1\"]", "agents[1]".
	Field string
	// Old and New are the values as the site file writes them ("20s",
	// "true", "{agent: sue, level: 2}"), lists joined "a, b", and "" for a
	// field the file would leave out. A secret is "(set)", "(changed)" or "".
	Old, New string
}

// Masked values of secrets.
const (
	secretSet     = "(set)"
	secretChanged = "(changed)"
)

// Diff returns the objects that differ between old and new, ordered by
// Kinds and, within a kind, by position in new, with removed objects last
// in their old order. A nil site is an empty one. Secrets never appear in
// the result: see FieldChange.
func Diff(old, new *site.Site) []ObjectChange {
	if old == nil {
		old = &site.Site{}
	}
	if new == nil {
		new = &site.Site{}
	}
	var out []ObjectChange
	for _, k := range kinds {
		ov, nv := list(old, k.Key), list(new, k.Key)
		if k.Key == SystemKey {
			if f := fieldDiff(ov, nv); len(f) > 0 {
				out = append(out, ObjectChange{Kind: SystemKey, Key: SystemKey, Op: Changed, Fields: f})
			}
			continue
		}
		out = append(out, diffList(k.Kind, ov, nv)...)
	}
	return out
}

// diffList compares two lists of objects of kind k by key.
func diffList(k Kind, ov, nv reflect.Value) []ObjectChange {
	oks, nks := keysOf(ov), keysOf(nv)
	oi := make(map[string]int, len(oks))
	for i, key := range oks {
		oi[key] = i
	}
	ni := make(map[string]int, len(nks))
	for i, key := range nks {
		ni[key] = i
	}
	moved := map[string]bool{}
	if k.Ordered {
		moved = movedKeys(oks, nks, oi, ni)
	}
	var out []ObjectChange
	zero := reflect.Zero(nv.Type().Elem())
	for i, key := range nks {
		j, ok := oi[key]
		if !ok {
			out = append(out, ObjectChange{Kind: k.Key, Key: key, Op: Added, Fields: fieldDiff(zero, nv.Index(i))})
			continue
		}
		switch f := fieldDiff(ov.Index(j), nv.Index(i)); {
		case len(f) > 0:
			out = append(out, ObjectChange{Kind: k.Key, Key: key, Op: Changed, Fields: f})
		case moved[key]:
			out = append(out, ObjectChange{Kind: k.Key, Key: key, Op: Moved})
		}
	}
	for _, key := range oks {
		if _, ok := ni[key]; !ok {
			out = append(out, ObjectChange{Kind: k.Key, Key: key, Op: Removed})
		}
	}
	return out
}

// movedKeys returns the keys, present in both lists, that changed place: the
// fewest such, so that moving one route to the top reports that route alone
// and not every route it passed.
func movedKeys(oks, nks []string, oi, ni map[string]int) map[string]bool {
	var oc, nc []string
	for _, key := range oks {
		if _, ok := ni[key]; ok {
			oc = append(oc, key)
		}
	}
	for _, key := range nks {
		if _, ok := oi[key]; ok {
			nc = append(nc, key)
		}
	}
	moved := map[string]bool{}
	_, inB := editScript(oc, nc)
	for i, key := range nc {
		if inB[i] {
			moved[key] = true
		}
	}
	return moved
}

// fieldDiff compares two values of the same struct type field by field.
func fieldDiff(a, b reflect.Value) []FieldChange {
	var out []FieldChange
	walk(&out, "", a, b, false, false)
	return out
}

// walk appends the differences between a and b, at path, to out. omitEmpty
// says the field's zero value is left out of the site file (so it reads
// ""), secret that it must be masked.
func walk(out *[]FieldChange, path string, a, b reflect.Value, omitEmpty, secret bool) {
	t := a.Type()
	if leaf(t) {
		x, y := text(a, omitEmpty), text(b, omitEmpty)
		if x == y {
			return
		}
		if secret {
			x, y = mask(x, y)
		}
		*out = append(*out, FieldChange{Field: path, Old: x, New: y})
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		// A nil *SMTP or *Comfort reads as the empty struct, so that
		// setting one lists the fields set, not a pointer.
		walk(out, path, deref(a), deref(b), omitEmpty, secret)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := yamlName(f)
			_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			walk(out, join(path, name), a.Field(i), b.Field(i),
				strings.Contains(opts, "omitempty"), secret || isSecret(t, f, name))
		}
	case reflect.Slice:
		n := max(a.Len(), b.Len())
		zero := reflect.Zero(t.Elem())
		for i := range n {
			x, y := zero, zero
			if i < a.Len() {
				x = a.Index(i)
			}
			if i < b.Len() {
				y = b.Index(i)
			}
			walk(out, path+"["+strconv.Itoa(i)+"]", x, y, false, secret)
		}
	case reflect.Map:
		keys := map[string]bool{}
		for _, k := range a.MapKeys() {
			keys[k.String()] = true
		}
		for _, k := range b.MapKeys() {
			keys[k.String()] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Slice(sorted, func(i, j int) bool { return optionLess(sorted[i], sorted[j]) })
		zero := reflect.Zero(t.Elem())
		for _, k := range sorted {
			kv := reflect.ValueOf(k).Convert(t.Key())
			x, y := a.MapIndex(kv), b.MapIndex(kv)
			if !x.IsValid() {
				x = zero
			}
			if !y.IsValid() {
				y = zero
			}
			walk(out, path+"["+strconv.Quote(k)+"]", x, y, true, secret)
		}
	}
}

// optionLess orders IVR keys as on a keypad: 0-9 by digit, then * and #,
// then anything else as text.
func optionLess(a, b string) bool {
	rank := func(s string) int {
		switch {
		case len(s) == 1 && '0' <= s[0] && s[0] <= '9':
			return 0
		case s == "*":
			return 1
		case s == "#":
			return 2
		}
		return 3
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return a < b
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func deref(v reflect.Value) reflect.Value {
	if v.IsNil() {
		return reflect.Zero(v.Type().Elem())
	}
	return v.Elem()
}

var (
	marshalerType = reflect.TypeFor[yaml.Marshaler]()
	durationType  = reflect.TypeFor[site.Duration]()
)

// leaf reports whether values of t are shown as one piece of text: scalars,
// types with their own YAML form (Duration, QueueAgent) and lists of
// strings, which the site file writes on one line.
func leaf(t reflect.Type) bool {
	if t.Implements(marshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return false
	}
	return true
}

// text is v as the site file writes it; "" for a left-out field.
func text(v reflect.Value, omitEmpty bool) string {
	// A zero duration is "not set" wherever the model has one (a new
	// stage's "for" was not "0s" before it was added).
	if (omitEmpty || v.Type() == durationType) && v.IsZero() {
		return ""
	}
	if m, ok := v.Interface().(yaml.Marshaler); ok {
		y, err := m.MarshalYAML()
		if err != nil {
			return ""
		}
		if s, ok := y.(string); ok {
			return s
		}
		b, err := yaml.Marshal(y)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = v.Index(i).String()
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

// mask hides a secret's values, keeping only whether it was set.
func mask(x, y string) (string, string) {
	if x != "" {
		x = secretSet
	}
	switch {
	case y == "":
	case x == "":
		y = secretSet
	default:
		y = secretChanged
	}
	return x, y
}

// secretFields are the secrets of the model, which Marshal leaves out of an
// export without --with-secrets.
var secretFields = map[reflect.Type][]string{
	reflect.TypeFor[site.Extension](): {"Secret", "DISAPIN", "VoicemailPIN"},
	reflect.TypeFor[site.Agent]():     {"PIN"},
	reflect.TypeFor[site.Mailbox]():   {"PIN"},
	reflect.TypeFor[site.Trunk]():     {"Password"},
	reflect.TypeFor[site.SMTP]():      {"Password"},
	reflect.TypeFor[site.User]():      {"Password", "PasswordHash"},
}

// isSecret reports whether field f of struct t holds a secret. Beyond the
// known list, any field named like a secret counts, so that a new one is
// masked before anyone remembers to list it.
func isSecret(t reflect.Type, f reflect.StructField, name string) bool {
	if slices.Contains(secretFields[t], f.Name) {
		return true
	}
	return name == "pin" || strings.HasSuffix(name, "_pin") || strings.Contains(name, "password") || strings.Contains(name, "secret")
}
