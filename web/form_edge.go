package web

import "maps"

// edgeFieldMetas are the form hints of the SIP edge's fields
// (docs/security.md, The SIP edge), kept apart from fieldMetas.
var edgeFieldMetas = map[string]fieldMeta{
	"extensions.allow":        {Label: "Allowed networks", Placeholder: "192.168.1.0/24, 10.8.0.7", Help: "Where this extension may register and call from (CIDR networks or addresses). The right password from anywhere else is refused like a wrong one. Empty: anywhere."},
	"system.sip_ban_failures": {Label: "Ban after failed logins", Placeholder: "5", Help: "Failed SIP authentications within the window that ban the address and the extension guessed (2-100)."},
	"system.sip_ban_window":   {Label: "Failed-login window", Placeholder: "10m", Help: "How long failed authentications are counted together (1m-24h)."},
	"system.sip_ban_time":     {Label: "Ban length", Placeholder: "1h", Help: "A first ban; each repeat within a day doubles it, up to 7 days (1m-168h)."},
	"system.sip_trusted":      {Label: "Trusted networks", Placeholder: "192.168.1.0/24", Help: "Never rate-limited or banned: the office LAN, so one phone with a stale password cannot lock out everyone behind the same address. Guessing from here is not stopped."},
	"system.media_timeout":    {Label: "Media timeout", Placeholder: "60s", Help: "End an answered call after this long without audio from one side (a phone or carrier gone without hanging up). Held calls are excluded (10s-1h)."},
	"trunks.srtp":             {Label: "SRTP (TLS trunks)", Choices: []string{"", "sdes", "off"}, Help: "sdes (the default): encrypted audio keyed in the SDP. off: plain audio under TLS signalling, for carriers that encrypt signalling only. Only with transport tls."},
	"system.sip_user_agent":   {Label: "SIP User-Agent", Placeholder: "Ringbox", Help: "The box's User-Agent and Server header. The default names no version. Applies at once."},
}

func init() { maps.Copy(fieldMetas, edgeFieldMetas) }
