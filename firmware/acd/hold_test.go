package acd

import (
	"context"
	"testing"

	"ringbox/audio/moh"
	"ringbox/firmware/call"
)

// fakeG711Media records whether hold music came as encoded frames or PCM.
type fakeG711Media struct {
	codec           string
	encoded, played int
}

func (m *fakeG711Media) Play(ctx context.Context, src call.Source, bargeIn bool) error {
	m.played++
	return nil
}
func (m *fakeG711Media) Digits() <-chan call.Digit { return nil }
func (m *fakeG711Media) Codec() string             { return m.codec }
func (m *fakeG711Media) Codecs() []string          { return []string{m.codec} }
func (m *fakeG711Media) PlayEncoded(ctx context.Context, src interface {
	ReadULaw([]byte) bool
	ReadALaw([]byte) bool
}, bargeIn bool) error {
	m.encoded++
	return nil
}

func TestHoldMusicSharesTheEncoding(t *testing.T) {
	hub := moh.New()
	defer hub.Close()
	hub.SetClass("default", []moh.Track{{PCM8k: make([]int16, 8000), PCM16k: make([]int16, 16000)}})
	l, err := hub.Listen("default", 8000)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tt := range []struct {
		codec       string
		wantEncoded bool
	}{{"PCMU", true}, {"PCMA", true}, {"G722", false}} {
		m := &fakeG711Media{codec: tt.codec}
		playHold(t.Context(), m, l)
		if got := m.encoded == 1; got != tt.wantEncoded || m.encoded+m.played != 1 {
			t.Errorf("%s: encoded %d, PCM %d; want encoded=%v", tt.codec, m.encoded, m.played, tt.wantEncoded)
		}
	}
	// A source that is not a hold-music listener (ringback) is played as PCM.
	m := &fakeG711Media{codec: "PCMU"}
	playHold(t.Context(), m, silence{})
	if m.played != 1 {
		t.Error("ringback not played as PCM")
	}
}
