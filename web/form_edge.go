package web

import "maps"

// edgeFieldMetas are the form hints of the SIP edge's fields
// (docs/security.md, The SIP edge), kept apart from fieldMetas.
var edgeFieldMetas = map[string]fieldMeta{
	"extensions.allow":      {Label: "Allowed networks", Placeholder: "192.168.1.0/24, 10.8.0.7", Help: "Where this extension may register and call from (CIDR networks or addresses). The right password from anywhere else is refused like a wrong one. Empty: anywhere."},
	"system.sip_user_agent": {Label: "SIP User-Agent", Placeholder: "Ringbox", Help: "The box's User-Agent and Server header. The default names no version. Applies at the next start."},
}

func init() { maps.Copy(fieldMetas, edgeFieldMetas) }
