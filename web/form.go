package web

// The console's forms are generated from the site model (package site) by
// reflection, so that every field of every object has a form field and a new
// field in the model shows up without a template change. What reflection
// cannot know (labels, help, which fields pick a destination or a prompt,
// enumerations, secrets) comes from the fieldMeta table.
//
// Input names follow the object's shape: "name", "stages.0.for",
// "stages.0.ring.1", "options.k.0" / "options.v.0" (map rows), "smtp.host".
// Problem paths are the ones site.Validate gives (stages[0].for,
// options["1"]); each rendered field knows its problem path, so every
// problem is shown next to the field it is about.

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"ringbox/firmware/site"
)

// fieldMeta is what the form needs to know about a field beyond its type.
type fieldMeta struct {
	Label       string
	Help        string
	Pick        string   // a picker: dest, member, prompt, music, agent, extension, trunk, schedule, mailbox, key
	Choices     []string // an enumeration; "" first means "default"
	Secret      bool     // write-only: empty keeps the stored value
	Placeholder string
	Input       string // HTML input type when not text: date, time, email, tel
}

// fieldMetas is keyed by kind and field path without indices, like
// "ring_groups.stages.ring". Fields not listed get a label made from their
// name.
var fieldMetas = map[string]fieldMeta{
	"system.name":                   {Help: "The installation's name, shown on the page and in backups."},
	"system.timezone":               {Label: "Time zone", Help: "IANA name, like Europe/Paris. Schedules, hours and times on the page use it.", Placeholder: "UTC"},
	"system.tone_zone":              {Label: "Tone zone", Choices: append([]string{""}, site.ToneZones...), Help: "Dial, ring and busy tones of the country."},
	"system.office_number":          {Label: "Office number", Help: "The number outside calls show.", Input: "tel"},
	"system.language":               {Choices: append([]string{""}, site.Languages...), Help: "Language of the built-in prompts."},
	"system.loop_limit":             {Label: "Loop limit", Help: "How many times one call may enter the same destination (default 5)."},
	"system.loop_to":                {Label: "After too many loops", Pick: "dest"},
	"system.sip_digest":             {Label: "SIP digest", Choices: []string{"md5", "sha256"}, Help: "Digest challenges phones get, in order. Leave md5 alone unless every phone speaks SHA-256."},
	"system.smtp":                   {Label: "E-mail relay (voicemail to e-mail)"},
	"system.smtp.host":              {Help: "host:port of the mail relay", Placeholder: "mail.example.com:587"},
	"system.smtp.from":              {Input: "email"},
	"system.smtp.password":          {Secret: true},
	"extensions.number":             {Help: "Digits dialled to reach this phone; also its SIP user name.", Input: "tel"},
	"extensions.secret":             {Secret: true, Label: "SIP password", Help: "Leave empty to keep the current one; a new extension needs one (at least 8 characters)."},
	"extensions.voicemail_pin":      {Label: "Voicemail PIN", Secret: true, Help: "4-10 digits: opens the mailbox from other phones (*98) and from outside. Leave empty to keep the current one."},
	"extensions.email":              {Input: "email", Help: "Where voicemail is sent."},
	"extensions.permission":         {Choices: []string{"", site.PermInternal, site.PermLocal, site.PermNational, site.PermInternational, site.PermPremium}, Help: "Which outside numbers it may call, judged on the number sent (default national)."},
	"extensions.hunt_blocked":       {Label: "Skip in hunt groups"},
	"extensions.dnd":                {Label: "Do not disturb"},
	"extensions.mobile":             {Input: "tel", Help: "The user's mobile: calling the DISA number from it is calling from this extension, without a PIN."},
	"extensions.disa_pin":           {Label: "DISA PIN", Secret: true, Help: "Lets anyone who keys this extension and PIN call out through DISA as it (at least 4 digits). Leave empty to keep the current one."},
	"agents.id":                     {Label: "ID", Help: "Short name used by queues and groups: letters, digits, - _ ."},
	"agents.extension":              {Pick: "extension", Help: "The agent's desk phone."},
	"agents.mobile":                 {Input: "tel", Help: "Rung through an outbound route."},
	"agents.ring_preference":        {Label: "Ring", Choices: []string{"", site.RingExtensionOnly, site.RingExtensionThenMobile, site.RingBoth, site.RingMobileOnly}},
	"agents.mobile_after":           {Label: "Mobile after", Placeholder: "10s"},
	"agents.role":                   {Choices: []string{"", "agent", "manager"}},
	"agents.reports_to":             {Label: "Reports to", Pick: "agent"},
	"agents.hours":                  {Help: "When the agent works; empty means always."},
	"agents.hours.days":             {Placeholder: "mon-fri"},
	"agents.hours.from":             {Input: "time"},
	"agents.hours.to":               {Input: "time"},
	"agents.auto_login":             {Label: "Log in and out at the edges of the hours"},
	"agents.button":                 {Label: "Queue button", Help: "Number of the box's button that logs this agent in and out (0: none)."},
	"agents.pin":                    {Label: "PIN", Secret: true},
	"agents.wrapup":                 {Label: "Wrap-up", Placeholder: "15s"},
	"agents.wrapup_after_all_calls": {Label: "Wrap-up after every call, not only queue calls"},
	"ring_groups.id":                {Label: "ID"},
	"ring_groups.stages":            {Help: "Each stage rings its members for its time, then the next stage starts."},
	"ring_groups.stages.ring":       {Label: "Ring", Pick: "member"},
	"ring_groups.stages.for":        {Label: "For", Placeholder: "20s"},
	"ring_groups.repeat":            {Help: "How many times the stages run (default 1)."},
	"ring_groups.cid_prefix":        {Label: "Caller-ID prefix"},
	"ring_groups.confirm":           {Choices: []string{"", "never", "external", "always"}, Help: "Ask the person answering to press 1 to take the call."},
	"ring_groups.music":             {Label: "Music instead of ringback", Pick: "music"},
	"ring_groups.no_answer":         {Label: "When nobody answers", Pick: "dest"},
	"hunt_groups.id":                {Label: "ID"},
	"hunt_groups.strategy":          {Choices: []string{"", site.HuntSequential, site.HuntRoundRobin, site.HuntMemoryHunt, site.HuntFirstNotOnPhone, site.HuntRingAll, site.HuntRandom}},
	"hunt_groups.members":           {Pick: "member"},
	"hunt_groups.ring":              {Label: "Ring each", Placeholder: "15s"},
	"hunt_groups.no_answer":         {Label: "When nobody answers", Pick: "dest"},
	"queues.id":                     {Label: "ID"},
	"queues.strategy":               {Choices: []string{"", site.QueueLongestIdle, site.QueueRoundRobin, site.QueueLinear, site.QueueRingAll, site.QueueFewestCalls, site.QueueLeastTalkTime, site.QueueRandom, site.QueueRingProgressively}},
	"queues.agents":                 {Help: "Level 1 agents are offered calls first; level 2 after the level wait."},
	"queues.agents.agent":           {Pick: "agent"},
	"queues.agents.level":           {Placeholder: "1"},
	"queues.agent_ring":             {Label: "Ring each agent", Placeholder: "15s"},
	"queues.wrapup":                 {Label: "Wrap-up", Placeholder: "0s"},
	"queues.confirm":                {Label: "Agent presses 1 to take the call"},
	"queues.max_no_answer":          {Label: "Unanswered offers before an agent is set unavailable"},
	"queues.retry_delay":            {Placeholder: "5s"},
	"queues.max_wait":               {Label: "Longest wait", Placeholder: "10m"},
	"queues.on_timeout":             {Label: "After the longest wait", Pick: "dest"},
	"queues.on_empty":               {Label: "When no agent is logged in", Pick: "dest"},
	"queues.hold_music":             {Label: "Hold music", Pick: "music"},
	"queues.comfort":                {Label: "Comfort messages"},
	"queues.comfort.every":          {Placeholder: "45s"},
	"queues.comfort.prompts":        {Pick: "prompt"},
	"queues.announce_position":      {Label: "Announce position every", Placeholder: "60s"},
	"queues.level_wait":             {Label: "Level wait", Placeholder: "30s"},
	"queues.service_level":          {Label: "Service level", Placeholder: "20s"},
	"queues.led":                    {Label: "Queue LED", Help: "The LED on the box that shows this queue: on while callers wait, fast blink past the service level. 0: none."},
	"queues.number":                 {Input: "tel", Help: "Dialled to reach the queue; *45 then this number logs an agent in to or out of it alone."},
	"queues.exit_key":               {Label: "Exit key", Pick: "key"},
	"queues.exit_to":                {Label: "Exit to", Pick: "dest"},
	"ivrs.id":                       {Label: "ID"},
	"ivrs.greeting":                 {Pick: "prompt"},
	"ivrs.options":                  {Help: "What each key does."},
	"ivrs.options.key":              {Pick: "key"},
	"ivrs.options.value":            {Label: "Goes to", Pick: "dest"},
	"ivrs.direct_dial":              {Label: "Callers may dial an extension directly"},
	"ivrs.timeout":                  {Placeholder: "10s"},
	"ivrs.digit_timeout":            {Label: "Between digits", Placeholder: "2s"},
	"ivrs.retries":                  {Label: "Wrong keys allowed"},
	"ivrs.timeout_retries":          {Label: "Silences allowed"},
	"ivrs.invalid":                  {Label: "Wrong-key prompt", Pick: "prompt"},
	"ivrs.on_invalid":               {Label: "After too many wrong keys", Pick: "dest"},
	"ivrs.on_timeout":               {Label: "After too many silences", Pick: "dest"},
	"announcements.id":              {Label: "ID"},
	"announcements.prompt":          {Pick: "prompt"},
	"announcements.record":          {Label: "Record the call after it"},
	"announcements.next":            {Label: "Then", Pick: "dest"},
	"schedules.id":                  {Label: "ID"},
	"schedules.open":                {Label: "Open hours"},
	"schedules.open.days":           {Placeholder: "mon-fri"},
	"schedules.open.from":           {Input: "time"},
	"schedules.open.to":             {Input: "time"},
	"schedules.holidays":            {Input: "date", Help: "Closed all day."},
	"inbound.match":                 {Help: `The number called (DID), fxo:N for an analog line, or * for every call.`},
	"inbound.when":                  {Label: "When open per schedule", Pick: "schedule"},
	"inbound.to":                    {Label: "Goes to", Pick: "dest"},
	"inbound.otherwise":             {Label: "Otherwise (closed)", Pick: "dest"},
	"voicemail.box":                 {Help: "Mailbox number."},
	"voicemail.email":               {Input: "email"},
	"voicemail.greeting":            {Pick: "prompt"},
	"voicemail.max_length":          {Placeholder: "3m"},
	"voicemail.min_length":          {Placeholder: "2s"},
	"voicemail.pin":                 {Label: "PIN", Secret: true},
	"trunks.id":                     {Label: "ID"},
	"trunks.host":                   {Help: "The carrier's host[:port]."},
	"trunks.transport":              {Choices: []string{"", "udp", "tcp"}},
	"trunks.password":               {Secret: true},
	"trunks.register":               {Label: "Register with the carrier"},
	"trunks.fxo":                    {Label: "FXO port", Help: "For an analog line: the port number (then no host)."},
	"trunks.caller_id":              {Label: "Caller ID on forwarded calls", Choices: []string{"", site.CallerIDCaller, site.CallerIDOffice}},
	"trunks.office_number":          {Label: "Office number", Input: "tel"},
	"trunks.silence_timeout":        {Label: "Hang up after silence", Placeholder: "0s", Help: "Analog lines only: end a call after this long without sound either way, for exchanges that signal no hang-up. Empty: off."},
	"outbound.pattern":              {Help: "Dialled digits: X any digit, N 2-9, Z 1-9, [1-5], . one or more digits."},
	"outbound.trunks":               {Pick: "trunk"},
	"outbound.permission":           {Label: "Highest class carried", Choices: []string{"", site.PermInternal, site.PermLocal, site.PermNational, site.PermInternational, site.PermPremium}, Help: "A cap: numbers of a higher class never leave through this route, whatever the caller's permission."},
	"outbound.allow_symbols":        {Label: "Allow * and #", Help: "Let numbers with * or # through to the trunk (carrier codes). Off: they never leave."},
	"lines.port":                    {Placeholder: "fxs:1"},
	"lines.call_waiting":            {Label: "Call waiting", Help: "A second call to the busy phone beeps with its caller ID; a hook flash answers it. Off: the second caller hears busy."},
	"lines.extension":               {Pick: "extension"},
	"prompts.id":                    {Label: "ID"},
	"prompts.file":                  {Help: "Set by uploading on the Audio page."},
	"hold_music.id":                 {Label: "ID"},
	"hold_music.files":              {Help: "Set by uploading on the Audio page."},
	"hold_music.device":             {Help: "A live sound input instead of files."},
	"users.login":                   {},
	"users.role":                    {Choices: []string{site.RoleAdmin, site.RoleManager, site.RoleAgent}},
	"users.agent":                   {Pick: "agent", Help: "The agent an agent or manager login acts as."},
	"users.password":                {Secret: true, Help: "Leave empty to keep the current one; a new user needs one (at least 10 characters)."},
}

// metaPath drops the indices of a field path: stages.0.ring.1 -> stages.ring.
func metaPath(name string) string {
	parts := strings.Split(name, ".")
	out := parts[:0]
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err == nil || p == "k" || p == "v" {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

func metaFor(kind, name string) fieldMeta {
	return fieldMetas[kind+"."+metaPath(name)]
}

// labelOf makes "no_answer" into "No answer".
func labelOf(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// formField is one field as the templates draw it.
type formField struct {
	Name        string // input name
	ID          string // element id
	Label, Help string
	Widget      string // text, number, checkbox, select, pick, multi, group, rows, list, map
	Input       string // input type for text widgets
	Value       string
	Checked     bool
	Placeholder string
	Secret      bool
	Required    bool
	Options     []optGroup
	External    string // typed outside number for dest/member pickers
	ExternalOK  bool   // the picker offers "outside number"
	PickSrc     string // big picker: its choices are in the page's data block of this id
	Errors      []string
	Fields      []formField   // group: the struct's fields
	Rows        [][]formField // rows: one []formField per element (struct rows); list/map: one field (or key+value) per row
	Blank       []formField   // a blank row, for JS to clone and for adding without JS
	BlankIndex  int           // the blank row's index in input names
	Optional    bool          // group for a pointer field: "set" checkbox
	Set         bool
}

// optGroup is a <optgroup> of a picker.
type optGroup struct {
	Label   string
	Options []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// form holds what rendering needs: the kind, the pickers' lists, the
// problems by relative path, and raw values typed into fields that did not
// parse.
type form struct {
	kind     string
	pick     *pickers
	problems map[string][]string
	used     map[string]bool
	raw      map[string]string
}

// render returns the fields of v (a struct value) for the form.
func (f *form) render(v reflect.Value) []formField {
	return f.structFields(v, "", "")
}

func yamlName(sf reflect.StructField) (string, bool) {
	tag := sf.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !sf.IsExported() {
		return "", false
	}
	if name == "" {
		name = strings.ToLower(sf.Name)
	}
	return name, true
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (f *form) structFields(v reflect.Value, name, path string) []formField {
	var out []formField
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		yn, ok := yamlName(t.Field(i))
		if !ok {
			continue
		}
		if f.kind == "system" && name == "" && yn == "version" {
			continue
		}
		out = append(out, f.field(v.Field(i), join(name, yn), join(path, yn), yn))
	}
	return out
}

var durationType = reflect.TypeFor[site.Duration]()

// field renders one value. name is the input name, path the problem path.
func (f *form) field(v reflect.Value, name, path, short string) formField {
	m := metaFor(f.kind, name)
	ff := formField{Name: name, ID: "f-" + strings.NewReplacer(".", "-").Replace(name), Label: m.Label, Help: m.Help,
		Placeholder: m.Placeholder, Input: m.Input, Secret: m.Secret}
	if ff.Label == "" {
		ff.Label = labelOf(short)
	}
	ff.Errors = f.take(path)
	switch {
	case v.Type() == durationType:
		ff.Widget = "text"
		if d := site.Duration(v.Int()); d != 0 {
			ff.Value = d.String()
		}
	case v.Kind() == reflect.String:
		ff.Value = v.String()
		switch {
		case m.Secret:
			ff.Widget, ff.Value = "text", ""
			ff.Input = "password"
		case m.Pick != "":
			ff.Widget = "pick"
			ff.Options, ff.External, ff.PickSrc, ff.ExternalOK = f.pick.field(m.Pick, ff.Value)
		case m.Choices != nil:
			ff.Widget = "select"
			ff.Options = choiceOptions(m.Choices, ff.Value)
		default:
			ff.Widget = "text"
		}
	case v.Kind() == reflect.Bool:
		ff.Widget, ff.Checked = "checkbox", v.Bool()
	case v.Kind() == reflect.Int:
		ff.Widget = "number"
		if v.Int() != 0 {
			ff.Value = strconv.FormatInt(v.Int(), 10)
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		if m.Choices != nil && m.Pick == "" && m.Input == "" {
			ff.Widget = "multi"
			var chosen []string
			for i := 0; i < v.Len(); i++ {
				chosen = append(chosen, v.Index(i).String())
			}
			for _, c := range m.Choices {
				ff.Options = append(ff.Options, optGroup{Options: []option{{Value: c, Label: c, Selected: slices.Contains(chosen, c)}}})
			}
			break
		}
		ff.Widget = "list"
		for i := 0; i < v.Len(); i++ {
			ff.Rows = append(ff.Rows, []formField{f.scalar(v.Index(i).String(), name+"."+strconv.Itoa(i), path+"["+strconv.Itoa(i)+"]", m)})
		}
		ff.BlankIndex = v.Len()
		ff.Blank = []formField{f.scalar("", name+"."+strconv.Itoa(v.Len()), "", m)}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Int:
		// A list of numbers (trunks[].ports): a list of text boxes.
		ff.Widget = "list"
		for i := 0; i < v.Len(); i++ {
			ff.Rows = append(ff.Rows, []formField{f.scalar(strconv.FormatInt(v.Index(i).Int(), 10), name+"."+strconv.Itoa(i), path+"["+strconv.Itoa(i)+"]", m)})
		}
		ff.BlankIndex = v.Len()
		ff.Blank = []formField{f.scalar("", name+"."+strconv.Itoa(v.Len()), "", m)}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		ff.Widget = "rows"
		for i := 0; i < v.Len(); i++ {
			n, p := name+"."+strconv.Itoa(i), path+"["+strconv.Itoa(i)+"]"
			row := f.structFields(v.Index(i), n, p)
			// A problem about the whole row (queues[0].agents[1]) goes on its
			// first field.
			if errs := f.take(p); len(errs) > 0 && len(row) > 0 {
				row[0].Errors = append(row[0].Errors, errs...)
			}
			ff.Rows = append(ff.Rows, row)
		}
		ff.BlankIndex = v.Len()
		ff.Blank = f.blank(reflect.New(v.Type().Elem()).Elem(), name+"."+strconv.Itoa(v.Len()))
	case v.Kind() == reflect.Map:
		ff.Widget = "map"
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sortKeys(keys)
		km, vm := metaFor(f.kind, name+".key"), metaFor(f.kind, name+".value")
		for i, k := range keys {
			p := path + "[" + strconv.Quote(k) + "]"
			kf := f.scalar(k, name+".k."+strconv.Itoa(i), "", km)
			kf.Label = "Key"
			vf := f.scalar(mapValueText(v.MapIndex(reflect.ValueOf(k))), name+".v."+strconv.Itoa(i), p, vm)
			vf.Label = orStr(vm.Label, "Value")
			ff.Rows = append(ff.Rows, []formField{kf, vf})
		}
		ff.BlankIndex = len(keys)
		kb := f.scalar("", name+".k."+strconv.Itoa(len(keys)), "", km)
		kb.Label = "Key"
		vb := f.scalar("", name+".v."+strconv.Itoa(len(keys)), "", vm)
		vb.Label = orStr(vm.Label, "Value")
		ff.Blank = []formField{kb, vb}
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct:
		ff.Widget, ff.Optional = "group", true
		ev := v
		if v.IsNil() {
			ev = reflect.New(v.Type().Elem())
		} else {
			ff.Set = true
		}
		ff.Fields = f.structFields(ev.Elem(), name, path)
	case v.Kind() == reflect.Struct:
		ff.Widget = "group"
		ff.Fields = f.structFields(v, name, path)
	default:
		ff.Widget = "text"
		ff.Value = fmt.Sprint(v.Interface())
	}
	if raw, ok := f.raw[path]; ok && path != "" {
		ff.Value = raw
	}
	return ff
}

// blank renders an empty row of a struct list: no problems, no raw values.
func (f *form) blank(v reflect.Value, name string) []formField {
	saved, savedRaw := f.problems, f.raw
	f.problems, f.raw = nil, nil
	defer func() { f.problems, f.raw = saved, savedRaw }()
	return f.structFields(v, name, "")
}

// scalar renders one string of a list or map.
func (f *form) scalar(val, name, path string, m fieldMeta) formField {
	ff := formField{Name: name, ID: "f-" + strings.NewReplacer(".", "-").Replace(name), Value: val, Input: m.Input,
		Placeholder: m.Placeholder, Label: orStr(m.Label, "Item")}
	if path != "" {
		ff.Errors = f.take(path)
	}
	switch {
	case m.Pick != "":
		ff.Widget = "pick"
		ff.Options, ff.External, ff.PickSrc, ff.ExternalOK = f.pick.field(m.Pick, val)
	case m.Choices != nil:
		ff.Widget = "select"
		ff.Options = choiceOptions(m.Choices, val)
	default:
		ff.Widget = "text"
	}
	if raw, ok := f.raw[path]; ok && path != "" {
		ff.Value = raw
	}
	return ff
}

// take returns the problems at path and marks them shown.
func (f *form) take(path string) []string {
	if path == "" || f.problems == nil {
		return nil
	}
	msgs := f.problems[path]
	if len(msgs) > 0 {
		f.used[path] = true
	}
	return msgs
}

// unshown returns the problems no field showed, for the top of the form.
func (f *form) unshown() []string {
	var out []string
	var paths []string
	for p := range f.problems {
		if !f.used[p] {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range f.problems[p] {
			if p != "" {
				m = p + ": " + m
			}
			out = append(out, m)
		}
	}
	return out
}

func choiceOptions(choices []string, val string) []optGroup {
	var g optGroup
	found := false
	for _, c := range choices {
		label := c
		if c == "" {
			label = "(default)"
		}
		g.Options = append(g.Options, option{Value: c, Label: label, Selected: c == val})
		found = found || c == val
	}
	if !found {
		g.Options = append(g.Options, option{Value: val, Label: val + " (not a known value)", Selected: true})
	}
	return []optGroup{g}
}

// sortKeys orders IVR keys as on a keypad: 1-9, 0, *, #.
func sortKeys(keys []string) {
	order := "1234567890*#"
	sort.Slice(keys, func(i, j int) bool {
		a, b := strings.Index(order, keys[i]), strings.Index(order, keys[j])
		if a < 0 {
			a = 99
		}
		if b < 0 {
			b = 99
		}
		if a != b {
			return a < b
		}
		return keys[i] < keys[j]
	})
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseProblem is a value typed into a field that could not be read.
type parseProblem struct {
	Path, Raw, Msg string
}

// parser reads form values back into a model value.
type parser struct {
	kind  string
	vals  url.Values
	probs []parseProblem
}

// parse fills v (a pointer to a struct) from the form. Secret fields left
// empty keep old's value when old is not nil.
func (p *parser) parse(v reflect.Value) {
	p.structInto(v, "", "")
}

func (p *parser) get(name string) string {
	return strings.TrimSpace(p.vals.Get(name))
}

func (p *parser) structInto(v reflect.Value, name, path string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		yn, ok := yamlName(t.Field(i))
		if !ok {
			continue
		}
		if p.kind == "system" && name == "" && yn == "version" {
			continue
		}
		p.into(v.Field(i), join(name, yn), join(path, yn))
	}
}

// indices returns the row numbers present in the form under prefix, in
// order: prefix.0..., prefix.3... -> [0 3].
func (p *parser) indices(prefix string) []int {
	seen := map[int]bool{}
	for k := range p.vals {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		head, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(head); err == nil && n >= 0 && n < 10000 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// pickValue reads a picker: the select's value, or the typed outside
// number when the select says "external".
func (p *parser) pickValue(name, pick string) string {
	v := p.get(name)
	if v == pickExternal {
		num := p.get(name + ".ext")
		if num == "" {
			return ""
		}
		if pick == "dest" {
			return "external:" + num
		}
		return num
	}
	return v
}

func (p *parser) into(v reflect.Value, name, path string) {
	m := metaFor(p.kind, name)
	switch {
	case v.Type() == durationType:
		s := p.get(name)
		if s == "" {
			v.SetInt(0)
			return
		}
		if !strings.ContainsAny(s, "hms") {
			s += "s" // "20" means 20 seconds
		}
		d, err := site.ParseDuration(s)
		if err != nil {
			p.probs = append(p.probs, parseProblem{path, p.get(name), err.Error()})
			return
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		if m.Pick != "" {
			v.SetString(p.pickValue(name, m.Pick))
			return
		}
		v.SetString(p.get(name))
	case v.Kind() == reflect.Bool:
		v.SetBool(p.get(name) != "")
	case v.Kind() == reflect.Int:
		s := p.get(name)
		if s == "" {
			v.SetInt(0)
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			p.probs = append(p.probs, parseProblem{path, s, fmt.Sprintf("%q is not a whole number", s)})
			return
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var out []string
		if m.Choices != nil && m.Pick == "" && m.Input == "" {
			for _, s := range p.vals[name] {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		} else {
			for _, i := range p.indices(name) {
				n := name + "." + strconv.Itoa(i)
				s := p.get(n)
				if m.Pick != "" {
					s = p.pickValue(n, m.Pick)
				}
				if s != "" {
					out = append(out, s)
				}
			}
		}
		v.Set(reflect.ValueOf(out).Convert(v.Type()))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Int:
		var out []int
		for _, i := range p.indices(name) {
			s := strings.TrimSpace(p.get(name + "." + strconv.Itoa(i)))
			if s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				p.probs = append(p.probs, parseProblem{path + "[" + strconv.Itoa(len(out)) + "]", s, fmt.Sprintf("%q is not a whole number", s)})
				continue
			}
			out = append(out, n)
		}
		v.Set(reflect.ValueOf(out).Convert(v.Type()))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		out := reflect.MakeSlice(v.Type(), 0, 0)
		for _, i := range p.indices(name) {
			e := reflect.New(v.Type().Elem()).Elem()
			nprobs := len(p.probs)
			p.structInto(e, name+"."+strconv.Itoa(i), path+"["+strconv.Itoa(out.Len())+"]")
			if e.IsZero() && len(p.probs) == nprobs {
				continue // an empty row: nothing typed
			}
			out = reflect.Append(out, e)
		}
		v.Set(out)
	case v.Kind() == reflect.Map:
		out := reflect.MakeMap(v.Type())
		for _, i := range p.indices(name + ".k") {
			k := p.get(name + ".k." + strconv.Itoa(i))
			val := p.pickValue(name+".v."+strconv.Itoa(i), metaFor(p.kind, name+".value").Pick)
			if k == "" && val == "" {
				continue
			}
			if k == "" {
				p.probs = append(p.probs, parseProblem{path, "", "a row has a value but no key"})
				continue
			}
			if out.MapIndex(reflect.ValueOf(k)).IsValid() {
				p.probs = append(p.probs, parseProblem{path + "[" + strconv.Quote(k) + "]", "", fmt.Sprintf("key %s is used twice", k)})
				continue
			}
			ev, err := mapValueFrom(v.Type().Elem(), val) // form_skills.go
			if err != nil {
				p.probs = append(p.probs, parseProblem{path + "[" + strconv.Quote(k) + "]", val, err.Error()})
				continue
			}
			out.SetMapIndex(reflect.ValueOf(k), ev)
		}
		if out.Len() == 0 {
			out = reflect.Zero(v.Type())
		}
		v.Set(out)
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct:
		if p.get(name+".set") == "" {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		e := reflect.New(v.Type().Elem())
		p.structInto(e.Elem(), name, path)
		v.Set(e)
	case v.Kind() == reflect.Struct:
		p.structInto(v, name, path)
	}
}

// keepSecrets copies the secrets of old into v wherever v's are empty, so
// that a form's empty password field keeps the stored one.
func keepSecrets(kind string, v, old reflect.Value, name string) {
	if !old.IsValid() {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		yn, ok := yamlName(t.Field(i))
		if !ok {
			// PasswordHash (yaml "-") travels with the user.
			if t.Field(i).IsExported() && t.Field(i).Type.Kind() == reflect.String && v.Field(i).String() == "" {
				v.Field(i).SetString(old.Field(i).String())
			}
			continue
		}
		n := join(name, yn)
		fv, ov := v.Field(i), old.Field(i)
		switch {
		case fv.Kind() == reflect.String && metaFor(kind, n).Secret && fv.String() == "":
			fv.SetString(ov.String())
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct && !fv.IsNil() && !ov.IsNil():
			keepSecrets(kind, fv.Elem(), ov.Elem(), n)
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			keepSecrets(kind, fv, ov, n)
		}
	}
}

// valueString is how a list page shows a field's value.
func valueString(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		if v.Int() == 0 {
			return ""
		}
		return site.Duration(v.Int()).String()
	case v.Kind() == reflect.String:
		return v.String()
	case v.Kind() == reflect.Bool:
		if v.Bool() {
			return "yes"
		}
		return ""
	case v.Kind() == reflect.Int:
		if v.Int() == 0 {
			return ""
		}
		return strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Slice:
		var parts []string
		for i := 0; i < v.Len() && i < 8; i++ {
			parts = append(parts, valueString(v.Index(i)))
		}
		if v.Len() > 8 {
			parts = append(parts, fmt.Sprintf("+%d more", v.Len()-8))
		}
		return strings.Join(parts, ", ")
	case v.Kind() == reflect.Map:
		return fmt.Sprintf("%d", v.Len())
	case v.Kind() == reflect.Struct:
		if qa, ok := v.Interface().(site.QueueAgent); ok {
			if qa.Level > 1 {
				return fmt.Sprintf("%s (level %d)", qa.Agent, qa.Level)
			}
			return qa.Agent
		}
		if r, ok := v.Interface().(site.Range); ok {
			return r.Days + " " + r.From + "-" + r.To
		}
		if s, ok := v.Interface().(site.Stage); ok {
			return strings.Join(s.Ring, "+") + " " + s.For.String()
		}
	}
	return ""
}
