package picture

import (
	"html/template"
	"testing"
	"time"
)

// samplePictures draws one of each picture, with everything switched on.
func samplePictures(t *testing.T) []template.HTML {
	loc := paris(t)
	setNow(t, time.Date(2026, 12, 23, 10, 30, 0, 0, loc))
	return []template.HTML{
		RingGroupTimeline(sales(), nil, label),
		WeekGrid(office(), loc, time.Date(2026, 12, 23, 0, 0, 0, 0, loc)),
	}
}
