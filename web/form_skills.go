package web

// Form fields of skills and routing by the caller (docs/site-file.md,
// "Skills" and "Routing by the caller"): skill levels are maps of numbers,
// an IVR's option_skills a map of such maps, written in one box as
// "fr=3, en=2".

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

var skillMetas = map[string]fieldMeta{
	"agents.skills":               {Help: "What the agent is good at, each with a level from 1 to 10 (skill name, level)."},
	"agents.skills.value":         {Label: "Level", Placeholder: "5"},
	"queues.skills":               {Help: "The minimum levels a call needs when it brings none of its own."},
	"queues.skills.value":         {Label: "Minimum level", Placeholder: "3"},
	"queues.skill_widening":       {Label: "Skill widening", Help: "From each wait on, lower the needed levels (drop levels) or let any agent take the call."},
	"queues.skill_widening.after": {Placeholder: "30s"},
	"ivrs.option_skills":          {Label: "Skills per option", Help: "The skills a call needs once the caller pressed the key, like fr=3, en=2."},
	"ivrs.option_skills.key":      {Pick: "key"},
	"ivrs.option_skills.value":    {Label: "Skills", Placeholder: "fr=3, en=2"},
	"ivrs.callers":                {Help: "Callers whose number matches go straight to their destination, without the menu."},
	"ivrs.callers.caller":         {Placeholder: "list:vip or +3361."},
	"ivrs.callers.to":             {Label: "Goes to", Pick: "dest"},
	"inbound.caller":              {Help: "Only callers whose number matches: a pattern like +3361. or list:ID. Such routes are tried first; match may then be left empty (any number called)."},
	"inbound.skills":              {Help: "The minimum skill levels the call needs in the queue it reaches."},
	"inbound.skills.value":        {Label: "Minimum level", Placeholder: "3"},
	"caller_lists.id":             {Label: "ID", Help: "Routes name the list as list:ID."},
	"caller_lists.numbers":        {Help: "Numbers like +33612345678, or patterns like +3361. (every number it starts)."},
}

func init() { maps.Copy(fieldMetas, skillMetas) }

// mapValueText is a map value as its form box shows it.
func mapValueText(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Map:
		var parts []string
		for _, k := range v.MapKeys() {
			parts = append(parts, k.String()+"="+mapValueText(v.MapIndex(k)))
		}
		slices.Sort(parts)
		return strings.Join(parts, ", ")
	}
	return v.String()
}

// mapValueFrom reads a map value of type t from its form box.
func mapValueFrom(t reflect.Type, s string) (reflect.Value, error) {
	switch t.Kind() {
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a whole number", s)
		}
		return reflect.ValueOf(n).Convert(t), nil
	case reflect.Map:
		m := reflect.MakeMap(t)
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			k, val, ok := strings.Cut(part, "=")
			if !ok {
				return reflect.Value{}, fmt.Errorf("%q: write name=level, like fr=3", part)
			}
			ev, err := mapValueFrom(t.Elem(), val)
			if err != nil {
				return reflect.Value{}, err
			}
			m.SetMapIndex(reflect.ValueOf(strings.TrimSpace(k)), ev)
		}
		return m, nil
	}
	return reflect.ValueOf(s).Convert(t), nil
}
