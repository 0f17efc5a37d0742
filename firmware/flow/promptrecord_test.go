package flow

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
)

// takes is a fake PromptStore: it keeps what was stored.
type takes struct {
	mu  sync.Mutex
	got []take
	err error
}

type take struct {
	id, actor string
	rate      int
	pcm       []int16
}

func (s *takes) RecordPrompt(ctx context.Context, id string, pcm []int16, rate int, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, take{id: id, actor: actor, rate: rate, pcm: pcm})
	return nil
}

func TestRecordPromptFromAPhone(t *testing.T) {
	const beep = 50 // frames of the 1 s beep the fake prompts play
	tests := []struct {
		name     string
		dial     string
		ext      string
		end      func(l *calltest.Leg) // how the caller ends the take
		stored   string                // prompt id stored, "" none
		takeLen  time.Duration
		cause    call.Cause
		played   int           // 20 ms frames the caller heard
		callTime time.Duration // from dialling to the box hanging up
	}{
		{"hash ends, take played back", "*70123", "101", func(l *calltest.Leg) { l.PressAfter(4*time.Second, "#") },
			"123", 3 * time.Second, call.Normal, beep + 150, 7 * time.Second},
		{"hang-up ends, take kept", "*7042", "102", func(l *calltest.Leg) { time.AfterFunc(3*time.Second, func() { l.Hangup(call.Normal) }) },
			"42", 2 * time.Second, call.Normal, beep, 3 * time.Second},
		{"too short, discarded", "*70123", "101", func(l *calltest.Leg) { l.PressAfter(1200*time.Millisecond, "#") },
			"", 0, call.Normal, beep, 1200 * time.Millisecond},
		{"no id", "*70", "101", func(*calltest.Leg) {}, "", 0, call.NotFound, 0, 0},
		{"not an extension", "*70123", "999", func(*calltest.Leg) {}, "", 0, call.Forbidden, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := newOffice(t, nil)
				st := &takes{}
				o.e.PromptStore = st
				caller := calltest.NewLeg("phone", calltest.Speaks(4000))
				tt.end(caller)
				start := time.Now()
				o.e.Handle(t.Context(), caller, Inbound{CallID: "rec", To: tt.dial, Extension: tt.ext})
				if d := time.Since(start); d != tt.callTime {
					t.Errorf("call took %v, want %v", d, tt.callTime)
				}
				if ended, _, _ := caller.Ended(); !ended {
					t.Errorf("the box did not hang up")
				}
				if c := caller.HangupCause(); c != tt.cause {
					t.Errorf("call ended with %v, want %v", c, tt.cause)
				}
				if got := caller.Played(); got != tt.played {
					t.Errorf("caller heard %d frames, want %d (beep, then the take played back)", got, tt.played)
				}
				if tt.stored == "" {
					if len(st.got) != 0 {
						t.Errorf("stored %d takes, want none", len(st.got))
					}
					return
				}
				if len(st.got) != 1 {
					t.Fatalf("stored %d takes, want 1", len(st.got))
				}
				g := st.got[0]
				if g.id != tt.stored || g.actor != "ext:"+tt.ext || g.rate != 8000 {
					t.Errorf("stored prompt %q by %q at %d Hz, want %q by ext:%s at 8000 Hz", g.id, g.actor, g.rate, tt.stored, tt.ext)
				}
				if d := time.Duration(len(g.pcm)) * time.Second / 8000; d != tt.takeLen {
					t.Errorf("take is %v long, want %v", d, tt.takeLen)
				}
				if g.pcm[0] != 4000 {
					t.Errorf("take starts with sample %d, want what the caller said (4000)", g.pcm[0])
				}
			})
		})
	}
}

// TestRecordPromptNotStored: a take the library refuses ends the call as
// a failure (the caller hears no playback of a take that was not kept),
// and a box without a library answers *70 as unavailable.
func TestRecordPromptNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOffice(t, nil)
		o.e.PromptStore = &takes{err: errors.New("disk full")}
		caller := calltest.NewLeg("phone", calltest.Speaks(4000))
		caller.PressAfter(4*time.Second, "#")
		o.e.Handle(t.Context(), caller, Inbound{CallID: "rec", To: "*70123", Extension: "101"})
		if c := caller.HangupCause(); c != call.Failure {
			t.Errorf("refused take: call ended with %v, want failure", c)
		}
		if got := caller.Played(); got != 50 {
			t.Errorf("caller heard %d frames, want only the beep's 50", got)
		}

		o.e.PromptStore = nil
		caller = calltest.NewLeg("phone")
		o.e.Handle(t.Context(), caller, Inbound{CallID: "rec2", To: "*70123", Extension: "101"})
		if c := caller.HangupCause(); c != call.Unavailable {
			t.Errorf("no library: call ended with %v, want unavailable", c)
		}
	})
}
