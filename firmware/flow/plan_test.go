package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
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
	at := time.Date(2026, 3, 9, 16, 59, 30, 0, o.e.Config.Current().Loc)
	res, err := o.e.Plan("plan", at, "steve")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("plan differs from %s (run with -update after checking):\n%s", golden, got.Bytes())
	}
}

func TestPlanUnknownGroup(t *testing.T) {
	o := newOffice(t, nil)
	if _, err := o.e.Plan("nope", time.Now()); !errors.Is(err, ErrUnknownGroup) {
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
