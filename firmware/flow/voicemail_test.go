package flow

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail"
)

// vmStore keeps voicemail rows in memory.
type vmStore struct {
	mu   sync.Mutex
	msgs []store.VoicemailMessage
}

func (s *vmStore) InsertVoicemail(ctx context.Context, m store.VoicemailMessage) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID = int64(len(s.msgs) + 1)
	s.msgs = append(s.msgs, m)
	return m.ID, nil
}

func (s *vmStore) ListVoicemail(ctx context.Context, box string) ([]store.VoicemailMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.VoicemailMessage
	for _, m := range s.msgs {
		if m.Box == box {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *vmStore) MarkVoicemailHeard(ctx context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.msgs {
		if s.msgs[i].ID == id {
			s.msgs[i].Heard = true
		}
	}
	return nil
}

func (s *vmStore) DeleteVoicemail(ctx context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = slices.DeleteFunc(s.msgs, func(m store.VoicemailMessage) bool { return m.ID == id })
	return nil
}

func (s *vmStore) CountVoicemail(ctx context.Context, box string) (int, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, o := 0, 0
	for _, m := range s.msgs {
		if m.Box == box && m.Heard {
			o++
		} else if m.Box == box {
			n++
		}
	}
	return n, o, nil
}

func TestUnansweredExtensionGoesToItsMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		st := &vmStore{}
		o.e.Voicemail = &voicemail.Service{Store: st, DataDir: t.TempDir(), Prompts: o.prompts.source}
		o.silent("101", "+15550001001")
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"), calltest.Speaks(99))
		// 20 s ringing, 1 s greeting, 1 s beep, then 4 s message and #.
		caller.PressAfter(26*time.Second, "#")
		o.dest(t, caller, "extension:101")
		o.e.Voicemail.Close()
		r := o.cdr.last(t)
		if !slices.Equal(r.Path, []string{"extension:101", "voicemail:101"}) {
			t.Errorf("path %v", r.Path)
		}
		if len(st.msgs) != 1 || st.msgs[0].Duration != 4*time.Second || st.msgs[0].Caller != "+15557770000" {
			t.Errorf("messages %+v", st.msgs)
		}
		if r.Answer.Sub(o.d.start) != 20*time.Second {
			t.Errorf("answered at %v, want when voicemail took the call (20s)", r.Answer.Sub(o.d.start))
		}

		// *97 from Bob's phone: the message plays, 1 moves on.
		owner := calltest.NewLeg("bob")
		owner.PressAfter(12*time.Second, "1")
		o.e.Handle(t.Context(), owner, Inbound{CallID: "l1", To: "*97", Extension: "101"})
		if c := owner.HangupCause(); c != call.Normal {
			t.Errorf("*97 ended with %v", c)
		}
		if !st.msgs[0].Heard {
			t.Error("message not moved to old after listening")
		}
	})
}

func TestBusyExtensionBusyGreeting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		st := &vmStore{}
		o.e.Voicemail = &voicemail.Service{Store: st, DataDir: t.TempDir(), Prompts: o.prompts.source}
		o.d.Fail("101", call.Busy)
		o.d.Fail("+15550001001", call.Busy)
		caller := calltest.NewLeg("caller")
		time.AfterFunc(time.Second, func() { caller.Hangup(call.Normal) })
		c := o.e.newCall(caller, Inbound{CallID: "vm"})
		c.run(t.Context(), "extension:101")
		if !c.busy {
			t.Error("voicemail not told the extension was busy")
		}
	})
}

// TestCallerEndingAMessageIsANormalCall: a caller who hangs up during the
// greeting, or to end the message (the usual way), made a normal call: the
// CDR says normal, hung up by the caller, not a failure of the box.
func TestCallerEndingAMessageIsANormalCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		st := &vmStore{}
		o.e.Voicemail = &voicemail.Service{Store: st, DataDir: t.TempDir(), Prompts: o.prompts.source}
		for _, at := range []time.Duration{500 * time.Millisecond, 8 * time.Second} {
			caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"), calltest.Speaks(99))
			time.AfterFunc(at, func() { caller.Hangup(call.Normal) })
			o.dest(t, caller, "voicemail:101")
			r := o.cdr.last(t)
			if r.Cause != "normal" || r.HangupBy != "caller" || r.Answer.IsZero() {
				t.Errorf("hang-up after %v: CDR cause %q hung up by %q answer %v, want normal by the caller, answered", at, r.Cause, r.HangupBy, r.Answer)
			}
		}
		o.e.Voicemail.Close()
		if len(st.msgs) != 1 {
			t.Errorf("messages %+v, want the one left", st.msgs)
		}
	})
}

// A blind transfer nobody answers rings the transferrer back; when nobody
// answers there either, the caller reaches the transferrer's mailbox
// (101 has one) rather than being hung up on.
func TestTransferRecallUnansweredGoesToMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		st := &vmStore{}
		o.e.Voicemail = &voicemail.Service{Store: st, DataDir: t.TempDir(), Prompts: o.prompts.source}
		o.d.Add("101", func() *calltest.Leg { return calltest.NewLeg("bob", calltest.AnswerAfter(time.Second)) })
		o.silent("103", "101")
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"), calltest.Speaks(99))
		go func() {
			time.Sleep(5 * time.Second)
			bob := xd.phone("101", 0)
			bob.c <- call.Transfer{To: "103"}
			bob.Hangup(call.Normal)
		}()
		// 5 s talking, 30 s transfer_recall, 20 s recall, greeting and
		// beep, then a 4 s message ended by #.
		caller.PressAfter(61*time.Second, "#")
		o.dest(t, caller, "extension:101")
		o.e.Voicemail.Close()
		got := o.d.log()
		if len(got) != 3 || got[2].Number != "101" {
			t.Fatalf("dialled %v, want 101, 103, then 101 again", got)
		}
		r := o.cdr.last(t)
		if !slices.Contains(r.Path, "voicemail:101") {
			t.Fatalf("path %v: the caller never reached 101's mailbox", r.Path)
		}
		if len(st.msgs) != 1 || st.msgs[0].Box != "101" || st.msgs[0].Caller != "+15557770000" {
			t.Fatalf("messages %+v, want one from the caller in 101", st.msgs)
		}
		if len(r.Transfers) != 1 || !r.Transfers[0].Recalled {
			t.Fatalf("cdr transfers = %+v", r.Transfers)
		}
	})
}
