package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds how many YAML nodes one Parse visits, so that a file whose
// aliases multiply (a "billion laughs") is refused instead of eating memory.
const maxNodes = 200_000

// Parse reads a site file. filename only labels the problems. When the file
// has problems the error is an Errors holding every one of them, each with
// its line, sorted by line; a YAML syntax error stops reading at once.
// Defaults are not filled in, so Marshal gives back what the installer wrote.
func Parse(data []byte, filename string) (*Site, error) {
	f, err := ParseFile(data, filename)
	if err != nil {
		return nil, err
	}
	return f.Site, nil
}

// File is a parsed site file: the site and the line of each of its fields,
// so that problems found after parsing (an audio file the site names that
// is missing, say) can say where they are.
type File struct {
	Site *Site
	Name string // the filename given to ParseFile
	// Partial: the file has problems, and Site holds only what could be
	// read, for checks that report more problems; it must not be used.
	Partial bool

	lineOf func(string) int
}

// Locate gives each problem the file's name and the line of its field (or
// of the nearest enclosing field), and sorts them by line.
func (f *File) Locate(errs Errors) Errors {
	for _, p := range errs {
		p.File = f.Name
		if p.Line == 0 && f.lineOf != nil {
			p.Line = f.lineOf(p.Field)
		}
	}
	errs.sortByLine()
	return errs
}

// ParseFile is [Parse] keeping the lines. When the file has problems, the
// error is an Errors as with Parse, and the File is non-nil, with Partial
// set, if the file could be read at all (it was YAML, and not too large).
func ParseFile(data []byte, filename string) (*File, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, Errors{syntaxProblem(filename, err)}
	}
	d := &decoder{lines: map[string]int{}}
	s := &Site{}
	switch {
	case root.Kind == 0 || len(root.Content) == 0 || root.Content[0].Tag == "!!null":
		d.add(1, "", "the file is empty: it needs at least version: 1 and system:")
	default:
		doc := root.Content[0]
		if doc.Kind != yaml.MappingNode {
			d.add(doc.Line, "", "the file must be a set of fields (version:, system:, extensions: ...), not %s", describe(doc))
		} else {
			d.decode(doc, reflect.ValueOf(s).Elem(), "")
		}
	}
	if d.tooBig || (len(d.lines) == 0 && len(d.probs) > 0) {
		// Nothing was read, or not all of it: validating would only add noise.
		return nil, d.finish(filename)
	}
	f := &File{Site: s, Name: filename, lineOf: d.lineOf}
	bad := map[string]bool{}
	for _, p := range d.probs {
		bad[p.Field] = true
	}
	for _, p := range s.validate(d.lineOf) {
		if !underAny(p.Field, bad) {
			p.Line = d.lineOf(p.Field)
			d.probs = append(d.probs, p)
		}
	}
	if len(d.probs) > 0 {
		f.Partial = true
		return f, d.finish(filename)
	}
	return f, nil
}

// underAny reports whether path or one of its parents already has a problem
// from decoding, whose zero value would otherwise be reported a second time.
func underAny(path string, bad map[string]bool) bool {
	for p := path; p != ""; p = parentPath(p) {
		if bad[p] {
			return true
		}
	}
	return false
}

// parseYAML parses data into a node tree, turning a panic of the YAML
// library on hostile input into an error.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the file is not valid YAML")
		}
	}()
	root = &yaml.Node{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(root); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil
		}
		return nil, err
	}
	// A second document would be silently ignored; say so instead.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("yaml: line %d: a second document (---) is not allowed: a site file is one document", max(next.Line, 1))
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	return root, nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func syntaxProblem(file string, err error) *Problem {
	p := &Problem{File: file, Msg: "not valid YAML: " + err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = "not valid YAML: " + m[2]
	}
	return p
}

// decoder fills a Site from a node tree, recording the line of every field
// by its path and every problem instead of stopping at the first.
type decoder struct {
	lines  map[string]int
	probs  Errors
	nodes  int
	tooBig bool
}

func (d *decoder) add(line int, path, format string, args ...any) {
	d.probs = append(d.probs, &Problem{Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) finish(file string) Errors {
	for _, p := range d.probs {
		p.File = file
	}
	d.probs.sortByLine()
	return d.probs
}

// lineOf returns the line of path, or of its nearest parent in the file.
func (d *decoder) lineOf(path string) int {
	for p := path; ; p = parentPath(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a set of fields"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

var (
	durationType   = reflect.TypeFor[Duration]()
	queueAgentType = reflect.TypeFor[QueueAgent]()
	rangeType      = reflect.TypeFor[Range]()
)

// queueAgentYAML is the long form of a QueueAgent.
type queueAgentYAML struct {
	Agent string `yaml:"agent"`
	Level int    `yaml:"level,omitempty"`
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.tooBig {
		return
	}
	if d.nodes++; d.nodes > maxNodes {
		d.tooBig = true
		d.add(n.Line, path, "the file is too large (more than %d elements once aliases are expanded)", maxNodes)
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.add(n.Line, path, "alias to an unknown anchor")
			return
		}
		n = n.Alias
	}
	switch v.Type() {
	case durationType:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			d.add(n.Line, path, "must be a duration like 20s or 1m30s, not %s", describe(n))
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.add(n.Line, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	case queueAgentType:
		switch n.Kind {
		case yaml.ScalarNode:
			v.Set(reflect.ValueOf(QueueAgent{Agent: n.Value}))
		case yaml.MappingNode:
			var qa queueAgentYAML
			d.decode(n, reflect.ValueOf(&qa).Elem(), path)
			v.Set(reflect.ValueOf(QueueAgent(qa)))
		default:
			d.add(n.Line, path, "must be an agent id or {agent: ID, level: N}, not %s", describe(n))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		e := reflect.New(v.Type().Elem())
		d.decode(n, e.Elem(), path)
		v.Set(e)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(n.Line, path, "must be a list, not %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := indexPath(path, i)
			d.lines[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.add(n.Line, path, "must be a set of key: value pairs, not %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.add(k.Line, path, "a key must be a single value, not %s", describe(k))
				continue
			}
			p := keyPath(path, k.Value)
			if l, dup := first[k.Value]; dup {
				d.add(k.Line, p, "key %q given twice (first at line %d)", k.Value, l)
				continue
			}
			first[k.Value] = k.Line
			d.lines[p] = k.Line
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, p)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.String:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			d.add(n.Line, path, "must be a single value, not %s", describe(n))
			return
		}
		if strings.ContainsFunc(n.Value, func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) }) {
			// No field needs them, and they do not survive an export.
			d.add(n.Line, path, "must not contain line breaks, tabs or other control characters")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.add(n.Line, path, "must be true or false, not %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			d.add(n.Line, path, "must be a whole number, not %s", describe(n))
			return
		}
		v.SetInt(int64(i))
	default:
		// Only reached if model.go gains a field of a new kind.
		d.add(n.Line, path, "cannot read a field of type %s", v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			return
		}
		d.add(n.Line, path, "must be a set of fields (name: value), not %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "a field name must be a single word, not %s", describe(k))
			continue
		}
		name := k.Value
		p := fieldPath(path, name)
		idx, known := fields.byName[name]
		if !known {
			msg := fmt.Sprintf("unknown field %q", name)
			if name == "<<" {
				msg = "merge keys (<<) are not supported: repeat the fields, or use an alias (*name) for a whole value"
			} else if s := suggest(name, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += fmt.Sprintf(" (known fields here: %s)", strings.Join(fields.names, ", "))
			}
			d.add(k.Line, p, "%s", msg)
			continue
		}
		if l, dup := first[name]; dup {
			d.add(k.Line, p, "field given twice (first at line %d)", l)
			continue
		}
		first[name] = k.Line
		d.lines[p] = k.Line
		if v.Type() == rangeType && name == "days" && val.Kind == yaml.SequenceNode {
			d.decodeDays(val, v.Field(idx), p)
			continue
		}
		d.decode(val, v.Field(idx), p)
	}
}

// decodeDays reads days written as a list, [mon, wed, fri] or
// [mon-wed, sat], into the one string "mon,wed,fri" that a Range holds.
// Problems name the days field itself, so that validation does not report
// the same field again as empty.
func (d *decoder) decodeDays(n *yaml.Node, v reflect.Value, path string) {
	if len(n.Content) == 0 {
		d.add(n.Line, path, "no days given (write mon-fri, sat or [mon, wed, fri])")
		return
	}
	parts := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		if d.nodes++; item.Kind == yaml.AliasNode && item.Alias != nil {
			item = item.Alias
		}
		switch {
		case item.Kind != yaml.ScalarNode || isNull(item):
			d.add(item.Line, path, "item %d must be a day like mon or a range like mon-fri, not %s", i+1, describe(item))
			return
		case strings.Contains(item.Value, ","):
			d.add(item.Line, path, "item %d: one day or range per list item, not %q", i+1, item.Value)
			return
		}
		parts = append(parts, item.Value)
	}
	v.SetString(strings.Join(parts, ","))
}

type structFields struct {
	byName map[string]int
	names  []string
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf lists the YAML names of a struct's fields from their yaml tags.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{byName: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		f.byName[name] = i
		f.names = append(f.names, name)
	}
	fieldCache.Store(t, f)
	return f
}

// suggest returns the known name closest to a misspelt one, if close enough.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
