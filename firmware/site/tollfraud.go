package site

// Toll-fraud fields (docs/security.md): limits on outside calls, the hours
// international calls may be made, and where alerts go.

// Default toll-fraud limits of an extension.
const (
	DefaultMaxOutsideCalls     = 4
	DefaultOutsideCallsPerHour = 60
)

// OutsideLimits are the extension's limits on calls to outside numbers:
// at once and per rolling hour.
func (e *Extension) OutsideLimits() (concurrent, perHour int) {
	concurrent, perHour = e.MaxOutsideCalls, e.OutsideCallsPerHour
	if concurrent == 0 {
		concurrent = DefaultMaxOutsideCalls
	}
	if perHour == 0 {
		perHour = DefaultOutsideCallsPerHour
	}
	return concurrent, perHour
}

func (v *validator) tollFraud() {
	for i, e := range v.s.Extensions {
		p := indexPath("extensions", i)
		if e.MaxOutsideCalls < 0 {
			v.add(fieldPath(p, "max_outside_calls"), "max_outside_calls must be 0 (the default, %d) or more, not %d", DefaultMaxOutsideCalls, e.MaxOutsideCalls)
		}
		if e.OutsideCallsPerHour < 0 {
			v.add(fieldPath(p, "outside_calls_per_hour"), "outside_calls_per_hour must be 0 (the default, %d) or more, not %d", DefaultOutsideCallsPerHour, e.OutsideCallsPerHour)
		}
	}
	for i, t := range v.s.Trunks {
		p := indexPath("trunks", i)
		if t.MaxOutboundCalls < 0 {
			v.add(fieldPath(p, "max_outbound_calls"), "max_outbound_calls must be 0 (no limit) or more, not %d", t.MaxOutboundCalls)
		}
		if t.OutboundPerHour < 0 {
			v.add(fieldPath(p, "outbound_per_hour"), "outbound_per_hour must be 0 (no limit) or more, not %d", t.OutboundPerHour)
		}
	}
	sys := v.s.System
	if sys.InternationalHours != "" {
		if _, ok := v.schedules[sys.InternationalHours]; !ok {
			v.add("system.international_hours", "no schedule with id %q", sys.InternationalHours)
		}
	}
	if sys.AlertEmail != "" {
		v.email("system.alert_email", sys.AlertEmail)
		if sys.SMTP == nil {
			v.add("system.alert_email", "alert_email needs system.smtp to send through")
		}
	}
}
