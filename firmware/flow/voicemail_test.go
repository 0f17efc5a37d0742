package flow

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
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

// vmOffice is the office with voicemail and a group box 800 with a PIN.
func vmOffice(t *testing.T) (*office, *vmStore, string) {
	s := officeSite()
	s.Voicemail = append(s.Voicemail, site.Mailbox{Box: "800", Name: "Front desk", PIN: "2468"})
	o := newOffice(t, s)
	st := &vmStore{}
	dir := t.TempDir()
	o.e.Voicemail = &voicemail.Service{Store: st, DataDir: dir, Prompts: o.prompts.source}
	return o, st, dir
}

// leaveIn leaves a message of about length in box (greeting and beep of
// one second each).
func leaveIn(t *testing.T, o *office, box string, length time.Duration) {
	caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"), calltest.Speaks(99))
	time.AfterFunc(2*time.Second+length, func() { caller.Hangup(call.Normal) })
	o.dest(t, caller, "voicemail:"+box)
}

func countAsked(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// TestStar98GroupBoxByPIN: *98, the box number and '#', the PIN and '#'
// open the group box: the message plays and moves to the old ones. *98800
// dialled at once asks the PIN only.
func TestStar98GroupBoxByPIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, st, _ := vmOffice(t)
		leaveIn(t, o, "800", 4*time.Second)
		if len(st.msgs) != 1 {
			t.Fatalf("messages %+v", st.msgs)
		}
		phone := calltest.NewLeg("sue")
		phone.PressAfter(1500*time.Millisecond, "800#")
		phone.PressAfter(4*time.Second, "2468#")
		phone.PressAfter(40*time.Second, "1")
		o.e.Handle(t.Context(), phone, Inbound{CallID: "l1", To: "*98", Extension: "102"})
		if c := phone.HangupCause(); c != call.Normal {
			t.Errorf("*98 ended with %v", c)
		}
		if !st.msgs[0].Heard {
			t.Error("the group box's message was not played")
		}
		asked := o.prompts.asked()
		if countAsked(asked, "vm-enter-box") != 1 || countAsked(asked, "vm-enter-pin") != 1 {
			t.Errorf("prompts %v, want the box number and the PIN asked once", asked)
		}

		st.msgs[0].Heard = false
		direct := calltest.NewLeg("sue2")
		direct.PressAfter(1500*time.Millisecond, "2468#")
		direct.PressAfter(40*time.Second, "1")
		before := len(o.prompts.asked())
		o.e.Handle(t.Context(), direct, Inbound{CallID: "l2", To: "*98800", Extension: "102"})
		asked = o.prompts.asked()[before:]
		if !st.msgs[0].Heard || countAsked(asked, "vm-enter-box") != 0 || countAsked(asked, "vm-enter-pin") != 1 {
			t.Errorf("*98800: heard %v, prompts %v; want the PIN asked, not the box", st.msgs[0].Heard, asked)
		}
	})
}

// TestMailboxWrongPINThreeTimesHangsUp: three wrong PINs hang up; two
// such calls lock the box, so that even the right PIN is refused, until
// the wrong ones are PINFailureWindow old.
func TestMailboxWrongPINThreeTimesHangsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, st, _ := vmOffice(t)
		leaveIn(t, o, "800", 4*time.Second)
		for i := range 2 {
			phone := calltest.NewLeg("guess")
			phone.PressAfter(500*time.Millisecond, "1111#2222#3333#")
			start := time.Now()
			o.e.Handle(t.Context(), phone, Inbound{CallID: "g", To: "*98800", Extension: "107"})
			if c := phone.HangupCause(); c != call.Forbidden {
				t.Errorf("guessing call %d ended with %v, want forbidden", i+1, c)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("guessing call %d lasted %v", i+1, d)
			}
		}
		if st.msgs[0].Heard {
			t.Fatal("a wrong PIN opened the box")
		}
		right := calltest.NewLeg("owner")
		right.PressAfter(500*time.Millisecond, "2468#")
		o.e.Handle(t.Context(), right, Inbound{CallID: "r", To: "*98800", Extension: "102"})
		if c := right.HangupCause(); c != call.Forbidden || st.msgs[0].Heard {
			t.Errorf("right PIN on a locked box: %v, heard %v; want refused", c, st.msgs[0].Heard)
		}
		time.Sleep(voicemail.PINFailureWindow)
		right = calltest.NewLeg("owner")
		right.PressAfter(1500*time.Millisecond, "2468#")
		right.PressAfter(40*time.Second, "1")
		o.e.Handle(t.Context(), right, Inbound{CallID: "r2", To: "*98800", Extension: "102"})
		if c := right.HangupCause(); c != call.Normal || !st.msgs[0].Heard {
			t.Errorf("right PIN after the window: %v, heard %v", c, st.msgs[0].Heard)
		}
	})
}

// TestStar97PINOnlyWhenRequired: the owner's *97 asks no PIN; under
// system.voicemail_pin_required it does, and the right one opens the box.
// A colleague's *98 with the owner's box needs the PIN, and a box
// without one is not opened to others at all.
func TestStar97PINOnlyWhenRequired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, st, _ := vmOffice(t)
		leaveIn(t, o, "101", 4*time.Second)
		owner := calltest.NewLeg("bob")
		owner.PressAfter(40*time.Second, "1")
		o.e.Handle(t.Context(), owner, Inbound{CallID: "a", To: "*97", Extension: "101"})
		if !st.msgs[0].Heard || countAsked(o.prompts.asked(), "vm-enter-pin") != 0 {
			t.Errorf("owner's *97: heard %v, prompts %v; want in without a PIN", st.msgs[0].Heard, o.prompts.asked())
		}
		other := calltest.NewLeg("sue")
		other.PressAfter(500*time.Millisecond, "1357#1357#1357#")
		o.e.Handle(t.Context(), other, Inbound{CallID: "b", To: "*98101", Extension: "102"})
		if c := other.HangupCause(); c != call.Forbidden {
			t.Errorf("*98101 from another phone to a box without a PIN: %v, want forbidden", c)
		}

		s := officeSite()
		s.System.VoicemailPINRequired = true
		s.Extensions[0].VoicemailPIN = "1357"
		if _, err := o.e.Config.Publish(s, 2); err != nil {
			t.Fatal(err)
		}
		st.msgs[0].Heard = false
		before := len(o.prompts.asked())
		owner = calltest.NewLeg("bob")
		owner.PressAfter(1500*time.Millisecond, "1357#")
		owner.PressAfter(40*time.Second, "1")
		o.e.Handle(t.Context(), owner, Inbound{CallID: "c", To: "*97", Extension: "101"})
		if !st.msgs[0].Heard || countAsked(o.prompts.asked()[before:], "vm-enter-pin") != 1 {
			t.Errorf("*97 with the PIN required: heard %v, prompts %v", st.msgs[0].Heard, o.prompts.asked()[before:])
		}
	})
}

// TestGreetingsRecordedByPhone: from *97, 0 then 1 records the
// unavailable greeting (kept with 1), 2 the busy one (recorded again with
// 2, then kept); a caller reaching the busy extension hears the busy
// greeting, one reaching it unanswered the other: the length of each
// message tells which played before the beep.
func TestGreetingsRecordedByPhone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, st, dir := vmOffice(t)
		owner := calltest.NewLeg("bob", calltest.Speaks(1000))
		// 0 options, 1 unavailable greeting: after-beep prompt and beep
		// (2 s), 6 s of greeting, '#'; the take played back (6 s), the
		// keep prompt (1 s), 1 keeps it.
		owner.PressAfter(100*time.Millisecond, "01")
		owner.PressAfter(8*time.Second, "#")
		owner.PressAfter(16*time.Second, "1")
		// vm-saved, vm-options: 2 the busy greeting; a 3 s take, 2 records
		// again, a 4 s take kept with 1; '*' back, then goodbye.
		owner.PressAfter(19*time.Second, "2")
		owner.PressAfter(24*time.Second, "#")
		owner.PressAfter(28500*time.Millisecond, "2")
		owner.PressAfter(34500*time.Millisecond, "#")
		owner.PressAfter(40*time.Second, "1")
		owner.PressAfter(43*time.Second, "*")
		o.e.Handle(t.Context(), owner, Inbound{CallID: "g", To: "*97", Extension: "101"})
		if c := owner.HangupCause(); c != call.Normal {
			t.Errorf("*97 ended with %v", c)
		}
		for file, want := range map[string]time.Duration{voicemail.GreetingFile: 6 * time.Second, voicemail.BusyGreetingFile: 4 * time.Second} {
			b, err := os.ReadFile(filepath.Join(dir, "voicemail", "101", file))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
			if err != nil {
				t.Fatal(err)
			}
			// Within a fraction of a second: the keys land on 20 ms frames.
			if got := time.Duration(len(pcm)) * time.Second / time.Duration(f.Rate); !near(got, want) || pcm[len(pcm)/2] != 1000 {
				t.Errorf("%s: %v of level %d, want %v of what the owner said", file, got, pcm[len(pcm)/2], want)
			}
		}

		// Busy: the 4 s busy greeting and the 1 s beep, then 5 s of message.
		o.d.Fail("101", call.Busy)
		o.d.Fail("+15550001001", call.Busy)
		caller := calltest.NewLeg("caller", calltest.Speaks(99))
		time.AfterFunc(10*time.Second, func() { caller.Hangup(call.Normal) })
		o.dest(t, caller, "extension:101")
		// Unanswered: 20 s ringing, the 6 s greeting and the beep, then 5 s.
		o2 := newOffice(t, o.e.Config.Site())
		o2.e.Voicemail = o.e.Voicemail
		o2.silent("101", "+15550001001")
		caller = calltest.NewLeg("caller2", calltest.Speaks(99))
		time.AfterFunc(32*time.Second, func() { caller.Hangup(call.Normal) })
		o2.dest(t, caller, "extension:101")
		// The wrong greeting would make them 2 s longer or shorter.
		if len(st.msgs) != 2 || !near(st.msgs[0].Duration, 5*time.Second) || !near(st.msgs[1].Duration, 5*time.Second) {
			var got []time.Duration
			for _, m := range st.msgs {
				got = append(got, m.Duration)
			}
			t.Errorf("messages of %v, want 5s each: busy after the busy greeting, unanswered after the other", got)
		}
	})
}

func near(got, want time.Duration) bool {
	return got > want-300*time.Millisecond && got < want+300*time.Millisecond
}

// FuzzMailboxFeature: any dialled string is either not *98, or *98 with
// the rest as the box, never a panic.
func FuzzMailboxFeature(f *testing.F) {
	for _, s := range []string{"*98", "*98800", "*98general", "*9", "*97", "**98", "*98" + strings.Repeat("9", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		fn, ok := mailboxFeature(code)
		if ok != (strings.HasPrefix(code, FeatureMailbox) && len(code)-len(FeatureMailbox) <= 32) || ok != (fn != nil) {
			t.Errorf("mailboxFeature(%q) = %v", code, ok)
		}
	})
}

// TestStar97WithoutABoxAsksForOne: an extension without a mailbox dialling
// *97 is asked for a box and its PIN, as with *98.
func TestStar97WithoutABoxAsksForOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, st, _ := vmOffice(t)
		leaveIn(t, o, "800", 4*time.Second)
		phone := calltest.NewLeg("steve")
		phone.PressAfter(1500*time.Millisecond, "800#")
		phone.PressAfter(4*time.Second, "2468#")
		phone.PressAfter(40*time.Second, "1")
		o.e.Handle(t.Context(), phone, Inbound{CallID: "x", To: "*97", Extension: "102"})
		if !st.msgs[0].Heard || countAsked(o.prompts.asked(), "vm-enter-box") != 1 {
			t.Errorf("heard %v, prompts %v", st.msgs[0].Heard, o.prompts.asked())
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
