package voicemail

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"ringbox/firmware/store"
)

func TestMarkHeardAndDeleteFromTheWeb(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	rel := filepath.Join("voicemail", "101", "m.wav")
	os.MkdirAll(filepath.Join(f.s.DataDir, "voicemail", "101"), 0o750)
	if err := os.WriteFile(filepath.Join(f.s.DataDir, rel), []byte("RIFF"), 0o640); err != nil {
		t.Fatal(err)
	}
	id1, _ := f.st.InsertVoicemail(ctx, store.VoicemailMessage{Box: "101", File: rel})
	id2, _ := f.st.InsertVoicemail(ctx, store.VoicemailMessage{Box: "101"})

	if err := f.s.MarkHeard(ctx, testSite(), "101", id2); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Delete(ctx, testSite(), "101", id1, rel); err != nil {
		t.Fatal(err)
	}
	// The light follows: 1 new and 1 old, then the new one deleted.
	if want := []string{"101:1/1", "101:0/1"}; !slices.Equal(f.mwi.got, want) {
		t.Errorf("MWI %v, want %v", f.mwi.got, want)
	}
	if _, err := os.Stat(filepath.Join(f.s.DataDir, rel)); !os.IsNotExist(err) {
		t.Errorf("the deleted message's file is still there: %v", err)
	}
	msgs, _ := f.st.ListVoicemail(ctx, "101")
	if len(msgs) != 1 || msgs[0].ID != id2 || !msgs[0].Heard {
		t.Errorf("messages left: %+v, want the heard one", msgs)
	}
}
