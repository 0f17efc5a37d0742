package flow

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

type auditLog struct {
	mu   sync.Mutex
	rows []string
}

func (a *auditLog) add(ctx context.Context, actor, action, object, detail string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, actor+" "+action+" "+object+" "+detail)
	return nil
}

func TestScheduleOverrideHoldsUntilNextChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Friday 19:00 in New York: business (mon-fri 08-18) is closed.
		o := newOffice(t, nil)
		audit := &auditLog{}
		o.e.Audit = audit.add
		ny := o.e.Config.Current().Loc
		st, _ := o.e.ScheduleStateAt("business", time.Now())
		if st.Open || st.Override != "auto" {
			t.Fatalf("state %+v, want closed, auto", st)
		}
		if err := o.e.SetOverride(t.Context(), "api", "business", true); err != nil {
			t.Fatal(err)
		}
		st, _ = o.e.ScheduleStateAt("business", time.Now())
		wantUntil := time.Date(2000, 1, 3, 8, 0, 0, 0, ny) // Monday's opening
		if !st.Open || st.Scheduled || st.Override != "open" || st.Until == nil || !st.Until.Equal(wantUntil) {
			t.Errorf("state %+v, want open by override until %v", st, wantUntil)
		}
		// An inbound call now takes the open route.
		o.leg("102", calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)))
		caller := calltest.NewLeg("caller")
		time.AfterFunc(3*time.Second, func() { caller.Hangup(call.Normal) })
		o.inbound(t, caller, "+15551230000")
		if r := o.cdr.last(t); r.Path[0] != "extension:102" {
			t.Errorf("path %v, want the open route", r.Path)
		}
		// Monday 08:00 the schedule opens by itself: the override is over,
		// and at 18:00 it closes as usual.
		time.Sleep(time.Until(wantUntil.Add(10 * time.Hour)))
		st, _ = o.e.ScheduleStateAt("business", time.Now())
		if st.Open || st.Override != "auto" {
			t.Errorf("Monday 18:00: %+v, want closed, auto", st)
		}
		if err := o.e.SetOverride(t.Context(), "api", "business", false); err != nil {
			t.Fatal(err)
		}
		if err := o.e.ClearOverride(t.Context(), "api", "business"); err != nil {
			t.Fatal(err)
		}
		if st, _ = o.e.ScheduleStateAt("business", time.Now()); st.Override != "auto" {
			t.Errorf("after clear: %+v", st)
		}
		if err := o.e.SetOverride(t.Context(), "api", "nope", true); err == nil {
			t.Error("override of an unknown schedule accepted")
		}
		if len(audit.rows) != 3 || !strings.HasPrefix(audit.rows[0], "api schedule.override business open until 2000-01-03T08:00:00-05:00") {
			t.Errorf("audit %q", audit.rows)
		}
	})
}

func TestScheduleFeatureCodeToggles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		dial := func(from, code string) call.Cause {
			caller := calltest.NewLeg(from)
			o.e.Handle(t.Context(), caller, Inbound{CallID: "f", To: code, Extension: from})
			return caller.HangupCause()
		}
		if c := dial("102", "*28"); c != call.Normal {
			t.Fatalf("*28 ended with %v", c)
		}
		if st, _ := o.e.ScheduleStateAt("business", time.Now()); !st.Open || st.Override != "open" {
			t.Errorf("after *28: %+v, want forced open", st)
		}
		dial("102", "*281")
		if st, _ := o.e.ScheduleStateAt("business", time.Now()); st.Open || st.Override != "auto" {
			t.Errorf("after *281: %+v, want back to auto (closed)", st)
		}
		if c := dial("102", "*282"); c != call.NotFound {
			t.Errorf("*282 with one schedule: %v, want not found", c)
		}
	})
}

func TestNextChangeAcrossDST(t *testing.T) {
	o := newOffice(t, nil)
	snap := o.e.Config.Current()
	s := &snap.Site.Schedules[0]
	s2 := *s
	s2.Holidays = []string{"2026-03-09"}
	tests := []struct {
		name string
		from time.Time
		want time.Time
	}{
		// Saturday before the spring-forward Sunday: opens Monday 08:00 EDT.
		{"weekend", time.Date(2026, 3, 7, 12, 0, 0, 0, snap.Loc), time.Date(2026, 3, 9, 8, 0, 0, 0, snap.Loc)},
		{"open", time.Date(2026, 3, 9, 9, 0, 0, 0, snap.Loc), time.Date(2026, 3, 9, 18, 0, 0, 0, snap.Loc)},
	}
	for _, tt := range tests {
		if got := nextChange(s, tt.from, snap.Loc); !got.Equal(tt.want) {
			t.Errorf("%s: next change %v, want %v", tt.name, got.In(snap.Loc), tt.want)
		}
	}
	// A holiday on Monday: the weekend's closed state lasts to Tuesday.
	if got, want := nextChange(&s2, tests[0].from, snap.Loc), time.Date(2026, 3, 10, 8, 0, 0, 0, snap.Loc); !got.Equal(want) {
		t.Errorf("holiday: %v, want %v", got.In(snap.Loc), want)
	}
}

type savedOverride struct {
	open       bool
	until, set time.Time
	by         string
}

type memOverrides struct {
	mu sync.Mutex
	m  map[string]savedOverride
}

func (s *memOverrides) SaveOverride(ctx context.Context, schedule string, open bool, until, set time.Time, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[schedule] = savedOverride{open, until, set, by}
	return nil
}

func (s *memOverrides) DeleteOverride(ctx context.Context, schedule string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, schedule)
	return nil
}

func TestScheduleOverrideSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		saved := &memOverrides{m: map[string]savedOverride{}}
		o := newOffice(t, nil) // Friday 19:00: business is closed
		o.e.OverrideStore = saved
		if err := o.e.SetOverride(t.Context(), "api", "business", true); err != nil {
			t.Fatal(err)
		}
		// The box restarts: a new engine restores what was saved.
		again := newOffice(t, nil)
		for id, s := range saved.m {
			again.e.RestoreOverride(id, s.open, s.until, s.set, s.by)
		}
		if st, _ := again.e.ScheduleStateAt("business", time.Now()); !st.Open || st.Override != "open" {
			t.Errorf("after restart: %+v, want still open by override", st)
		}
		if err := o.e.ClearOverride(t.Context(), "api", "business"); err != nil {
			t.Fatal(err)
		}
		if len(saved.m) != 0 {
			t.Errorf("cleared override still saved: %+v", saved.m)
		}
	})
}
