package call

import (
	"context"
	"fmt"
	"testing"
)

func TestCauseOf(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(AnsweredElsewhere)
	tests := []struct {
		name string
		err  error
		want Cause
	}{
		{"nil", nil, Normal},
		{"cause", Busy, Busy},
		{"wrapped", fmt.Errorf("dial 101: %w", Unavailable), Unavailable},
		{"context cause", context.Cause(ctx), AnsweredElsewhere},
		{"deadline", context.DeadlineExceeded, NoAnswer},
		{"other", fmt.Errorf("boom"), Failure},
	}
	for _, tt := range tests {
		if got := CauseOf(tt.err); got != tt.want {
			t.Errorf("%s: CauseOf(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestSIPMapping(t *testing.T) {
	// A cause sent as a SIP status and read back is the same cause, for the
	// causes a caller can tell apart.
	for _, c := range []Cause{Busy, Unavailable, NotFound, Rejected, Cancelled, Forbidden, Congestion} {
		code, reason := c.SIPStatus()
		if reason == "" {
			t.Errorf("%v: empty reason", c)
		}
		if got := CauseFromSIP(code); got != c {
			t.Errorf("CauseFromSIP(%d) = %v, want %v", code, got, c)
		}
	}
	if s := Cause(99).String(); s != "unknown" {
		t.Errorf("Cause(99) = %q", s)
	}
}
