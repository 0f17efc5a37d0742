package changeset

import (
	"reflect"
	"slices"
	"testing"

	"ringbox/firmware/site"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name           string
		draft, current func(s *site.Site)
		check          func(t *testing.T, m *site.Site) // when there are no conflicts
		conflicts      []Conflict
	}{
		{
			name:    "draft untouched takes current",
			draft:   func(s *site.Site) {},
			current: func(s *site.Site) { s.Extensions[0].Name = "Robert"; s.Trunks = nil },
			check: func(t *testing.T, m *site.Site) {
				if m.Extensions[0].Name != "Robert" || len(m.Trunks) != 0 {
					t.Errorf("merged extension %+v, trunks %v; want current's", m.Extensions[0], m.Trunks)
				}
			},
		},
		{
			name: "disjoint edits merge",
			draft: func(s *site.Site) {
				s.Extensions[0].Name = "Robert"
				s.Extensions = slices.Insert(s.Extensions, 1, site.Extension{Number: "205"})
				s.Agents = s.Agents[:1] // removes sue
				s.IVRs[0].Options["3"] = "voicemail:800"
			},
			current: func(s *site.Site) {
				s.Extensions[1].Name = "Susan"
				s.Extensions = append(s.Extensions, site.Extension{Number: "206"})
				s.Prompts = append(s.Prompts, site.Prompt{ID: "new", File: "new.wav"})
			},
			check: func(t *testing.T, m *site.Site) {
				if got := Keys(m, "extensions"); !slices.Equal(got, []string{"201", "205", "202", "203", "206"}) {
					t.Errorf("extensions %v, want 201 205 202 203 206", got)
				}
				if m.Extensions[0].Name != "Robert" || m.Extensions[2].Name != "Susan" {
					t.Errorf("names %q %q, want Robert Susan", m.Extensions[0].Name, m.Extensions[2].Name)
				}
				if got := Keys(m, "agents"); !slices.Equal(got, []string{"bob"}) {
					t.Errorf("agents %v, want bob", got)
				}
				if m.IVRs[0].Options["3"] != "voicemail:800" || len(m.Prompts) != 3 {
					t.Errorf("ivr options %v, prompts %v", m.IVRs[0].Options, m.Prompts)
				}
			},
		},
		{
			name:      "same object changed on both sides",
			draft:     func(s *site.Site) { s.Extensions[0].Name = "Robert"; s.Agents[1].Name = "Susan" },
			current:   func(s *site.Site) { s.Extensions[0].Name = "Rob"; s.Agents[1].Name = "Susan" },
			conflicts: []Conflict{{"extensions", "201", msgBothChanged}},
		},
		{
			name:    "same change on both sides",
			draft:   func(s *site.Site) { s.Extensions[0].Name = "Robert" },
			current: func(s *site.Site) { s.Extensions[0].Name = "Robert" },
			check: func(t *testing.T, m *site.Site) {
				if m.Extensions[0].Name != "Robert" {
					t.Errorf("name %q, want Robert", m.Extensions[0].Name)
				}
			},
		},
		{
			name:    "both deleted",
			draft:   func(s *site.Site) { s.Extensions = s.Extensions[1:] },
			current: func(s *site.Site) { s.Extensions = s.Extensions[1:] },
			check: func(t *testing.T, m *site.Site) {
				if got := Keys(m, "extensions"); !slices.Equal(got, []string{"202", "203"}) {
					t.Errorf("extensions %v, want 202 203", got)
				}
			},
		},
		{
			name:      "deleted in the draft, changed since",
			draft:     func(s *site.Site) { s.Trunks = nil },
			current:   func(s *site.Site) { s.Trunks[0].Host = "sip2.ovh.net" },
			conflicts: []Conflict{{"trunks", "ovh", msgDraftRemoved}},
		},
		{
			name:      "changed in the draft, deleted since",
			draft:     func(s *site.Site) { s.Trunks[0].Host = "sip2.ovh.net" },
			current:   func(s *site.Site) { s.Trunks = nil },
			conflicts: []Conflict{{"trunks", "ovh", msgOtherRemoved}},
		},
		{
			name: "draft adds while current adds another",
			draft: func(s *site.Site) {
				s.Extensions = slices.Insert(s.Extensions, 0, site.Extension{Number: "200", Name: "Top"})
			},
			current: func(s *site.Site) { s.Extensions = append(s.Extensions, site.Extension{Number: "299"}) },
			check: func(t *testing.T, m *site.Site) {
				if got := Keys(m, "extensions"); !slices.Equal(got, []string{"200", "201", "202", "203", "299"}) {
					t.Errorf("extensions %v, want 200 201 202 203 299", got)
				}
			},
		},
		{
			name:      "both add the same key differently",
			draft:     func(s *site.Site) { s.Extensions = append(s.Extensions, site.Extension{Number: "299", Name: "A"}) },
			current:   func(s *site.Site) { s.Extensions = append(s.Extensions, site.Extension{Number: "299", Name: "B"}) },
			conflicts: []Conflict{{"extensions", "299", msgBothAdded}},
		},
		{
			name: "routes reordered on both sides",
			draft: func(s *site.Site) {
				s.Outbound = []site.OutboundRoute{s.Outbound[2], s.Outbound[0], s.Outbound[1]}
			},
			current: func(s *site.Site) {
				s.Outbound = []site.OutboundRoute{s.Outbound[0], s.Outbound[2], s.Outbound[1]}
			},
			conflicts: []Conflict{{"outbound", "", "Outbound routes " + msgOrderedPrefix}},
		},
		{
			name:      "different routes changed on both sides",
			draft:     func(s *site.Site) { s.Inbound[0].To = "extension:202" },
			current:   func(s *site.Site) { s.Inbound[2].To = "extension:203" },
			conflicts: []Conflict{{"inbound", "", "Inbound routes " + msgOrderedPrefix}},
		},
		{
			name:    "routes reordered in the draft, other kinds changed since",
			draft:   func(s *site.Site) { s.Outbound = []site.OutboundRoute{s.Outbound[2], s.Outbound[0], s.Outbound[1]} },
			current: func(s *site.Site) { s.Inbound[0].To = "extension:202" },
			check: func(t *testing.T, m *site.Site) {
				if got := Keys(m, "outbound"); !slices.Equal(got, []string{"00.", "112", "0[1-9]XXXXXXXX"}) {
					t.Errorf("outbound %v, want the draft's order", got)
				}
				if m.Inbound[0].To != "extension:202" {
					t.Errorf("inbound[0].to %q, want current's", m.Inbound[0].To)
				}
			},
		},
		{
			name:      "system is one object",
			draft:     func(s *site.Site) { s.System.Name = "Acme Ltd" },
			current:   func(s *site.Site) { s.System.Timezone = "UTC" },
			conflicts: []Conflict{{"system", "system", msgBothChanged}},
		},
		{
			name:    "nil and empty are no change",
			draft:   func(s *site.Site) { s.Agents[1].Hours = []site.Range{}; s.Queues[0].Agents[0].Level = 1 },
			current: func(s *site.Site) { s.Agents[1].Name = "Susan" },
			check: func(t *testing.T, m *site.Site) {
				if m.Agents[1].Name != "Susan" {
					t.Errorf("agent sue %+v, want current's", m.Agents[1])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, draft, current := testSite(), testSite(), testSite()
			tt.draft(draft)
			tt.current(current)
			keep := []*site.Site{Clone(base), Clone(draft), Clone(current)}
			m, conflicts := Merge(base, draft, current)
			for i, s := range []*site.Site{base, draft, current} {
				if !reflect.DeepEqual(s, keep[i]) {
					t.Errorf("Merge changed input %d", i)
				}
			}
			if !reflect.DeepEqual(conflicts, tt.conflicts) {
				t.Fatalf("conflicts = %+v, want %+v", conflicts, tt.conflicts)
			}
			if len(conflicts) > 0 {
				if m != nil {
					t.Error("a merge with conflicts returned a site")
				}
				return
			}
			tt.check(t, m)
		})
	}
}

// TestMergeSharesNothing edits the merged site and checks no input sees it.
func TestMergeSharesNothing(t *testing.T) {
	base, draft, current := testSite(), testSite(), testSite()
	draft.Queues[0].Name = "Help desk"
	m, conflicts := Merge(base, draft, current)
	if conflicts != nil {
		t.Fatal(conflicts)
	}
	m.Queues[0].Agents[0].Agent = "x"
	m.IVRs[0].Options["1"] = "x"
	m.System.SMTP.Host = "x"
	m.Outbound[0].Trunks[0] = "x"
	for i, s := range []*site.Site{base, draft, current} {
		if s.Queues[0].Agents[0].Agent != "bob" || s.IVRs[0].Options["1"] != "ring_group:sales" ||
			s.System.SMTP.Host != "mail:25" || s.Outbound[0].Trunks[0] != "ovh" {
			t.Errorf("editing the merged site changed input %d", i)
		}
	}
}

func TestClone(t *testing.T) {
	s := testSite()
	c := Clone(s)
	if !reflect.DeepEqual(s, c) {
		t.Fatal("clone differs from the original")
	}
	if c.Trunks[0].Password != "trunk-pass" || c.Users[0].PasswordHash != "$2a$hash" {
		t.Error("clone lost secrets")
	}
	c.Extensions[0].Name = "x"
	c.Agents[0].Hours[0].From = "x"
	c.RingGroups[0].Stages[0].Ring[0] = "x"
	c.Queues[0].Agents[1].Level = 9
	c.IVRs[0].Options["1"] = "x"
	c.System.SMTP.Password = "x"
	c.HoldMusic[0].Files = append(c.HoldMusic[0].Files[:1], "x")
	if !reflect.DeepEqual(s, testSite()) {
		t.Error("editing the clone changed the original")
	}
	if c := Clone(&site.Site{}); c.Extensions != nil || c.System.SMTP != nil {
		t.Error("clone of an empty site is not empty")
	}
	if Clone(nil) != nil {
		t.Error("Clone(nil) is not nil")
	}
}
