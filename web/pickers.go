package web

import (
	"slices"
	"strings"

	"ringbox/firmware/site"
)

// pickExternal is the picker value that means "the outside number typed
// next to it".
const pickExternal = "external"

// pickers lists what exists in a site, for the console's destination,
// member, prompt and other pickers: the installer picks, never types a
// reference.
type pickers struct {
	s *site.Site
	// full caches each kind's choices; compact names the kinds a page
	// sends once as data (big lists) instead of in every select.
	full    map[string][]optGroup
	compact map[string]bool
}

// pickInline is how many choices a picker may list in its own <select>.
// Beyond it (a site with hundreds of extensions), the choices go once in
// the page as data and console.js fills a select when it is used, so a
// form with many pickers stays small.
const pickInline = 150

// field returns the choices of a picker field with val selected: all of
// them, or for a big list only the selected one (with src set to the data
// block the page carries), and whether "outside number" is among them.
func (p *pickers) field(kind, val string) (groups []optGroup, external, src string, externalOK bool) {
	if p.full == nil {
		p.full = map[string][]optGroup{}
		p.compact = map[string]bool{}
	}
	all, ok := p.full[kind]
	if !ok {
		all, _ = p.options(kind, "")
		p.full[kind] = all
	}
	n := 0
	for _, g := range all {
		n += len(g.Options)
		for _, o := range g.Options {
			externalOK = externalOK || o.Value == pickExternal
		}
	}
	if n <= pickInline {
		groups, external = p.options(kind, val)
		return groups, external, "", externalOK
	}
	p.compact[kind] = true
	groups, external = p.options(kind, val)
	// Keep only what is selected; the rest comes from the data block.
	var sel []optGroup
	for _, g := range groups {
		for _, o := range g.Options {
			if o.Selected {
				sel = append(sel, optGroup{Options: []option{o}})
			}
		}
	}
	if len(sel) == 0 {
		sel = []optGroup{{Options: []option{{Value: "", Label: "(none)", Selected: true}}}}
	}
	return sel, external, kind, externalOK
}

// pickBlock is a big picker's choices, sent once per page.
type pickBlock struct {
	ID     string
	Groups []pickGroup
}

// pickGroup is one optgroup: each option's value is Prefix+entry[0], its
// label entry[1].
type pickGroup struct {
	Label   string      `json:"l"`
	Prefix  string      `json:"p"`
	Options [][2]string `json:"o"`
}

// blocks returns the data of the pickers a page drew compactly.
func (p *pickers) blocks() []pickBlock {
	var out []pickBlock
	for kind := range p.compact {
		b := pickBlock{ID: kind}
		for _, g := range p.full[kind] {
			pg := pickGroup{Label: g.Label}
			if len(g.Options) > 1 {
				if i := strings.IndexByte(g.Options[0].Value, ':'); i > 0 {
					pre := g.Options[0].Value[:i+1]
					all := true
					for _, o := range g.Options {
						all = all && strings.HasPrefix(o.Value, pre)
					}
					if all {
						pg.Prefix = pre
					}
				}
			}
			for _, o := range g.Options {
				pg.Options = append(pg.Options, [2]string{strings.TrimPrefix(o.Value, pg.Prefix), o.Label})
			}
			b.Groups = append(b.Groups, pg)
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b pickBlock) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// options returns the choices of picker kind with val selected, and the
// outside number when val is one. A value that names nothing that exists
// stays selectable, marked, so a form never loses what it held.
func (p *pickers) options(kind, val string) ([]optGroup, string) {
	var groups []optGroup
	add := func(label string, opts ...option) {
		if len(opts) > 0 {
			groups = append(groups, optGroup{Label: label, Options: opts})
		}
	}
	s := p.s
	var external string
	switch kind {
	case "dest":
		add("", option{Value: "", Label: "(none)"})
		add("IVRs", each(s.IVRs, func(x site.IVR) option { return option{"ivr:" + x.ID, named(x.ID, x.Name), false} })...)
		add("Ring groups", each(s.RingGroups, func(x site.RingGroup) option { return option{"ringgroup:" + x.ID, named(x.ID, x.Name), false} })...)
		add("Hunt groups", each(s.HuntGroups, func(x site.HuntGroup) option { return option{"hunt:" + x.ID, named(x.ID, x.Name), false} })...)
		add("Queues", each(s.Queues, func(x site.Queue) option { return option{"queue:" + x.ID, named(x.ID, x.Name), false} })...)
		add("Announcements", each(s.Announcements, func(x site.Announcement) option { return option{"announce:" + x.ID, x.ID, false} })...)
		add("Extensions", each(s.Extensions, func(x site.Extension) option { return option{"extension:" + x.Number, named(x.Number, x.Name), false} })...)
		// A closed select shows only the label: say what kind of
		// destination an agent or a mailbox is, next to the extension of
		// the same number or name.
		add("Agents", each(s.Agents, func(x site.Agent) option { return option{"agent:" + x.ID, "Agent " + named(x.ID, x.Name), false} })...)
		var boxes []option
		for _, x := range s.Extensions {
			if x.Voicemail {
				boxes = append(boxes, option{"voicemail:" + x.Number, "Voicemail " + named(x.Number, x.Name), false})
			}
		}
		boxes = append(boxes, each(s.Voicemail, func(x site.Mailbox) option {
			return option{"voicemail:" + x.Box, "Voicemail " + named(x.Box, x.Name), false}
		})...)
		add("Voicemail", boxes...)
		add("Other", option{pickExternal, "Outside number…", false}, option{"disa", "DISA (dial out with a PIN)", false}, option{"hangup", "Hang up", false},
			option{"busy", "Busy (refuse the call)", false}, option{"reject", "Decline (refuse the call)", false})
		if n, ok := strings.CutPrefix(val, "external:"); ok {
			external, val = n, pickExternal
		}
	case "member":
		add("", option{Value: "", Label: "(none)"})
		add("Extensions", each(s.Extensions, func(x site.Extension) option { return option{"ext:" + x.Number, named(x.Number, x.Name), false} })...)
		add("Agents", each(s.Agents, func(x site.Agent) option { return option{x.ID, named(x.ID, x.Name), false} })...)
		add("Analog phones", each(s.Lines, func(x site.Line) option { return option{x.Port, x.Port + " (" + x.Extension + ")", false} })...)
		add("Other", option{pickExternal, "Outside number…", false})
		if val != "" && isNumber(val) {
			external, val = val, pickExternal
		}
	case "prompt":
		add("", option{Value: "", Label: "(none)"})
		add("Uploaded", each(s.Prompts, func(x site.Prompt) option { return option{x.ID, x.ID, false} })...)
		var builtin []option
		for _, id := range site.BuiltinPrompts {
			if !slices.ContainsFunc(s.Prompts, func(x site.Prompt) bool { return x.ID == id }) {
				builtin = append(builtin, option{id, id, false})
			}
		}
		add("Built in", builtin...)
	case "music":
		add("", option{Value: "", Label: "(default)"})
		add("Classes", each(s.HoldMusic, func(x site.HoldMusic) option { return option{x.ID, x.ID, false} })...)
		if !slices.ContainsFunc(s.HoldMusic, func(x site.HoldMusic) bool { return x.ID == site.DefaultHoldMusic }) {
			add("Built in", option{site.DefaultHoldMusic, site.DefaultHoldMusic, false})
		}
	case "agent":
		add("", option{Value: "", Label: "(none)"})
		add("Agents", each(s.Agents, func(x site.Agent) option { return option{x.ID, named(x.ID, x.Name), false} })...)
	case "extension":
		add("", option{Value: "", Label: "(none)"})
		add("Extensions", each(s.Extensions, func(x site.Extension) option { return option{x.Number, named(x.Number, x.Name), false} })...)
	case "trunk":
		add("", option{Value: "", Label: "(none)"})
		add("Trunks", each(s.Trunks, func(x site.Trunk) option { return option{x.ID, x.ID, false} })...)
	case "schedule":
		add("", option{Value: "", Label: "(always)"})
		add("Schedules", each(s.Schedules, func(x site.Schedule) option { return option{x.ID, named(x.ID, x.Name), false} })...)
	case "key":
		var keys []option
		for _, k := range strings.Split("1 2 3 4 5 6 7 8 9 0 * #", " ") {
			keys = append(keys, option{k, k, false})
		}
		add("", append([]option{{"", "(none)", false}}, keys...)...)
	}
	found := false
	for gi := range groups {
		for oi := range groups[gi].Options {
			if groups[gi].Options[oi].Value == val {
				groups[gi].Options[oi].Selected = true
				found = true
			}
		}
	}
	if !found && val != "" {
		groups = append(groups, optGroup{Label: "Missing", Options: []option{{val, val + " (does not exist)", true}}})
	}
	return groups, external
}

func each[T any](xs []T, f func(T) option) []option {
	out := make([]option, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func named(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return id + " · " + name
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// destLabel names a destination for pictures and lists: "Queue Sales
// (queue:sales)".
func destLabel(s *site.Site, d string) string {
	if d == "" {
		return "hang up"
	}
	kind, id, _ := strings.Cut(d, ":")
	name := ""
	switch kind {
	case site.DestIVR:
		if i := slices.IndexFunc(s.IVRs, func(x site.IVR) bool { return x.ID == id }); i >= 0 {
			name = s.IVRs[i].Name
		}
	case site.DestQueue:
		if i := slices.IndexFunc(s.Queues, func(x site.Queue) bool { return x.ID == id }); i >= 0 {
			name = s.Queues[i].Name
		}
	case site.DestRingGroup:
		if i := slices.IndexFunc(s.RingGroups, func(x site.RingGroup) bool { return x.ID == id }); i >= 0 {
			name = s.RingGroups[i].Name
		}
	case site.DestExtension:
		if i := slices.IndexFunc(s.Extensions, func(x site.Extension) bool { return x.Number == id }); i >= 0 {
			name = s.Extensions[i].Name
		}
	case site.DestHangup:
		return "hang up"
	}
	if name != "" {
		return name + " (" + d + ")"
	}
	return d
}
