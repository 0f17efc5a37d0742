package web

import "maps"

// trunkIDFieldMetas are the form hints of the trunk identification fields
// and inbound caps (docs/security.md "Trunks"), kept apart from fieldMetas.
var trunkIDFieldMetas = map[string]fieldMeta{
	"trunks.ports":                 {Label: "Source ports", Help: "The ports the carrier's calls come from at the host's address; calls from other ports there are phones. Empty: the host's port, and others unless a phone registered from them."},
	"trunks.allow":                 {Label: "More source addresses", Help: "Addresses or networks (CIDR) the carrier's calls may also come from, from any port."},
	"trunks.match_header.name":     {Label: "Header name", Help: "A header the carrier's INVITEs carry, like X-Carrier-Id; calls without it are phones."},
	"trunks.match_header.value":    {Label: "Header value"},
	"trunks.inbound_auth.username": {Label: "Inbound username", Help: "The box challenges the carrier's INVITEs; it answers with these credentials."},
	"trunks.inbound_auth.password": {Label: "Inbound password", Secret: true, Help: "Leave empty to keep the current one."},
	"trunks.max_inbound_setup":     {Label: "Inbound calls in set-up", Placeholder: "30", Help: "At most this many calls from this trunk ringing or being answered at once. Empty: 30."},
	"trunks.max_inbound_calls":     {Label: "Inbound calls at once", Placeholder: "200", Help: "At most this many calls from this trunk at once. Empty: 200."},
	"system.max_setup_per_source":  {Label: "Calls in set-up per address", Placeholder: "10", Help: "At most this many calls from one address (not a trunk's) ringing or being answered at once. Empty: 10."},
	"system.max_calls_per_source":  {Label: "Calls at once per address", Placeholder: "50", Help: "At most this many calls from one address (not a trunk's) at once. Empty: 50."},
}

func init() { maps.Copy(fieldMetas, trunkIDFieldMetas) }
