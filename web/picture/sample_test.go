package picture

import (
	"html/template"
	"testing"
)

// samplePictures draws one of each picture, with everything switched on.
func samplePictures(t *testing.T) []template.HTML {
	return []template.HTML{RingGroupTimeline(sales(), nil, label)}
}
