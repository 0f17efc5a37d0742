package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ringbox/firmware/cdr"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// sampleCDR is call i, starting i minutes after t0; odd calls go unanswered.
func sampleCDR(i int) cdr.Record {
	start := t0.Add(time.Duration(i) * time.Minute)
	r := cdr.Record{
		CallID: fmt.Sprintf("call-%d", i), Caller: "+15550001001", CallerName: "Bob", Callee: fmt.Sprintf("10%d", i%3),
		Direction: "inbound", Trunk: "carrier", Path: []string{"ivr:main", "queue:service"},
		Start: start, End: start.Add(90 * time.Second), Cause: "normal", HangupBy: "caller", Recording: "rec/x.wav",
		Legs: []cdr.Leg{
			{ID: "l1", Target: "agent:bob", Start: start.Add(time.Second), End: start.Add(5 * time.Second), Cause: "no_answer"},
			{ID: "l2", Target: "ext:101", Start: start.Add(5 * time.Second), Answer: start.Add(7 * time.Second), End: start.Add(90 * time.Second), Cause: "normal"},
		},
	}
	if i%2 == 1 {
		r.Cause = "no_answer"
		r.Legs = r.Legs[:1]
	} else {
		r.Answer = start.Add(7 * time.Second)
		r.Billable = 83 * time.Second
	}
	return r
}

func TestCDR(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	for i := range 6 {
		if err := s.InsertCDR(ctx, sampleCDR(i)); err != nil {
			t.Fatal(err)
		}
	}
	odd := sampleCDR(7)
	odd.Path, odd.Legs = nil, nil
	odd.Start = odd.Start.Add(123456789 * time.Nanosecond) // kept to the millisecond
	if err := s.InsertCDR(ctx, odd); err != nil {
		t.Fatal(err)
	}

	all, err := s.ListCDR(ctx, CDRFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r.CallID)
	}
	if want := []string{"call-7", "call-5", "call-4", "call-3", "call-2", "call-1", "call-0"}; !slices.Equal(ids, want) {
		t.Fatalf("ListCDR order = %v, want newest first %v", ids, want)
	}
	if !reflect.DeepEqual(all[2], sampleCDR(4)) {
		t.Errorf("stored call-4 = %+v\nwant %+v", all[2], sampleCDR(4))
	}
	if !reflect.DeepEqual(all[1], sampleCDR(5)) {
		t.Errorf("stored unanswered call-5 = %+v\nwant %+v", all[1], sampleCDR(5))
	}
	if got := all[0]; got.Path != nil || got.Legs != nil || !got.Start.Equal(odd.Start.Truncate(time.Millisecond)) {
		t.Errorf("call-7 came back as %+v", got)
	}

	tests := []struct {
		name string
		f    CDRFilter
		want []string
	}{
		{"from", CDRFilter{From: t0.Add(4 * time.Minute)}, []string{"call-7", "call-5", "call-4"}},
		{"from to", CDRFilter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, []string{"call-2", "call-1"}},
		{"callee", CDRFilter{Number: "101"}, []string{"call-7", "call-4", "call-1"}},
		{"caller", CDRFilter{Number: "+15550001001", Limit: 2}, []string{"call-7", "call-5"}},
		{"cause", CDRFilter{Cause: "no_answer"}, []string{"call-7", "call-5", "call-3", "call-1"}},
		{"page", CDRFilter{Limit: 2, Offset: 2}, []string{"call-4", "call-3"}},
		{"none", CDRFilter{Number: "999"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.ListCDR(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.CallID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListCDR(%+v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
}

func TestQueueLogAndActivityAndAudit(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})
	ctx := t.Context()
	entries := []QueueLogEntry{
		{Time: t0, CallID: "c1", Queue: "service", Agent: "NONE", Event: "ENTERQUEUE", Data: []string{"", "+15550001001", "1"}},
		{Time: t0.Add(10 * time.Second), CallID: "c1", Queue: "service", Agent: "bob", Event: "CONNECT", Data: []string{"10", "l2", "3"}},
		{Time: t0.Add(20 * time.Second), CallID: "c2", Queue: "sales", Agent: "NONE", Event: "ENTERQUEUE"},
		{Time: t0.Add(time.Hour), CallID: "c1", Queue: "service", Agent: "bob", Event: "COMPLETECALLER", Data: []string{"10", "3590", "1", "a", "b"}},
	}
	for _, e := range entries {
		if err := s.InsertQueueLog(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertQueueLog(ctx, QueueLogEntry{Event: "X", Data: make([]string, 6)}); err == nil {
		t.Error("InsertQueueLog took 6 data fields")
	}
	got, err := s.ListQueueLog(ctx, t0, t0.Add(time.Hour), "service")
	if err != nil {
		t.Fatal(err)
	}
	if want := entries[:2]; !reflect.DeepEqual(got, want) {
		t.Errorf("ListQueueLog = %+v\nwant %+v", got, want)
	}
	if got, _ := s.ListQueueLog(ctx, time.Time{}, time.Time{}, ""); len(got) != 4 || got[3].Event != "COMPLETECALLER" || len(got[3].Data) != 5 {
		t.Errorf("ListQueueLog of everything = %+v", got)
	}

	acts := []AgentActivity{
		{Time: t0, Agent: "bob", Status: "available", State: "idle", Source: "button"},
		{Time: t0.Add(time.Minute), Agent: "sue", Status: "available", State: "idle", Source: "web"},
		{Agent: "bob", Status: "paused", State: "idle", Reason: "lunch", Source: "feature_code"}, // now
	}
	for _, a := range acts {
		if err := s.InsertAgentActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	bob, err := s.ListAgentActivity(ctx, "bob", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	acts[2].Time = clk.Now()
	if want := []AgentActivity{acts[0], acts[2]}; !reflect.DeepEqual(bob, want) {
		t.Errorf("ListAgentActivity(bob) = %+v\nwant %+v", bob, want)
	}
	if all, _ := s.ListAgentActivity(ctx, "", t0.Add(time.Second), time.Time{}); len(all) != 1 || all[0].Agent != "sue" {
		t.Errorf("ListAgentActivity after t0 = %+v", all)
	}

	for i := range 3 {
		if err := s.InsertAudit(ctx, AuditEntry{Time: t0.Add(time.Duration(i) * time.Minute), Actor: "admin",
			Action: "extension.update", Object: fmt.Sprintf("extension:10%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertAudit(ctx, AuditEntry{Actor: "admin"}); err == nil {
		t.Error("InsertAudit without an action succeeded")
	}
	audit, err := s.ListAudit(ctx, time.Time{}, time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Object != "extension:102" || audit[1].Object != "extension:101" {
		t.Errorf("ListAudit(limit 2) = %+v, want 102 then 101", audit)
	}
}

func TestAppendOnlyTablesRefuseChanges(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	if err := s.InsertCDR(ctx, sampleCDR(0)); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertQueueLog(ctx, QueueLogEntry{Queue: "q", Event: "ENTERQUEUE"}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertAgentActivity(ctx, AgentActivity{Agent: "bob", Status: "available"}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertAudit(ctx, AuditEntry{Actor: "a", Action: "b"}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"cdr", "cdr_legs", "queue_log", "agent_activity", "audit"} {
		for _, stmt := range []string{
			"UPDATE " + table + " SET rowid = rowid",
			"DELETE FROM " + table,
		} {
			_, err := s.w.ExecContext(ctx, stmt)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want append-only", stmt, err)
			}
		}
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n == 0 {
			t.Errorf("%s has %d rows (%v) after refused deletes", table, n, err)
		}
	}
}

func TestAgentStatus(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	ctx := t.Context()
	want := []AgentStatus{
		{Agent: "bob", Status: "paused", Reason: "lunch", Since: t0, AutoReturn: t0.Add(30 * time.Minute)},
		{Agent: "sue", Status: "available", Since: t0.Add(time.Minute), OutOf: []string{"sales", "support"}},
	}
	if err := s.SaveAgentStatus(ctx, AgentStatus{Agent: "bob", Status: "available", Since: t0}); err != nil {
		t.Fatal(err)
	}
	for _, a := range want {
		if err := s.SaveAgentStatus(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openStore(t, dir, Options{}) // a restart keeps who was logged in
	got, err := s.LoadAgentStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadAgentStatuses = %+v\nwant %+v", got, want)
	}
}

func TestHuntNext(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	var got []int
	for range 5 {
		i, err := s.HuntNext(ctx, "support", 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, i)
	}
	if want := []int{0, 1, 2, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("HuntNext x5 = %v, want %v", got, want)
	}
	// The group shrank to two members: the position wraps.
	if i, _ := s.HuntNext(ctx, "support", 2); i != 0 {
		t.Errorf("HuntNext after shrinking to 2 = %d, want 0", i)
	}
	if _, err := s.HuntNext(ctx, "support", 0); err == nil {
		t.Error("HuntNext with no members succeeded")
	}

	// Concurrent callers never get the same start within a round.
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			i, err := s.HuntNext(ctx, "sales", 40)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[i]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Errorf("40 concurrent HuntNext(40) gave %d distinct starts", len(seen))
	}
}

// BenchmarkInsertCDR measures storing one finished call with two legs, one
// transaction each, as the CDR writer does.
func BenchmarkInsertCDR(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	ctx := context.Background()
	r := sampleCDR(0)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.InsertCDR(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCDRGroupCommit: many calls ending at once all get their record, each
// with its own legs, though they share transactions.
func TestCDRGroupCommit(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.InsertCDR(t.Context(), sampleCDR(i)); err != nil {
				t.Errorf("insert %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	recs, err := s.ListCDR(t.Context(), CDRFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for _, r := range recs {
		var i int
		fmt.Sscanf(r.CallID, "call-%d", &i)
		want := sampleCDR(i)
		if r.Callee != want.Callee || r.Cause != want.Cause || len(r.Legs) != len(want.Legs) || r.Legs[0].Target != want.Legs[0].Target {
			t.Fatalf("record %s = %+v", r.CallID, r)
		}
	}
}

// BenchmarkInsertCDRParallel measures one call record stored while many
// calls end at once (the group commit's case).
// Records handed in before Close are in the database when Close returns
// (a shutdown loses none); a record handed in after it is refused with an
// error, never left waiting.
func TestCloseCommitsHandedInCDRs(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.InsertCDR(context.Background(), sampleCDR(i)); err != nil {
				t.Errorf("insert %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertCDR(context.Background(), sampleCDR(n)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("insert after Close: %v, want an error saying the store is closed", err)
	}
	s2 := openStore(t, dir, Options{})
	recs, err := s2.ListCDR(t.Context(), CDRFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Errorf("%d records after reopening, want %d", len(recs), n)
	}
}

func BenchmarkInsertCDRParallel(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	var i atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 64 calls ending at once on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.InsertCDR(context.Background(), sampleCDR(int(i.Add(1)))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertCDRPaced is calls ending one by one at 1200 calls/s, as in
// the SIP ladder: it reports the process's CPU time per record, which is
// what the CDR costs the box at that rate (the wall time is the pace).
func BenchmarkInsertCDRPaced(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	const every = time.Second / 1200
	var wg sync.WaitGroup
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t := time.NewTicker(every)
	defer t.Stop()
	n := 0
	for b.Loop() {
		<-t.C
		n++
		wg.Go(func() {
			if err := s.InsertCDR(context.Background(), sampleCDR(n)); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/record")
}

// A transferred call's record keeps its transfers and the leg's
// transferrer (migration 0010).
func TestCDRTransfersRoundTrip(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	r := sampleCDR(4)
	r.Legs[len(r.Legs)-1].TransferBy = "102"
	r.TransferOf = "call-3"
	r.Transfers = []cdr.Transfer{
		{Kind: cdr.Blind, By: "102", ByLeg: "sip-1", To: "103", At: t0.Add(90 * time.Second), Result: "no_answer", Recalled: true},
		{Kind: cdr.Attended, By: "102", ByLeg: "sip-5", To: "ext:104", Leg: "sip-9", Call: "consult-1", At: t0.Add(2 * time.Minute), Result: "completed"},
	}
	if err := s.InsertCDR(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListCDR(t.Context(), CDRFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || !reflect.DeepEqual(all[0], r) {
		t.Fatalf("stored = %+v\nwant %+v", all, r)
	}
}
