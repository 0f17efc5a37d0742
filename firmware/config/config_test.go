package config

import (
	"testing"

	"ringbox/firmware/site"
)

func TestSnapshotKeptByCallInProgress(t *testing.T) {
	v1 := &site.Site{Version: 1, Extensions: []site.Extension{{Number: "101"}}}
	st, err := New(v1, 1)
	if err != nil {
		t.Fatal(err)
	}
	inCall := st.Current() // a call starts
	v2 := &site.Site{Version: 1, Extensions: []site.Extension{{Number: "101", Name: "Bob"}, {Number: "102"}}}
	old, err := st.Publish(v2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if old != inCall || inCall.Site.Extensions[0].Name != "" {
		t.Error("the call in progress lost its snapshot")
	}
	if st.Current().Version != 2 || len(st.Site().Extensions) != 2 {
		t.Error("new calls do not see the new snapshot")
	}
	d := Diff(v1, v2)
	if got := d.String(); got != "added extensions 102; changed extensions 101" {
		t.Errorf("Diff = %q", got)
	}
	if !d.Touches("extensions") || d.Touches("prompts") {
		t.Errorf("Touches wrong for %v", d)
	}
}

func TestPublishRejectsBadPattern(t *testing.T) {
	st, _ := New(&site.Site{Version: 1}, 1)
	if _, err := st.Publish(&site.Site{Outbound: []site.OutboundRoute{{Pattern: "9.1"}}}, 2); err == nil {
		t.Fatal("published a site with an unparseable pattern")
	}
	if st.Current().Version != 1 {
		t.Error("a failed publish replaced the snapshot")
	}
}
