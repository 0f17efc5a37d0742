package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ringbox/firmware/cdr"
)

func TestEndInterruptedCalls(t *testing.T) {
	tests := []struct {
		name      string
		heartbeat bool // the writer records heartbeats (else none was written)
		// want End of the answered call a and the unanswered call b
		wantA, wantB time.Time
		billableA    time.Duration
	}{
		// a answered at +10s, b started at +1m; the box was last alive at +5m.
		{"ends at the last heartbeat", true, t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), 4*time.Minute + 50*time.Second},
		{"no heartbeat: ends at answer or start", false, t0.Add(10 * time.Second), t0.Add(time.Minute), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock() // at t0
			var beats atomic.Int64
			every := time.Hour
			if tt.heartbeat {
				every = 5 * time.Millisecond
			}
			s1, err := Open(t.Context(), dir, Options{Logger: quiet, Now: clk.Now, Alive: func() { beats.Add(1) }, AliveEvery: every})
			if err != nil {
				t.Fatal(err)
			}
			a := cdr.Record{CallID: "a", Caller: "+15550001001", CallerName: "Bob", Callee: "5000", Direction: cdr.Inbound, Trunk: "carrier", Start: t0}
			// b is an outside call, ringing on the trunk it was routed to.
			b := cdr.Record{CallID: "b", Caller: "101", Callee: "95559998888", Direction: cdr.Outbound, Start: t0.Add(time.Minute)}
			c := cdr.Record{CallID: "c", Caller: "101", Callee: "103", Direction: cdr.Internal, Start: t0.Add(2 * time.Minute)}
			s1.CallStarted(a)
			s1.CallAnswered("a", t0.Add(10*time.Second))
			s1.CallStarted(b)
			s1.CallRouted("b", "backup", "+15559998888")
			s1.CallStarted(c)
			// c ends normally: its CDR removes its row.
			c.End, c.Cause, c.HangupBy = t0.Add(3*time.Minute), "normal", cdr.ByCaller
			if err := s1.InsertCDR(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			clk.Advance(5 * time.Minute)
			if tt.heartbeat {
				waitFor(t, "heartbeat at +5m", func() bool {
					var at int64
					err := s1.r.QueryRowContext(t.Context(), `SELECT at_ms FROM heartbeat`).Scan(&at)
					return err == nil && at == t0.Add(5*time.Minute).UnixMilli()
				})
			}
			// Close stands for the crash: it commits what was handed in and
			// ends nothing. The next start's clock (real time, years after
			// t0) must not end the calls either.
			if err := s1.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.heartbeat && beats.Load() == 0 {
				t.Error("the writer never called Alive")
			}

			s2 := openStore(t, dir, Options{})
			got, err := s2.EndInterruptedCalls(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].CallID != "a" || got[1].CallID != "b" {
				t.Fatalf("EndInterruptedCalls = %+v, want calls a and b", got)
			}
			list, err := s2.ListCDR(t.Context(), CDRFilter{From: t0.Add(-time.Hour), To: t0.Add(2 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]cdr.Record{}
			for _, r := range list {
				byID[r.CallID] = r
			}
			if len(list) != 3 || byID["c"].Cause != "normal" {
				t.Fatalf("CDRs %+v, want a, b (restart) and c (normal)", list)
			}
			for _, w := range []struct {
				id       string
				answer   time.Time
				end      time.Time
				billable time.Duration
			}{
				{"a", t0.Add(10 * time.Second), tt.wantA, tt.billableA},
				{"b", time.Time{}, tt.wantB, 0},
			} {
				r := byID[w.id]
				if r.Cause != "restart" || r.HangupBy != cdr.BySystem {
					t.Errorf("call %s: cause %q by %q, want restart by system", w.id, r.Cause, r.HangupBy)
				}
				if !r.Answer.Equal(w.answer) || !r.End.Equal(w.end) || r.Billable != w.billable {
					t.Errorf("call %s: answer %v end %v billable %v; want %v, %v, %v", w.id, r.Answer, r.End, r.Billable, w.answer, w.end, w.billable)
				}
			}
			if r := byID["a"]; r.Caller != a.Caller || r.CallerName != "Bob" || r.Callee != "5000" || r.Direction != cdr.Inbound || r.Trunk != "carrier" || !r.Start.Equal(t0) {
				t.Errorf("call a: %+v, want the parties of the call started", r)
			}
			if r := byID["b"]; r.Direction != cdr.Outbound || r.Callee != "95559998888" || r.Trunk != "backup" || r.NumberSent != "+15559998888" {
				t.Errorf("call b: direction %q callee %q trunk %q sent %q, want the outbound call on trunk backup, +15559998888 sent",
					r.Direction, r.Callee, r.Trunk, r.NumberSent)
			}
			// The rows are gone: a second start writes nothing.
			if again, err := s2.EndInterruptedCalls(t.Context()); err != nil || len(again) != 0 {
				t.Errorf("second EndInterruptedCalls = %v, %v; want none", again, err)
			}
		})
	}
}

// TestShortCallWritesNoRow checks that a call started and ended in one
// batch leaves nothing behind, and that a CDR without CallStarted (a test's
// or an old caller's) is fine.
func TestShortCallWritesNoRow(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	r := sampleCDR(2)
	s.CallStarted(r)
	s.CallAnswered(r.CallID, r.Answer)
	if err := s.InsertCDR(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertCDR(t.Context(), sampleCDR(4)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM calls_in_progress`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows in progress (%v), want none", n, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// BenchmarkCallInProgressPaced is BenchmarkInsertCDRPaced with the row of
// each call in progress: calls start at 1200/s, are answered at once and
// end half a second later (so their row is written and deleted in
// different batches). Compare its cpu-us/record with
// BenchmarkInsertCDRPaced's.
func BenchmarkCallInProgressPaced(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	const every = time.Second / 1200
	const lasts = 600 // calls: half a second at this pace
	var wg sync.WaitGroup
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t := time.NewTicker(every)
	defer t.Stop()
	n := 0
	end := func(i int) {
		wg.Go(func() {
			if err := s.InsertCDR(context.Background(), sampleCDR(i)); err != nil {
				b.Error(err)
			}
		})
	}
	for b.Loop() {
		<-t.C
		n++
		r := sampleCDR(n)
		s.CallStarted(r)
		s.CallAnswered(r.CallID, r.Start.Add(time.Second))
		if n > lasts {
			end(n - lasts)
		}
	}
	for i := max(1, n-lasts+1); i <= n; i++ {
		end(i)
	}
	wg.Wait()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/record")
}

// TestCallAnsweredSaysWhenStored: the channel CallAnswered returns
// closes once the answer (and the row it updates) is committed, so the
// flow can answer knowing a crash will not lose the call or its answer.
func TestCallAnsweredSaysWhenStored(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	r := sampleCDR(7)
	s.CallStarted(r)
	select {
	case <-s.CallAnswered(r.CallID, r.Start.Add(time.Second)):
	case <-time.After(5 * time.Second):
		t.Fatal("the answer was never stored")
	}
	var answer sql.NullInt64
	if err := s.r.QueryRowContext(t.Context(), `SELECT answer_ms FROM calls_in_progress WHERE call_id = ?`, r.CallID).Scan(&answer); err != nil ||
		answer.Int64 != r.Start.Add(time.Second).UnixMilli() {
		t.Errorf("answer %v (%v) when CallAnswered said stored, want %v", answer, err, r.Start.Add(time.Second).UnixMilli())
	}
	// Not answered after all (the caller's phone refused the answer).
	<-s.CallAnswered(r.CallID, time.Time{})
	if err := s.r.QueryRowContext(t.Context(), `SELECT answer_ms FROM calls_in_progress WHERE call_id = ?`, r.CallID).Scan(&answer); err != nil || answer.Valid {
		t.Errorf("answer %v (%v) after it was taken back, want none", answer, err)
	}
}

// BenchmarkCallAnsweredStored is how long the flow holds an answer back
// until it is committed (CallAnswered's channel): answers one after the
// other, so each batch follows the last closely and the writer lingers
// (cdrLinger) as it does on a busy box; compare with an idle box's
// single commit (-benchtime=1x).
func BenchmarkCallAnsweredStored(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	n := 0
	for b.Loop() {
		n++
		r := sampleCDR(n)
		s.CallStarted(r)
		<-s.CallAnswered(r.CallID, r.Start.Add(time.Second))
	}
}
