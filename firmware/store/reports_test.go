package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"ringbox/firmware/cdr"
)

// teamCDRs are four calls: bob's queue call (agent leg), a call to ann's
// extension 103, an internal call from 101 (bob's extension), and an
// outside call no agent touched that went to voicemail.
func teamCDRs() []cdr.Record {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	return []cdr.Record{
		{CallID: "q-bob", Caller: "+15550001", Callee: "5000", Direction: "inbound", Path: []string{"queue:service"},
			Start: at(0), Answer: at(1), End: at(3), Cause: "normal", HangupBy: "caller", Agent: "bob", AnsweredBy: "agent:bob/ext:101",
			Legs: []cdr.Leg{{ID: "l1", Target: "agent:bob/ext:101", Agent: "bob", Start: at(0), Answer: at(1), End: at(3), Cause: "normal"}}},
		{CallID: "to-ann", Caller: "+15550002", Callee: "103", Direction: "inbound", Path: []string{"extension:103"},
			Start: at(1), End: at(2), Cause: "no_answer", HangupBy: "caller",
			Legs: []cdr.Leg{{ID: "l2", Target: "ext:103", Start: at(1), End: at(2), Cause: "no_answer"}}},
		{CallID: "from-101", Caller: "101", Callee: "102", Direction: "internal", Path: []string{"extension:102"},
			Start: at(2), Answer: at(2), End: at(4), Cause: "normal", HangupBy: "caller", AnsweredBy: "ext:102",
			Legs: []cdr.Leg{{ID: "l3", Target: "ext:102", Start: at(2), Answer: at(2), End: at(4), Cause: "normal"}}},
		{CallID: "vm", Caller: "+15550003", Callee: "5001", Direction: "inbound", Path: []string{"ivr:main", "voicemail:sales"},
			Start: at(3), Answer: at(3), End: at(4), Cause: "normal", HangupBy: "caller"},
	}
}

func callIDs(recs []cdr.Record) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.CallID)
	}
	slices.Sort(ids)
	return ids
}

func TestListCDRScopeAndSearch(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	for _, r := range teamCDRs() {
		if err := s.InsertCDR(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    CDRFilter
		want []string
	}{
		{"admin: no scope", CDRFilter{}, []string{"from-101", "q-bob", "to-ann", "vm"}},
		{"bob's scope: his agent leg and his extension's calls", CDRFilter{Scope: &CDRScope{Agents: []string{"bob"}, Extensions: []string{"101"}}},
			[]string{"from-101", "q-bob"}},
		{"ann's scope: a call that only rang her extension", CDRFilter{Scope: &CDRScope{Agents: []string{"ann"}, Extensions: []string{"103"}}},
			[]string{"to-ann"}},
		{"callee in scope", CDRFilter{Scope: &CDRScope{Extensions: []string{"102"}}}, []string{"from-101"}},
		{"empty scope sees nothing", CDRFilter{Scope: &CDRScope{}}, nil},
		{"search by agent", CDRFilter{Agent: "bob"}, []string{"q-bob"}},
		{"search by extension rung as an agent leg", CDRFilter{Extension: "101"}, []string{"from-101", "q-bob"}},
		{"search by queue", CDRFilter{Queue: "service"}, []string{"q-bob"}},
		{"answered", CDRFilter{Outcome: OutcomeAnswered}, []string{"from-101", "q-bob"}},
		{"unanswered", CDRFilter{Outcome: OutcomeUnanswered}, []string{"to-ann", "vm"}},
		{"voicemail", CDRFilter{Outcome: OutcomeVoicemail}, []string{"vm"}},
		{"one call by id, out of scope", CDRFilter{CallID: "vm", Scope: &CDRScope{Agents: []string{"bob"}, Extensions: []string{"101"}}}, nil},
		{"scope and search together", CDRFilter{Outcome: OutcomeUnanswered, Scope: &CDRScope{Agents: []string{"bob"}, Extensions: []string{"101"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListCDR(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := callIDs(got); !slices.Equal(ids, tt.want) {
				t.Errorf("ListCDR(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	if _, err := s.ListCDR(ctx, CDRFilter{Outcome: "maybe"}); !errors.Is(err, ErrBadFilter) {
		t.Errorf("ListCDR(outcome maybe) err = %v, want ErrBadFilter", err)
	}
}

func TestAgentReports(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	acts := []AgentActivity{
		// Before the period: bob logs in and takes a call that runs into it.
		{Time: at(-10), Agent: "bob", Status: "available", State: "idle", Source: "web"},
		{Time: at(-2), Agent: "bob", Status: "available", State: "on_call"},
		{Time: at(3), Agent: "bob", Status: "available", State: "wrapup"},
		{Time: at(4), Agent: "bob", Status: "available", State: "idle"},
		{Time: at(10), Agent: "bob", Status: "unavailable", State: "idle", Reason: "lunch", Source: "button"},
		{Time: at(20), Agent: "bob", Status: "available", State: "offered"},
		{Time: at(21), Agent: "bob", Status: "available", State: "on_call"},
		// Still on the call at "now" (minute 30): counts up to now.
		{Time: at(5), Agent: "ann", Status: "available", State: "idle", Source: "api"},
		// After the period: not counted.
		{Time: at(90), Agent: "bob", Status: "logged_out", State: "idle"},
	}
	for _, a := range acts {
		if err := s.InsertAgentActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	qlog := []QueueLogEntry{
		{Time: at(-1), Queue: "service", CallID: "c0", Agent: "bob", Event: "CONNECT", Data: []string{"5"}}, // before
		{Time: at(1), Queue: "service", CallID: "c1", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: at(1), Queue: "service", CallID: "c1", Agent: "ann", Event: "RINGNOANSWER", Data: []string{"15000", "declined"}},
		{Time: at(2), Queue: "service", CallID: "c1", Agent: "bob", Event: "RINGNOANSWER", Data: []string{"15000"}},
		{Time: at(3), Queue: "service", CallID: "c1", Agent: "NONE", Event: "ABANDON", Data: []string{"1", "1", "120"}},
		{Time: at(20), Queue: "service", CallID: "c2", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: at(21), Queue: "service", CallID: "c2", Agent: "bob", Event: "CONNECT", Data: []string{"45", "leg", "3", "widened"}},
		{Time: at(22), Queue: "sales", CallID: "c3", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: at(22), Queue: "sales", CallID: "c3", Agent: "ann", Event: "CONNECT", Data: []string{"10", "leg", "2", "skill"}},
	}
	for _, e := range qlog {
		if err := s.InsertQueueLog(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	from, to, now := at(0), at(60), at(30)

	tot, err := s.AgentTotals(ctx, []string{"bob", "ann", "sue"}, from, to, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []AgentTotals{
		// Talk: minute 0-3 (the call begun before the period, clipped) and
		// 21-30 (open, up to now); wrap-up 3-4.
		{Agent: "bob", Offered: 2, Answered: 1, Missed: 1, Talk: 12 * time.Minute, Wrapup: time.Minute},
		{Agent: "ann", Offered: 2, Answered: 1, Declined: 1},
		{Agent: "sue"},
	}
	if !slices.Equal(tot, want) {
		t.Errorf("AgentTotals =\n%+v\nwant\n%+v", tot, want)
	}

	qt, err := s.QueueTotals(ctx, []QueueTarget{{"service", 20 * time.Second}, {"sales", 20 * time.Second}}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	wantQ := []QueueTotals{
		{Queue: "service", Offered: 2, Answered: 1, Abandoned: 1, InService: 0, Target: 20 * time.Second, Widened: 1},
		{Queue: "sales", Offered: 1, Answered: 1, InService: 1, Target: 20 * time.Second, BySkill: 1},
	}
	if !slices.Equal(qt, wantQ) {
		t.Errorf("QueueTotals =\n%+v\nwant\n%+v", qt, wantQ)
	}
	if sl := qt[1].ServiceLevel(); sl != 100 {
		t.Errorf("sales service level = %v, want 100", sl)
	}
	if sl := qt[0].ServiceLevel(); sl != 0 {
		t.Errorf("service service level = %v, want 0 (answered after 45s, target 20s)", sl)
	}

	tl, err := s.AgentTimeline(ctx, []string{"bob"}, from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, a := range tl {
		l := a.Time.Sub(t0).String() + " " + a.Kind + " " + a.Status + a.State + a.Reason + a.CallID
		lines = append(lines, l)
	}
	wantTL := []string{
		"2m0s missed c1",
		"3m0s state wrapup",
		"4m0s state idle",
		"10m0s status unavailablelunch",
		"20m0s status available",
		"20m0s state offered",
		"21m0s state on_call",
		"21m0s answered c2",
	}
	if !slices.Equal(lines, wantTL) {
		t.Errorf("AgentTimeline(bob) =\n%q\nwant\n%q", lines, wantTL)
	}

	spans, err := s.AgentSpans(ctx, []string{"bob"}, from, to, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 6 || !spans[0].From.Equal(from) || spans[0].State != "on_call" || !spans[5].To.Equal(now) {
		t.Errorf("AgentSpans(bob) = %+v, want 6 spans from the period's start, the last ending now", spans)
	}
}
