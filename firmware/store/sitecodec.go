package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"ringbox/firmware/site"
)

// The stored form of a site (site_versions and drafts) is the site file's
// structure, keys and values written as one line of JSON. JSON is YAML, so
// site.ParseFile reads it back like any site file, with the field names of
// the documented site-file format rather than Go's: a version stored by
// this firmware stays readable by the next one. It is not site.Marshal's
// output because that goes through the YAML library's emitter, which on a
// site of 500 extensions and 200 agents took about 70 ms, half the time of
// an apply; this encoder takes a few. See BenchmarkImportOneFieldChange.

var (
	durationType   = reflect.TypeFor[site.Duration]()
	queueAgentType = reflect.TypeFor[site.QueueAgent]()
	marshalerType  = reflect.TypeFor[yaml.Marshaler]()
)

// storedField is one field of a struct as the site file names it.
type storedField struct {
	index     int
	key       []byte // `"name": ` ready to append
	omitEmpty bool
}

var storedFields sync.Map // reflect.Type -> []storedField

func fieldsFor(t reflect.Type) []storedField {
	if fs, ok := storedFields.Load(t); ok {
		return fs.([]storedField)
	}
	var fs []storedField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		k, _ := json.Marshal(name)
		fs = append(fs, storedField{
			index:     i,
			key:       append(k, ':', ' '),
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
		})
	}
	storedFields.Store(t, fs)
	return fs
}

// encodeSite appends st in its stored form. It writes every field yaml.v3
// would (omitempty as yaml.v3 reads it), secrets and plain passwords
// included: callers clear what must not be stored.
func encodeSite(st *site.Site) ([]byte, error) {
	b := make([]byte, 0, 64<<10)
	return appendStored(b, reflect.ValueOf(st).Elem())
}

func appendStored(b []byte, v reflect.Value) ([]byte, error) {
	switch v.Type() {
	case durationType:
		return strconv.AppendQuote(b, site.Duration(v.Int()).String()), nil
	case queueAgentType:
		a := v.Interface().(site.QueueAgent)
		if a.Level <= 1 { // as site.Marshal writes it
			return appendString(b, a.Agent), nil
		}
		b = append(b, `{"agent": `...)
		b = appendString(b, a.Agent)
		b = append(b, `, "level": `...)
		b = strconv.AppendInt(b, int64(a.Level), 10)
		return append(b, '}'), nil
	}
	if v.Type().Implements(marshalerType) {
		// A new type that writes itself differently: teach this encoder.
		return nil, fmt.Errorf("cannot store a site field of type %s", v.Type())
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendStored(b, v.Elem())
	case reflect.Struct:
		b = append(b, '{')
		first := true
		for _, f := range fieldsFor(v.Type()) {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = append(b, f.key...)
			var err error
			if b, err = appendStored(b, fv); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case reflect.Slice:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ", "...)
			}
			var err error
			if b, err = appendStored(b, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("cannot store a site map of type %s", v.Type())
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, k.String())
			b = append(b, ':', ' ')
			var err error
			if b, err = appendStored(b, v.MapIndex(k)); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case reflect.String:
		return appendString(b, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	}
	return nil, fmt.Errorf("cannot store a site field of type %s", v.Type())
}

// appendString writes s as a JSON string, which is also a YAML
// double-quoted scalar.
func appendString(b []byte, s string) []byte {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r >= 0x7f }) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // cannot fail for a string
	return append(b, q...)
}

// isEmpty is yaml.v3's omitempty test for the kinds a site has.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Pointer:
		return v.IsNil()
	}
	return v.IsZero()
}
