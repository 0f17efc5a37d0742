package changeset

import (
	"reflect"
	"slices"

	"ringbox/firmware/site"
)

// Conflict is an object that the draft and someone else both changed, in
// different ways, since the draft's base.
type Conflict struct {
	Kind string // a Kind's Key
	Key  string // the object's key; "" when a whole Ordered kind conflicts
	Msg  string // for the installer: "changed in your draft and by someone else since"
}

// Messages of conflicts.
const (
	msgBothChanged   = "changed in your draft and by someone else since"
	msgDraftRemoved  = "removed in your draft but changed by someone else since"
	msgOtherRemoved  = "changed in your draft but removed by someone else since"
	msgBothAdded     = "added in your draft and, differently, by someone else since"
	msgOrderedPrefix = "changed in your draft and by someone else since; as the order decides which one wins, they are merged only when equal"
)

// Merge applies the changes of draft (an edit of base) to current (the
// configuration applied now, which may have moved on from base), object by
// object:
//
//   - an object the draft left as in base is taken from current (changed,
//     removed or added there, or untouched);
//   - an object current left as in base is taken from the draft, which may
//     have changed, removed or added it;
//   - an object the draft and current changed the same way is taken;
//   - anything else is a Conflict.
//
// Ordered kinds (routes) are merged as a whole: when both the draft and
// current changed anything among a kind's routes, the kind conflicts unless
// both lists are equal.
//
// The merged lists follow current's order; an object the draft added goes
// after the nearest object before it in the draft that is in the result
// (at the front when it leads the draft, else at the end).
//
// With conflicts the site is nil. Otherwise it is a new site that shares no
// memory with the inputs, which are never changed. A nil site is an empty
// one.
func Merge(base, draft, current *site.Site) (*site.Site, []Conflict) {
	empty := &site.Site{}
	base, draft, current = cmpOr(base, empty), cmpOr(draft, empty), cmpOr(current, empty)
	out := &site.Site{}
	var conflicts []Conflict

	if v, ok := pick(base.Version, draft.Version, current.Version); ok {
		out.Version = v
	} else {
		conflicts = append(conflicts, Conflict{Kind: SystemKey, Key: SystemKey, Msg: "the site file version " + msgBothChanged})
	}
	for _, k := range kinds {
		b, d, c := list(base, k.Key), list(draft, k.Key), list(current, k.Key)
		dst := list(out, k.Key)
		switch {
		case k.Key == SystemKey:
			v, ok, conflict := merge3(b, true, d, true, c, true)
			if conflict != "" {
				conflicts = append(conflicts, Conflict{Kind: k.Key, Key: SystemKey, Msg: conflict})
			} else if ok {
				dst.Set(v)
			}
		case k.Ordered:
			dChanged, cChanged := !equal(b, d), !equal(b, c)
			switch {
			case dChanged && cChanged && !equal(d, c):
				conflicts = append(conflicts, Conflict{Kind: k.Key, Msg: k.Title + " " + msgOrderedPrefix})
			case dChanged:
				dst.Set(d)
			default:
				dst.Set(c)
			}
		default:
			v, cs := mergeList(k.Key, b, d, c)
			conflicts = append(conflicts, cs...)
			dst.Set(v)
		}
	}
	if len(conflicts) > 0 {
		return nil, conflicts
	}
	return Clone(out), nil
}

func cmpOr(s, empty *site.Site) *site.Site {
	if s == nil {
		return empty
	}
	return s
}

// pick merges one comparable value; ok is false on a conflict.
func pick[T comparable](b, d, c T) (T, bool) {
	switch {
	case d == b:
		return c, true
	case c == b || d == c:
		return d, true
	}
	return d, false
}

// merge3 merges one object: present says whether it exists in base, draft
// and current. It returns the result (ok false: no object) or a conflict
// message.
func merge3(b reflect.Value, hb bool, d reflect.Value, hd bool, c reflect.Value, hc bool) (v reflect.Value, ok bool, conflict string) {
	same := func(x reflect.Value, hx bool, y reflect.Value, hy bool) bool {
		return hx == hy && (!hx || equal(x, y))
	}
	switch {
	case same(d, hd, b, hb):
		return c, hc, ""
	case same(c, hc, b, hb), same(d, hd, c, hc):
		return d, hd, ""
	case !hd:
		return v, false, msgDraftRemoved
	case !hc:
		return v, false, msgOtherRemoved
	case !hb:
		return v, false, msgBothAdded
	}
	return v, false, msgBothChanged
}

// mergeList merges the lists of one unordered kind by key.
func mergeList(kind string, b, d, c reflect.Value) (reflect.Value, []Conflict) {
	bk, dk, ck := keysOf(b), keysOf(d), keysOf(c)
	at := func(v reflect.Value, keys []string) map[string]reflect.Value {
		m := make(map[string]reflect.Value, len(keys))
		for i, k := range keys {
			m[k] = v.Index(i)
		}
		return m
	}
	bm, dm, cm := at(b, bk), at(d, dk), at(c, ck)

	merged := map[string]reflect.Value{}
	var conflicts []Conflict
	seen := map[string]bool{}
	// Conflicts come in the draft's order, then current's, then base's.
	for _, keys := range [][]string{dk, ck, bk} {
		for _, k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			bv, hb := bm[k]
			dv, hd := dm[k]
			cv, hc := cm[k]
			v, ok, msg := merge3(bv, hb, dv, hd, cv, hc)
			switch {
			case msg != "":
				conflicts = append(conflicts, Conflict{Kind: kind, Key: k, Msg: msg})
			case ok:
				merged[k] = v
			}
		}
	}

	var order []string
	for _, k := range ck {
		if _, ok := merged[k]; ok {
			order = append(order, k)
		}
	}
	for i, k := range dk {
		if _, ok := merged[k]; !ok || cm[k].IsValid() {
			continue
		}
		// Added by the draft: after the nearest object before it in the
		// draft that made it into the result.
		at := -1
		for j := i - 1; j >= 0 && at < 0; j-- {
			at = slices.Index(order, dk[j])
		}
		switch {
		case at >= 0:
			order = slices.Insert(order, at+1, k)
		case i == 0:
			order = slices.Insert(order, 0, k)
		default:
			order = append(order, k)
		}
	}

	if len(order) == 0 {
		return reflect.Zero(c.Type()), conflicts
	}
	out := reflect.MakeSlice(c.Type(), 0, len(order))
	for _, k := range order {
		out = reflect.Append(out, merged[k])
	}
	return out, conflicts
}

var queueAgentType = reflect.TypeFor[site.QueueAgent]()

// equal reports whether a and b write the same site file: nil and empty
// lists and maps are the same, and so are a queue agent at level 0 and one
// at level 1.
func equal(a, b reflect.Value) bool {
	if a.Type() == queueAgentType {
		qa, qb := a.Interface().(site.QueueAgent), b.Interface().(site.QueueAgent)
		return qa.Agent == qb.Agent && max(qa.Level, 1) == max(qb.Level, 1)
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			y := b.MapIndex(it.Key())
			if !y.IsValid() || !equal(it.Value(), y) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

// Clone returns a deep copy of s: no list, map or pointer is shared, so the
// copy can be edited while s stays an immutable snapshot. Nil lists and maps
// stay nil.
func Clone(s *site.Site) *site.Site {
	if s == nil {
		return nil
	}
	c := deepCopy(reflect.ValueOf(*s)).Interface().(site.Site)
	return &c
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v) // plain fields, and any unexported ones reflection cannot copy one by one
		for i := range v.NumField() {
			if f := c.Field(i); f.CanSet() {
				f.Set(deepCopy(v.Field(i)))
			}
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return c
	}
	return v
}
