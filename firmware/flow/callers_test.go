package flow

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
)

// queueLog is a fake QueueRunner: it notes each caller and sends them on
// to nothing (unavailable).
type queueLog struct {
	mu    sync.Mutex
	calls []QueueCall
}

func (q *queueLog) RunQueue(ctx context.Context, qc QueueCall) QueueResult {
	q.mu.Lock()
	q.calls = append(q.calls, qc)
	q.mu.Unlock()
	return QueueResult{Cause: call.Unavailable}
}

func (q *queueLog) last(t *testing.T) QueueCall {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.calls) == 0 {
		t.Fatal("no caller reached a queue")
	}
	return q.calls[len(q.calls)-1]
}

// callerSite is officeSite with caller lists, caller routes, skills and a
// support IVR whose options need skills.
func callerSite() *site.Site {
	s := officeSite()
	s.Agents[0].Skills = map[string]int{"fr": 5, "en": 3}
	s.Agents[1].Skills = map[string]int{"en": 7}
	s.Queues = []site.Queue{
		{ID: "support", Agents: []site.QueueAgent{{Agent: "bob"}, {Agent: "steve"}}},
		{ID: "vip", Agents: []site.QueueAgent{{Agent: "bob"}}},
	}
	s.CallerLists = []site.CallerList{
		{ID: "vip", Numbers: []string{"+33612345678", "+3361."}},
		{ID: "blocked", Numbers: []string{"+15550100", "+1555099."}},
		{ID: "rude", Numbers: []string{"+15550200"}},
		{ID: "spam", Numbers: []string{"+15550300"}},
	}
	s.Announcements = append(s.Announcements, site.Announcement{ID: "go-away", Prompt: "goodbye", Next: "hangup"})
	s.IVRs = append(s.IVRs, site.IVR{ID: "help", Greeting: "main-menu",
		Options:      map[string]string{"1": "queue:support", "2": "queue:support", "3": "queue:support"},
		OptionSkills: map[string]map[string]int{"1": {"fr": 3}, "2": {"en": 5}},
		Callers:      []site.CallerRoute{{Caller: "+4420.", To: "queue:vip"}}})
	s.Inbound = append([]site.InboundRoute{
		{Caller: "list:blocked", To: "busy"},
		{Caller: "list:rude", To: "reject"},
		{Caller: "list:spam", To: "announce:go-away"},
		{Match: "+15551230009", Caller: "list:vip", To: "queue:vip"},
		{Match: "+15551230009", To: "ivr:help", Skills: map[string]int{"en": 2}},
	}, s.Inbound...)
	// A caller route placed after the catch-all still comes first.
	s.Inbound = append(s.Inbound, site.InboundRoute{Caller: "+1666.", To: "queue:support", Skills: map[string]int{"fr": 1}})
	// By schedule (closed at the bubble's start, a Friday 19:00 in New
	// York): otherwise, or on to the next route without one.
	s.Inbound = append(s.Inbound,
		site.InboundRoute{Caller: "+1777.", When: "business", To: "queue:vip", Otherwise: "reject"},
		site.InboundRoute{Caller: "+1888.", When: "business", To: "queue:vip"})
	s.Prompts = append(s.Prompts, site.Prompt{ID: "sub-menu", File: "sub-menu.wav"})
	return s
}

func newCallerOffice(t *testing.T) (*office, *queueLog) {
	t.Helper()
	s := callerSite()
	if errs := s.Validate(); errs != nil {
		t.Fatalf("test site invalid: %v", errs)
	}
	o := newOffice(t, s)
	q := &queueLog{}
	o.e.Queues = q
	return o, q
}

func TestCallerRouting(t *testing.T) {
	tests := []struct {
		name   string
		from   string
		did    string
		keys   string
		path   []string
		cause  call.Cause // the caller's leg ended with
		answer bool       // the caller's leg was answered
		skills map[string]int
	}{
		// A VIP skips the IVR the DID leads to.
		{"vip by list", "+33612345678", "+15551230009", "", []string{"queue:vip"}, call.Unavailable, false, nil},
		{"vip by list pattern", "+33610000001", "+15551230009", "", []string{"queue:vip"}, call.Unavailable, false, nil},
		// The vip route is for its DID only.
		{"vip elsewhere", "+33612345678", "+15551230001", "", []string{"announce:recorded", "extension:102"}, call.NoAnswer, true, nil},
		{"blocked busy", "+15550100", "+15551230009", "", []string{"busy"}, call.Busy, false, nil},
		{"blocked by pattern", "+155509912", "+15559999999", "", []string{"busy"}, call.Busy, false, nil},
		{"blocked reject", "+15550200", "+15551230009", "", []string{"reject"}, call.Rejected, false, nil},
		{"blocked announcement", "+15550300", "+15551230009", "", []string{"announce:go-away", "hangup"}, call.Normal, true, nil},
		// Not on any list: the DID route, whose skills the call carries
		// unless the option it chooses sets its own.
		{"option skills replace the route's", "+15557777", "+15551230009", "1", []string{"ivr:help", "queue:support"}, call.Unavailable, true, map[string]int{"fr": 3}},
		{"other option skills", "+15557777", "+15551230009", "2", []string{"ivr:help", "queue:support"}, call.Unavailable, true, map[string]int{"en": 5}},
		{"option without skills keeps the route's", "+15557777", "+15551230009", "3", []string{"ivr:help", "queue:support"}, call.Unavailable, true, map[string]int{"en": 2}},
		// The IVR's own callers skip its greeting.
		{"ivr caller", "+442071234567", "+15551230009", "", []string{"ivr:help", "queue:vip"}, call.Unavailable, false, map[string]int{"en": 2}},
		// A caller route after the catch-all is tried first all the same.
		{"caller route after catch-all", "+16661234", "+15559999999", "", []string{"queue:support"}, call.Unavailable, false, map[string]int{"fr": 1}},
		{"caller route closed: otherwise", "+17771234", "+15559999999", "", []string{"reject"}, call.Rejected, false, nil},
		{"caller route closed: fall through", "+18881234", "+15551230001", "", []string{"announce:recorded", "extension:102"}, call.NoAnswer, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o, q := newCallerOffice(t)
				o.prompts.lens["main-menu"] = 5 * time.Second
				o.silent("101", "102", "103", "104", "107")
				caller := calltest.NewLeg("caller", calltest.From(tt.from, ""))
				if tt.keys != "" {
					caller.PressAfter(time.Second, tt.keys)
				}
				time.AfterFunc(10*time.Minute, func() { caller.Hangup(call.Normal) })
				o.inbound(t, caller, tt.did)
				r := o.cdr.last(t)
				if !slices.Equal(r.Path, tt.path) {
					t.Errorf("path %v, want %v", r.Path, tt.path)
				}
				if _, c, _ := caller.Ended(); c != tt.cause {
					t.Errorf("caller's leg ended with %v, want %v", c, tt.cause)
				}
				if a, _ := caller.Answered(); a != tt.answer {
					t.Errorf("caller answered = %v, want %v", a, tt.answer)
				}
				if slices.Contains(tt.path, "queue:support") || slices.Contains(tt.path, "queue:vip") {
					if got := q.last(t).Skills; !maps.Equal(got, tt.skills) {
						t.Errorf("the queue got skills %v, want %v", got, tt.skills)
					}
				}
				if tt.path[0] == "queue:vip" && len(o.prompts.asked()) > 0 {
					t.Errorf("a VIP heard %v", o.prompts.asked())
				}
			})
		})
	}
}
