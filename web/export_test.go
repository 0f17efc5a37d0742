package web

import (
	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// StreamView is what one live event stream of p shows of each event, in
// order: the bus's type pre-filter, the scope filter and the agent's
// offer filter, as GET /api/v1/events applies them.
func StreamView(p auth.Principal, st func() *site.Site) func(events.Event) (events.Event, bool) {
	f := newStreamFilter(p, st)
	match := f.match()
	return func(ev events.Event) (events.Event, bool) {
		if match != nil && !match(ev.Type) {
			return ev, false
		}
		ev, ok := f.view(ev)
		if !ok || p.Role == auth.Agent && offerForOther(ev, p.Agent) {
			return ev, false
		}
		return ev, true
	}
}

// ScopeMembers is what GET /api/v1/queues/{id} keeps of a queue for sc.
var ScopeMembers = scopeMembers
