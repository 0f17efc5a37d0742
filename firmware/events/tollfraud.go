package events

// Security (package dialplan through the flow).

// TollFraudAlert: something about outside calls an administrator should
// hear of (docs/security.md, "Toll fraud"): a burst of international
// attempts from one extension, an international call outside
// system.international_hours, or an extension or trunk at its limit.
type TollFraudAlert struct {
	Kind      string `json:"kind"` // international_burst | after_hours | limit
	Extension string `json:"extension,omitempty"`
	Trunk     string `json:"trunk,omitempty"`
	Number    string `json:"number"` // the number sent, or that would have been
	Class     string `json:"class"`  // its class: emergency, local, national, mobile, international, premium, unknown
	Count     int    `json:"count,omitempty"`
	Detail    string `json:"detail"`
}

func (TollFraudAlert) Type() string { return "security.toll_fraud" }
