package picture

import (
	"html/template"
	"testing"
	"time"

	"ringbox/firmware/site"
)

// samplePictures draws one of each picture, with everything switched on.
func samplePictures(t *testing.T) []template.HTML {
	loc := paris(t)
	setNow(t, time.Date(2026, 12, 23, 10, 30, 0, 0, loc))
	return []template.HTML{
		RingGroupTimeline(sales(), nil, label),
		WeekGrid(office(), loc, time.Date(2026, 12, 23, 0, 0, 0, 0, loc)),
		IVRTree(site.IVR{ID: "main", Name: "Main menu", Greeting: "welcome", DirectDial: true,
			Options: map[string]string{"1": "ringgroup:sales", "2": "queue:support", "0": "extension:100"}}, label),
	}
}
