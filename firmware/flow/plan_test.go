package flow

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ringbox/firmware/site"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func planSite() *site.Site {
	s := officeSite()
	s.RingGroups = append(s.RingGroups, site.RingGroup{ID: "plan", Stages: []site.Stage{
		{Ring: []string{"bob", "steve", "nina"}, For: site.Duration(20 * time.Second)},
		{Ring: []string{"sue", "janet", "ext:105", "fxs:1"}, For: site.Duration(20 * time.Second)},
	}, Repeat: 2, Confirm: site.ConfirmExternal, NoAnswer: "voicemail:109"})
	s.Lines = []site.Line{{Port: "fxs:1", Extension: "107"}}
	return s
}

// TestPlanGolden: Monday 16:59:30 in New York, Steve on a call. Nina's
// hours end at 17:00, so she rings in the first round only; ext 105 is in
// do-not-disturb.
func TestPlanGolden(t *testing.T) {
	o := newOffice(t, planSite())
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/ringgroups/{id}/plan", o.e.PlanHandler())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/ringgroups/plan/plan?at=2026-03-09T16:59:30&busy=steve", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(golden, rec.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), want) {
		t.Errorf("plan differs from %s (run with -update after checking):\n%s", golden, rec.Body)
	}
}

func TestPlanUnknownGroup(t *testing.T) {
	o := newOffice(t, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/ringgroups/nope/plan", nil)
	o.e.PlanHandler().ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("status %d, want 404", rec.Code)
	}
	if _, err := o.e.Plan("nope", time.Now()); err == nil {
		t.Error("Plan of an unknown group: no error")
	}
}

func TestPlanWholeStageSkippedStartsNextAtOnce(t *testing.T) {
	o := newOffice(t, nil)
	defer o.pres.Begin("agent:bob", "agent:steve")()
	res, err := o.e.Plan("front", time.Date(2026, 3, 9, 10, 0, 0, 0, o.e.Config.Current().Loc))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rings) == 0 || res.Rings[0].Member != "sue" || res.Rings[0].From != 0 {
		t.Errorf("first ring %+v, want sue at once", res.Rings)
	}
	if res.End != Offset(40*time.Second) || res.NoAnswer != "extension:107" {
		t.Errorf("end %v → %s, want 40s → extension:107", time.Duration(res.End), res.NoAnswer)
	}
}

// BenchmarkPlan measures one dry run of a two-stage, two-round group
// (what GET /api/v1/ringgroups/{id}/plan costs).
func BenchmarkPlan(b *testing.B) {
	cfg := newOffice(b, planSite())
	at := time.Date(2026, 3, 9, 16, 59, 30, 0, cfg.e.Config.Current().Loc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.e.Plan("plan", at); err != nil {
			b.Fatal(err)
		}
	}
}
