package voicemail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// memStore is an in-memory Store.
type memStore struct {
	mu   sync.Mutex
	next int64
	msgs []store.VoicemailMessage
}

func (m *memStore) InsertVoicemail(ctx context.Context, v store.VoicemailMessage) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	v.ID = m.next
	m.msgs = append(m.msgs, v)
	return v.ID, nil
}

func (m *memStore) ListVoicemail(ctx context.Context, box string) ([]store.VoicemailMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.VoicemailMessage
	for _, heard := range []bool{false, true} {
		for _, v := range m.msgs {
			if v.Box == box && v.Heard == heard {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func (m *memStore) MarkVoicemailHeard(ctx context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.msgs {
		if m.msgs[i].ID == id {
			m.msgs[i].Heard = true
		}
	}
	return nil
}

func (m *memStore) DeleteVoicemail(ctx context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = slices.DeleteFunc(m.msgs, func(v store.VoicemailMessage) bool { return v.ID == id })
	return nil
}

func (m *memStore) CountVoicemail(ctx context.Context, box string) (int, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, o := 0, 0
	for _, v := range m.msgs {
		if v.Box != box {
			continue
		}
		if v.Heard {
			o++
		} else {
			n++
		}
	}
	return n, o, nil
}

type mwiLog struct {
	mu  sync.Mutex
	got []string
}

func (m *mwiLog) Notify(ext string, n, o int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, ext+":"+string(rune('0'+n))+"/"+string(rune('0'+o)))
}

type mailLog struct {
	mu   sync.Mutex
	to   []string
	msgs []Message
}

func (m *mailLog) send(ctx context.Context, relay site.SMTP, to string, msg Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.to = append(m.to, to)
	m.msgs = append(m.msgs, msg)
	return nil
}

type silence struct{ frames int }

func (s *silence) ReadFrame(f []int16) bool {
	if s.frames == 0 {
		return false
	}
	s.frames--
	clear(f)
	return true
}

func testSite() *site.Site {
	return &site.Site{
		Version: 1,
		System:  site.System{Timezone: "America/New_York", SMTP: &site.SMTP{Host: "127.0.0.1:25", From: "pbx@example.com"}},
		Extensions: []site.Extension{
			{Number: "101", Name: "Bob", Voicemail: true, Email: "bob@example.com"},
			{Number: "102"},
		},
		Voicemail: []site.Mailbox{{Box: "general", MaxLength: site.Duration(5 * time.Second)}},
	}
}

type fixture struct {
	s     *Service
	st    *memStore
	mwi   *mwiLog
	mail  *mailLog
	asked []string
}

// newFixture: every prompt lasts one second.
func newFixture(t *testing.T) *fixture {
	f := &fixture{st: &memStore{}, mwi: &mwiLog{}, mail: &mailLog{}}
	var mu sync.Mutex
	f.s = &Service{Store: f.st, DataDir: t.TempDir(), MWI: f.mwi, Mail: f.mail.send,
		Prompts: func(id string, rate int) (call.Source, bool) {
			mu.Lock()
			f.asked = append(f.asked, id)
			mu.Unlock()
			return &silence{frames: 50}, true
		}}
	return f
}

func readMessage(t *testing.T, path string) ([]int16, wav.Format) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	return pcm, f
}

func TestLeaveMessageFinishedByHash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"), calltest.Speaks(1234))
		// Greeting 0-1 s, beep 1-2 s, then 5 s of message, then #. The
		// # comes between two 20 ms frames: at the instant of the frame
		// that ends the 5 s, which of the two is read first would be up
		// to the scheduler, and the message 4.98 s one run in many.
		caller.PressAfter(7*time.Second+10*time.Millisecond, "#")
		c, err := f.s.Leave(t.Context(), caller, Leave{Site: testSite(), Box: "101", From: caller.Remote(), CallID: "c1"})
		f.s.Close()
		if err != nil || c != call.Normal {
			t.Fatalf("Leave = %v, %v", c, err)
		}
		if len(f.st.msgs) != 1 {
			t.Fatalf("stored %d messages, want 1", len(f.st.msgs))
		}
		m := f.st.msgs[0]
		if m.Box != "101" || m.Caller != "+15557770000" || m.CallerName != "Alice" || m.Heard || m.Duration != 5*time.Second {
			t.Errorf("row %+v", m)
		}
		pcm, fm := readMessage(t, filepath.Join(f.s.DataDir, m.File))
		if fm.Rate != 8000 || len(pcm) != 5*8000 || pcm[0] != 1234 || pcm[len(pcm)-1] != 1234 {
			t.Errorf("file: %d samples at %d Hz, first %d", len(pcm), fm.Rate, pcm[0])
		}
		if filepath.Dir(m.File) != filepath.Join("voicemail", "101") {
			t.Errorf("file %s not under voicemail/101", m.File)
		}
		if !slices.Equal(f.mwi.got, []string{"101:1/0"}) {
			t.Errorf("MWI %v, want 101 with 1 new", f.mwi.got)
		}
		if len(f.mail.msgs) != 1 || f.mail.to[0] != "bob@example.com" {
			t.Fatalf("mails to %v", f.mail.to)
		}
		disk, _ := os.ReadFile(filepath.Join(f.s.DataDir, m.File))
		if !bytes.Equal(f.mail.msgs[0].WAV, disk) {
			t.Error("mailed WAV differs from the stored file")
		}
		want := []string{"voicemail-greeting", "voicemail-beep", "goodbye"}
		if !slices.Equal(f.asked, want) {
			t.Errorf("prompts %v, want %v", f.asked, want)
		}
	})
}

func TestLeaveShortMessageDiscarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		caller := calltest.NewLeg("caller", calltest.Speaks(5))
		time.AfterFunc(3500*time.Millisecond, func() { caller.Hangup(call.Normal) }) // 1.5 s after the beep
		c, _ := f.s.Leave(t.Context(), caller, Leave{Site: testSite(), Box: "101", CallID: "c2"})
		f.s.Close()
		if c != call.Normal {
			t.Errorf("cause %v", c)
		}
		if len(f.st.msgs) != 0 || len(f.mwi.got) != 0 || len(f.mail.msgs) != 0 {
			t.Errorf("short message kept: rows %v, mwi %v, mails %d", f.st.msgs, f.mwi.got, len(f.mail.msgs))
		}
		if ents, _ := os.ReadDir(filepath.Join(f.s.DataDir, "voicemail", "101")); len(ents) != 0 {
			t.Errorf("files left: %v", ents)
		}
	})
}

func TestLeaveMaxLengthGroupBox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		caller := calltest.NewLeg("caller", calltest.Speaks(7))
		start := time.Now()
		f.s.Leave(t.Context(), caller, Leave{Site: testSite(), Box: "general", CallID: "c3"})
		f.s.Close()
		if d := time.Since(start); d != 7*time.Second {
			t.Errorf("took %v, want 2 s of prompts + 5 s max length", d)
		}
		if len(f.st.msgs) != 1 || f.st.msgs[0].Duration != 5*time.Second {
			t.Fatalf("rows %+v", f.st.msgs)
		}
		if len(f.mwi.got) != 0 || len(f.mail.msgs) != 0 {
			t.Errorf("group box without e-mail: mwi %v mails %d", f.mwi.got, len(f.mail.msgs))
		}
	})
}

func TestLeaveUnknownBox(t *testing.T) {
	f := newFixture(t)
	if c, err := f.s.Leave(t.Context(), calltest.NewLeg("x"), Leave{Site: testSite(), Box: "102"}); c != call.NotFound || err == nil {
		t.Errorf("Leave in an extension without voicemail = %v, %v", c, err)
	}
}

func TestListenDeleteAndNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		s := testSite()
		for i, level := range []int16{11, 22} {
			caller := calltest.NewLeg("c", calltest.Speaks(level))
			caller.PressAfter(5*time.Second, "#")
			if _, err := f.s.Leave(t.Context(), caller, Leave{Site: s, Box: "101", CallID: "m" + string(rune('0'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		f.s.Close()
		files := []string{f.st.msgs[0].File, f.st.msgs[1].File}
		f.mwi.got, f.asked = nil, nil

		owner := calltest.NewLeg("bob")
		// 3 during "you have 2 new messages" skips to the first message's
		// menu and deletes it; 1 after the second moves on to the end.
		owner.PressAfter(time.Second, "3")
		owner.PressAfter(10*time.Second, "1")
		c := f.s.Listen(t.Context(), owner, s, "101")
		if c != call.Normal {
			t.Errorf("Listen = %v", c)
		}
		if len(f.st.msgs) != 1 || f.st.msgs[0].File != files[1] || !f.st.msgs[0].Heard {
			t.Errorf("left %+v, want only the second message, heard", f.st.msgs)
		}
		if _, err := os.Stat(filepath.Join(f.s.DataDir, files[0])); !os.IsNotExist(err) {
			t.Errorf("deleted message's file still there: %v", err)
		}
		if !slices.Contains(f.asked, "message-deleted") || !slices.Contains(f.asked, "no-more-messages") {
			t.Errorf("prompts %v", f.asked)
		}
		if got := f.mwi.got; len(got) == 0 || got[len(got)-1] != "101:0/1" {
			t.Errorf("MWI %v, want 101 with 0 new, 1 old at the end", got)
		}
	})
}
