package store

import (
	"context"
	"testing"
	"time"
)

func TestScheduleOverridesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	set := time.Date(2026, 11, 23, 12, 30, 0, 0, time.UTC)
	if err := st.SaveScheduleOverride(ctx, ScheduleOverride{Schedule: "business", Open: true, Until: until, Set: set, By: "ext:101"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveScheduleOverride(ctx, ScheduleOverride{Schedule: "night", Set: set, By: "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteScheduleOverride(ctx, "night"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.LoadScheduleOverrides(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := ScheduleOverride{Schedule: "business", Open: true, Until: until, Set: set, By: "ext:101"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("after reopen: %+v, want [%+v]", got, want)
	}
}
