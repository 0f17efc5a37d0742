package proslic

import "time"

// debounce is a boolean input that must hold a new level for a time
// before it is believed.
type debounce struct {
	state   bool      // the believed level
	pending bool      // raw differs from state since since
	since   time.Time // when raw first differed
}

// update feeds one raw sample taken at now. It reports whether the
// believed level changed, and when the raw level first changed.
func (d *debounce) update(raw bool, now time.Time, hold time.Duration) (changed bool, at time.Time) {
	if raw == d.state {
		d.pending = false
		return false, time.Time{}
	}
	if !d.pending {
		d.pending, d.since = true, now
	}
	if now.Sub(d.since) < hold {
		return false, time.Time{}
	}
	d.state, d.pending = raw, false
	return true, d.since
}

// force sets the believed level, dropping any pending change.
func (d *debounce) force(v bool) { d.state, d.pending = v, false }
