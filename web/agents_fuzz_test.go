package web

import (
	"testing"
	"time"
)

func FuzzParseUntil(f *testing.F) {
	for _, s := range []string{"30m", "2026-05-04T13:30:00+02:00", "", "-1h", "yesterday", "1e9h"} {
		f.Add(s)
	}
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUntil(s, now)
		if err == nil && s != "" && !u.After(now) {
			t.Errorf("parseUntil(%q) = %v, not after now", s, u)
		}
	})
}
