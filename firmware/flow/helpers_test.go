package flow

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/presence"
	"ringbox/firmware/site"
)

// officeSite is a small office: Bob, Steve, Sue and Janet (agents with
// different ring preferences), an IVR, a staged ring group, a hunt group,
// a recorded announcement, a schedule.
func officeSite() *site.Site {
	return &site.Site{
		Version: 1,
		System:  site.System{Timezone: "America/New_York", OfficeNumber: "+15551230000"},
		Extensions: []site.Extension{
			{Number: "101", Name: "Bob", Voicemail: true},
			{Number: "102", Name: "Steve"},
			{Number: "103", Name: "Sue"},
			{Number: "104", Name: "Janet"},
			{Number: "105", Name: "Dee", DND: true},
			{Number: "106", Name: "Blocked", HuntBlocked: true},
			{Number: "107", Name: "Lobby"},
			{Number: "108", Name: "Nina"},
			{Number: "109", Name: "Max", Voicemail: true},
		},
		Agents: []site.Agent{
			{ID: "bob", Extension: "101", Mobile: "+15550001001", RingPreference: site.RingExtensionThenMobile, MobileAfter: site.Duration(15 * time.Second)},
			{ID: "steve", Extension: "102"},
			{ID: "sue", Extension: "103", Mobile: "+15550001003"}, // both
			{ID: "janet", Extension: "104", Mobile: "+15550001004", RingPreference: site.RingMobileOnly},
			// Nina works weekday office hours only.
			{ID: "nina", Extension: "108", Hours: []site.Range{{Days: "mon-fri", From: "09:00", To: "17:00"}}},
		},
		RingGroups: []site.RingGroup{
			{ID: "front", Stages: []site.Stage{
				{Ring: []string{"bob", "steve"}, For: site.Duration(20 * time.Second)},
				{Ring: []string{"sue", "janet"}, For: site.Duration(20 * time.Second)},
			}, Repeat: 2, CIDPrefix: "Office: ", NoAnswer: "extension:107"},
			{ID: "confirm", Stages: []site.Stage{
				{Ring: []string{"+15550009001", "+15550009002"}, For: site.Duration(30 * time.Second)},
				{Ring: []string{"ext:102"}, For: site.Duration(20 * time.Second)},
			}, Confirm: site.ConfirmExternal},
		},
		HuntGroups: []site.HuntGroup{
			{ID: "support", Members: []string{"ext:105", "ext:106", "steve", "ext:107", "ext:101"}, Ring: site.Duration(15 * time.Second)},
		},
		IVRs: []site.IVR{
			{ID: "main", Greeting: "main-menu", Options: map[string]string{"1": "extension:103", "2": "extension:102", "9": "ivr:sub"},
				DirectDial: true, OnInvalid: "extension:107", OnTimeout: "extension:104"},
			{ID: "sub", Greeting: "sub-menu", Options: map[string]string{"1": "extension:102"}},
			{ID: "loop", Greeting: "main-menu", Options: map[string]string{"1": "extension:102"}, OnTimeout: "ivr:loop"},
		},
		Announcements: []site.Announcement{{ID: "recorded", Prompt: "recording-notice", Record: true, Next: "extension:102"}},
		Schedules:     []site.Schedule{{ID: "business", Open: []site.Range{{Days: "mon-fri", From: "08:00", To: "18:00"}}}},
		// Outside numbers leave through one carrier trunk; the fake dialer
		// answers trunk targets by the number sent.
		Trunks:   []site.Trunk{{ID: "carrier", Host: "carrier.example"}},
		Outbound: []site.OutboundRoute{{Pattern: "+.", Trunks: []string{"carrier"}, Permission: site.PermNational}},
		Inbound: []site.InboundRoute{
			{Match: "+15551230000", When: "business", To: "extension:102", Otherwise: "extension:103"},
			{Match: "+15551230001", To: "announce:recorded"},
			{Match: "*", To: "ivr:main"},
		},
	}
}

// promptLog is a fake prompt hook: every prompt lasts its given length
// (1 s unless set) and is logged when asked for.
type promptLog struct {
	mu   sync.Mutex
	lens map[string]time.Duration
	ids  []string
}

func (p *promptLog) source(id string, rate int) (call.Source, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, id)
	d, ok := p.lens[id]
	if !ok {
		d = time.Second
	}
	return &silence{frames: int(d / (20 * time.Millisecond))}, true
}

func (p *promptLog) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ids)
}

type silence struct{ frames int }

func (s *silence) ReadFrame(f []int16) bool {
	if s.frames == 0 {
		return false
	}
	s.frames--
	clear(f)
	return true
}

// dialLog wraps the fake dialer to note when each number was dialled,
// as an offset from the test's start.
type dialLog struct {
	*calltest.Dialer
	start time.Time
	mu    sync.Mutex
	at    []dialAt
}

type dialAt struct {
	Number string
	At     time.Duration
}

func (d *dialLog) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	d.mu.Lock()
	d.at = append(d.at, dialAt{t.Number, time.Since(d.start)})
	d.mu.Unlock()
	return d.Dialer.Dial(ctx, t)
}

func (d *dialLog) log() []dialAt {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.at)
}

type office struct {
	e       *Engine
	d       *dialLog
	cdr     *cdrs
	prompts *promptLog
	pres    *presence.Tracker
}

// newOffice builds an engine on s (officeSite when nil); call it inside
// the synctest bubble so the dial log's start is the bubble's.
func newOffice(t testing.TB, s *site.Site) *office {
	t.Helper()
	if s == nil {
		s = officeSite()
	}
	cfg, err := config.New(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	o := &office{d: &dialLog{Dialer: calltest.NewDialer(), start: time.Now()}, cdr: &cdrs{},
		prompts: &promptLog{lens: map[string]time.Duration{}}, pres: presence.New(nil)}
	o.e = &Engine{Config: cfg, Dialer: o.d, Bridger: calltest.Bridger{}, CDR: o.cdr, ExtensionRing: 20 * time.Second,
		Presence: o.pres, Prompts: o.prompts.source}
	return o
}

// silent makes every listed number ring for ever.
func (o *office) silent(numbers ...string) {
	for _, n := range numbers {
		o.d.Add(n, func() *calltest.Leg { return calltest.NewLeg(n) })
	}
}

// leg makes number answer with leg l (one dial).
func (o *office) leg(number string, l *calltest.Leg) {
	o.d.Add(number, func() *calltest.Leg { return l })
}

// inbound places a call from a trunk to did and returns when it ends.
func (o *office) inbound(t *testing.T, caller *calltest.Leg, did string) {
	o.e.Handle(t.Context(), caller, Inbound{CallID: "call-" + caller.ID(), From: caller.Remote(), To: did, Trunk: "carrier", DID: did})
}

// dest places a call that enters at dest directly.
func (o *office) dest(t *testing.T, caller *calltest.Leg, dest string) call.Cause {
	c := o.e.newCall(caller, Inbound{CallID: "c-" + caller.ID(), From: caller.Remote(), Trunk: "carrier"})
	c.rec.Start = time.Now()
	cause := c.run(t.Context(), dest)
	c.finish(cause)
	return cause
}

func numbers(ds []dialAt) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Number)
	}
	return out
}
