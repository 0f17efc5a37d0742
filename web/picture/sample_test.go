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
	qr, err := QR("sip:101@192.168.1.10:5060")
	if err != nil {
		t.Fatal(err)
	}
	return []template.HTML{
		qr,
		RingGroupTimeline(sales(), nil, label),
		WeekGrid(office(), loc, time.Date(2026, 12, 23, 0, 0, 0, 0, loc)),
		IVRTree(site.IVR{ID: "main", Name: "Main menu", Greeting: "welcome", DirectDial: true,
			Options: map[string]string{"1": "ringgroup:sales", "2": "queue:support", "0": "extension:100"}}, label),
	}
}
