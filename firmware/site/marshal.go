package site

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// header starts every exported file. It carries no date, so that exporting
// the same site twice gives the same bytes.
const header = "# Ringbox site file: see docs/site-file.md for every field.\n"

// Marshal writes s as a site file, in the order and shape of SITE.md: the
// model's field order, short lists and small objects in flow style. Secrets
// (extension secrets, trunk passwords and inbound_auth passwords, agent and mailbox PINs (extension
// voicemail_pin too), the SMTP
// password) are written only when withSecrets is true; user passwords and
// password hashes never are. The output is deterministic.
func Marshal(s *Site, withSecrets bool) ([]byte, error) {
	c := exportCopy(s, withSecrets)
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return nil, fmt.Errorf("encode site: %w", err)
	}
	styleNode(&n, "", false, 0)
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("write site: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write site: %w", err)
	}
	return buf.Bytes(), nil
}

// exportCopy copies the parts of s that Marshal changes, so s is untouched.
func exportCopy(s *Site, withSecrets bool) *Site {
	c := *s
	c.Users = slices.Clone(s.Users)
	for i := range c.Users {
		c.Users[i].Password = ""
		c.Users[i].PasswordHash = ""
	}
	if withSecrets {
		return &c
	}
	c.Extensions = slices.Clone(s.Extensions)
	for i := range c.Extensions {
		c.Extensions[i].Secret = ""
		c.Extensions[i].DISAPIN = ""
		c.Extensions[i].VoicemailPIN = ""
	}
	c.Agents = slices.Clone(s.Agents)
	for i := range c.Agents {
		c.Agents[i].PIN = ""
	}
	c.Voicemail = slices.Clone(s.Voicemail)
	for i := range c.Voicemail {
		c.Voicemail[i].PIN = ""
	}
	c.Trunks = slices.Clone(s.Trunks)
	for i := range c.Trunks {
		c.Trunks[i].Password = ""
		if a := c.Trunks[i].InboundAuth; a != nil {
			c.Trunks[i].InboundAuth = &InboundAuth{Username: a.Username}
		}
	}
	if s.System.SMTP != nil {
		m := *s.System.SMTP
		m.Password = ""
		c.System.SMTP = &m
	}
	return &c
}

// flowItems are the lists whose items are written one per line as flow
// maps, as SITE.md writes them.
var flowItems = map[string]bool{
	"hours": true, "open": true, "stages": true, "outbound": true,
	"lines": true, "prompts": true, "hold_music": true, "users": true,
	"skill_widening": true, "callers": true, "caller_lists": true, // skills.go
}

// styleNode sets the presentation of n, the value of field key (for a list
// item: the key of the list); item says n is an item of that list, and depth
// counts the mappings above n (top-level fields have depth 1).
func styleNode(n *yaml.Node, key string, item bool, depth int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			styleNode(c, "", false, 0)
		}
	case yaml.SequenceNode:
		if key == "agents" && depth > 1 {
			n.Style = yaml.FlowStyle // a queue's [bob, {agent: sue, level: 2}]
		}
		for _, c := range n.Content {
			styleNode(c, key, true, depth)
			if key == "holidays" && c.Kind == yaml.ScalarNode {
				// Dates and times stay quoted, as YAML 1.1 tools would
				// otherwise read them as dates or sexagesimal numbers.
				c.Style = yaml.DoubleQuotedStyle
			}
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" && needsQuotes(n.Value) {
			// Plain and flow styles lose line breaks and edge spaces.
			n.Style = yaml.DoubleQuotedStyle
		}
	case yaml.MappingNode:
		isRange := item && (key == "hours" || key == "open")
		switch {
		case item && flowItems[key]:
			n.Style = yaml.FlowStyle
		case item && key == "inbound" && len(n.Content) <= 4:
			n.Style = yaml.FlowStyle // {match: ..., to: ...}
		case !item && key == "comfort":
			n.Style = yaml.FlowStyle
		case !item && (key == "match_header" || key == "inbound_auth"): // trunkid.go
			n.Style = yaml.FlowStyle
		case !item && key == "options" && len(n.Content) <= 8:
			n.Style = yaml.FlowStyle
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			styleNode(val, k.Value, false, depth+1)
			if isRange && (k.Value == "from" || k.Value == "to") && val.Kind == yaml.ScalarNode {
				val.Style = yaml.DoubleQuotedStyle
			}
		}
	}
}

// needsQuotes reports whether only a double-quoted scalar keeps s intact.
func needsQuotes(s string) bool {
	return strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) })
}

// Equal reports whether a and b write the same site file (with secrets):
// the same objects and values, whatever the spelling in YAML (a queue agent
// at level 1 and one without a level, an empty list and no list). User
// passwords are not compared, as Marshal never writes them.
func Equal(a, b *Site) bool {
	x, err := Marshal(a, true)
	if err != nil {
		return false
	}
	y, err := Marshal(b, true)
	return err == nil && bytes.Equal(x, y)
}

// MarshalYAML writes d like "20s" or "1m30s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration like "20s"; Parse uses its own decoder but
// this lets other code read a Duration with yaml.Unmarshal.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: must be a duration like 20s or 1m30s", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML writes a first-level agent as its id, and any other as
// {agent: ID, level: N}.
func (a QueueAgent) MarshalYAML() (any, error) {
	if a.Level <= 1 {
		return a.Agent, nil
	}
	var n yaml.Node
	if err := n.Encode(queueAgentYAML(a)); err != nil {
		return nil, err
	}
	n.Style = yaml.FlowStyle
	return &n, nil
}

// UnmarshalYAML reads either an agent id or {agent: ID, level: N}.
func (a *QueueAgent) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*a = QueueAgent{Agent: n.Value}
		return nil
	case yaml.MappingNode:
		var q queueAgentYAML
		if err := n.Decode(&q); err != nil {
			return err
		}
		*a = QueueAgent(q)
		return nil
	}
	return fmt.Errorf("line %d: a queue agent is an agent id or {agent: ID, level: N}", n.Line)
}
