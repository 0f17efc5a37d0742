package store

import (
	"testing"
	"time"
)

func TestVoicemailMessages(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{Now: newClock().Now})
	ctx := t.Context()
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i, caller := range []string{"+15550001", "+15550002", "+15550003"} {
		id, err := s.InsertVoicemail(ctx, VoicemailMessage{Box: "101", Time: base.Add(time.Duration(i) * time.Minute),
			Caller: caller, Duration: 5 * time.Second, File: "voicemail/101/x.wav"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.InsertVoicemail(ctx, VoicemailMessage{Box: "general", Caller: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkVoicemailHeard(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVoicemail(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	n, o, err := s.CountVoicemail(ctx, "101")
	if err != nil || n != 1 || o != 1 {
		t.Errorf("CountVoicemail = %d new, %d old, %v; want 1, 1", n, o, err)
	}
	msgs, err := s.ListVoicemail(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Caller != "+15550003" || msgs[0].Heard || msgs[1].Caller != "+15550001" || !msgs[1].Heard {
		t.Errorf("ListVoicemail = %+v, want the new message first, then the heard one", msgs)
	}
	if msgs[0].Duration != 5*time.Second || !msgs[0].Time.Equal(base.Add(2*time.Minute)) {
		t.Errorf("message = %+v", msgs[0])
	}
}
