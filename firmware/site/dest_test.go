package site

import (
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	tests := []struct {
		in   string
		want Dest
		err  string
	}{
		{"ivr:main", Dest{DestIVR, "main"}, ""},
		{"ringgroup:front", Dest{DestRingGroup, "front"}, ""},
		{"hunt:support", Dest{DestHunt, "support"}, ""},
		{"queue:service", Dest{DestQueue, "service"}, ""},
		{"announce:recorded", Dest{DestAnnounce, "recorded"}, ""},
		{"extension:101", Dest{DestExtension, "101"}, ""},
		{"agent:bob", Dest{DestAgent, "bob"}, ""},
		{"voicemail:general", Dest{DestVoicemail, "general"}, ""},
		{"voicemail:101", Dest{DestVoicemail, "101"}, ""},
		{"external:+15550100", Dest{DestExternal, "+15550100"}, ""},
		{"disa", Dest{DestDISA, ""}, ""},
		{"hangup", Dest{DestHangup, ""}, ""},
		{"", Dest{}, "empty destination"},
		{"queues:service", Dest{}, `unknown destination "queues:service"`},
		{"schedule:business", Dest{}, "unknown destination"},
		{"queue:", Dest{}, "needs a name"},
		{"queue", Dest{}, "needs a name"},
		{"hangup:now", Dest{}, "takes nothing"},
		{"extension:bob", Dest{}, "digits only"},
		{"external:555-0100", Dest{}, "digits"},
		{"queue:my queue", Dest{}, "not a valid name"},
	}
	for _, tt := range tests {
		got, err := ParseDestination(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDestination(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDestination(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("Dest(%q).String() = %q", tt.in, got.String())
		}
	}
}
