package analog

import (
	"testing"

	"ringbox/firmware/site"
)

func TestJudge(t *testing.T) {
	s := &site.Site{
		Extensions: []site.Extension{{Number: "101"}, {Number: "102"}, {Number: "1020"}, {Number: "201"}},
		Outbound: []site.OutboundRoute{
			{Pattern: "911"},
			{Pattern: "9."},
			{Pattern: "1NXXNXXXXXX"},
		},
	}
	for _, c := range []struct {
		digits string
		want   verdict
	}{
		{"1", wait},
		{"10", wait},
		{"101", dialNow},  // an extension nothing longer starts with
		{"102", wait},     // 1020 may follow
		{"1020", dialNow}, // and is complete
		{"201", dialNow},  //
		{"911", wait},     // 9. still takes more
		{"12125551234", dialNow},
		{"*4", wait},
		{"*45", dialNow},
		{"*28", wait}, // *28 or *28N
		{"*282", wait},
		{"*701234", wait},
		{"5", noMatch},
		{"3", noMatch},
	} {
		if got := judge(s, c.digits); got != c.want {
			t.Errorf("judge(%q) = %v, want %v", c.digits, got, c.want)
		}
	}
	// Without the catch-all, 911 dials at once.
	s.Outbound = s.Outbound[:1]
	if got := judge(s, "911"); got != dialNow {
		t.Errorf("judge(911) with only the 911 route = %v, want dial now", got)
	}
}
