package config_test

import (
	"testing"

	"ringbox/firmware/config"
	"ringbox/firmware/site"
)

// TestDiffNamesConferenceRooms: a room added, changed or removed is named
// in config.changed like any other object.
func TestDiffNamesConferenceRooms(t *testing.T) {
	old := &site.Site{Conferences: []site.Conference{{ID: "team", Number: "800"}, {ID: "gone", Number: "801"}}}
	next := &site.Site{Conferences: []site.Conference{{ID: "team", Number: "800", PIN: "1234"}, {ID: "new", Number: "802"}}}
	want := "added conferences new; removed conferences gone; changed conferences team"
	if got := config.Diff(old, next).String(); got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
}
