package web

import "maps"

// tollFraudFieldMetas are the form hints of the toll-fraud fields
// (docs/security.md), kept apart from fieldMetas.
var tollFraudFieldMetas = map[string]fieldMeta{
	"extensions.max_outside_calls":      {Label: "Outside calls at once", Placeholder: "4", Help: "Toll fraud: at most this many outside calls at once (empty: 4). Emergency calls are never limited."},
	"extensions.outside_calls_per_hour": {Label: "Outside calls per hour", Placeholder: "60", Help: "Toll fraud: at most this many outside calls started in any hour (empty: 60)."},
	"system.international_hours":        {Label: "International calls only during", Pick: "schedule", Help: "International and premium calls are refused while this schedule is closed. Empty: at any time."},
	"system.alert_email":                {Label: "Toll-fraud alerts to", Input: "email", Help: "Mailed through the e-mail relay: bursts of international calls, calls at night, limits reached."},
	"trunks.max_outbound_calls":         {Label: "Outbound calls at once", Placeholder: "0", Help: "At most this many outbound calls through this trunk; the next trunk of the route takes the rest. Empty: no limit."},
	"trunks.outbound_per_hour":          {Label: "Outbound calls per hour", Placeholder: "0", Help: "At most this many outbound calls started per hour. Empty: no limit."},
}

func init() { maps.Copy(fieldMetas, tollFraudFieldMetas) }
