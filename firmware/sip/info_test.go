package sip

import (
	"testing"
	"time"
)

func TestParseInfoDigit(t *testing.T) {
	tests := []struct {
		ct, body string
		key      byte
		dur      time.Duration
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond},
		{"application/dtmf-relay", "Signal= 11\nDuration= 100", '#', 100 * time.Millisecond},
		{"application/dtmf-relay", "Signal=*", '*', 0},
		{"application/dtmf", "a", 'A', 0},
		{"application/dtmf-relay", "Signal=X", 0, 0},
		{"text/plain", "5", 0, 0},
	}
	for _, tt := range tests {
		d, ok := parseInfoDigit(tt.ct, tt.body)
		if d.Key != tt.key || ok != (tt.key != 0) || d.Duration != tt.dur {
			t.Errorf("parseInfoDigit(%q, %q) = %q %v %v, want %q %v", tt.ct, tt.body, d.Key, d.Duration, ok, tt.key, tt.dur)
		}
	}
}

func FuzzParseInfoDigit(f *testing.F) {
	f.Add("application/dtmf-relay", "Signal=1\r\nDuration=250")
	f.Add("application/dtmf", "#")
	f.Fuzz(func(t *testing.T, ct, body string) {
		d, ok := parseInfoDigit(ct, body)
		if ok && !isDTMFKey(d.Key) {
			t.Fatalf("accepted key %q", d.Key)
		}
		if d.Duration < 0 || d.Duration > time.Minute {
			t.Fatalf("duration %v", d.Duration)
		}
	})
}

func isDTMFKey(k byte) bool {
	return (k >= '0' && k <= '9') || k == '*' || k == '#' || (k >= 'A' && k <= 'D')
}
