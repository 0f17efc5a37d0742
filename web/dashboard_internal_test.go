package web

import (
	"testing"
	"time"

	"ringbox/firmware/acd"
)

// The dashboard and the wallboard count every agent once, in the bucket a
// supervisor would name.
func TestAgentBucket(t *testing.T) {
	tests := []struct {
		name     string
		status   acd.Status
		state    acd.State
		offHours bool
		want     string
	}{
		{"logged out", acd.LoggedOut, acd.Idle, false, bucketLoggedOut},
		{"logged out off hours", acd.LoggedOut, acd.Idle, true, bucketLoggedOut},
		{"available", acd.Available, acd.Idle, false, bucketAvailable},
		{"ringing counts as on call", acd.Available, acd.Offered, false, bucketOnCall},
		{"on call", acd.Available, acd.OnCall, false, bucketOnCall},
		{"paused during a call is still on it", acd.Unavailable, acd.OnCall, false, bucketOnCall},
		{"wrap-up", acd.Available, acd.Wrapup, false, bucketWrapup},
		{"paused", acd.Unavailable, acd.Idle, false, bucketUnavailable},
		{"outside working hours", acd.Available, acd.Idle, true, bucketUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := agentBucket(tt.status, tt.state, tt.offHours); got != tt.want {
				t.Errorf("agentBucket(%v, %v, %v) = %q, want %q", tt.status, tt.state, tt.offHours, got, tt.want)
			}
		})
	}
}

// "Today" is the office's day: at 00:30 in Paris it is already today there
// while UTC is still on yesterday, and a DST day still starts at midnight.
func TestMidnight(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		at   time.Time
		want time.Time
	}{
		{time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, paris)},
		{time.Date(2026, 3, 29, 12, 0, 0, 0, paris), time.Date(2026, 3, 29, 0, 0, 0, 0, paris)}, // spring forward
	}
	for _, tt := range tests {
		if got := midnight(tt.at, paris); !got.Equal(tt.want) {
			t.Errorf("midnight(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if got := midnight(time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), nil); !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("no zone: %v, want UTC midnight", got)
	}
}
