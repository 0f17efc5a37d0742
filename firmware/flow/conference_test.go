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
	"ringbox/firmware/cdr"
	"ringbox/firmware/site"
)

// fakeConfs is a Conferencer that records what the flow does with its
// conferences (the mixing itself is package media's, tested there).
type fakeConfs struct {
	mu     sync.Mutex
	opened []*fakeConf
}

func (f *fakeConfs) Conference() call.Conference {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeConf{muted: map[string]bool{}}
	f.opened = append(f.opened, c)
	return c
}

func (f *fakeConfs) all() []*fakeConf {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.opened)
}

type fakeConf struct {
	mu       sync.Mutex
	members  []string
	joined   []string // every leg that ever joined
	muted    map[string]bool
	mutes    []bool // SetMuted calls in order
	announce []string
	closed   bool
}

func (c *fakeConf) Join(ctx context.Context, l call.Leg) error {
	c.mu.Lock()
	c.members = append(c.members, l.ID())
	c.joined = append(c.joined, l.ID())
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.members = slices.DeleteFunc(c.members, func(id string) bool { return id == l.ID() })
		c.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-l.Done():
		return calltest.ErrEnded
	}
}

func (c *fakeConf) SetMuted(l call.Leg, m bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.members, l.ID()) {
		return false
	}
	c.muted[l.ID()] = m
	c.mutes = append(c.mutes, m)
	return true
}

func (c *fakeConf) Muted(l call.Leg) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.muted[l.ID()]
}

func (c *fakeConf) Announce(to call.Leg, src call.Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	who := "all"
	if to != nil {
		who = to.ID()
	}
	c.announce = append(c.announce, who)
}

func (c *fakeConf) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

func (c *fakeConf) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

func (c *fakeConf) snapshot() fakeConf {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fakeConf{members: slices.Clone(c.members), joined: slices.Clone(c.joined),
		mutes: slices.Clone(c.mutes), announce: slices.Clone(c.announce), closed: c.closed}
}

func confOffice(t *testing.T) (*office, *fakeConfs) {
	s := officeSite()
	s.Conferences = []site.Conference{
		{ID: "sales", Number: "800", PIN: "4321", MaxMembers: 2},
		{ID: "all", Number: "801", Announce: site.AnnounceNone, MuteKey: "#9"},
	}
	s.Inbound = append([]site.InboundRoute{{Match: "+15551230009", To: "conference:all"}}, s.Inbound...)
	o := newOffice(t, s)
	f := &fakeConfs{}
	o.e.Conferences = f
	return o, f
}

// dial has extension ext dial number with leg l, from its own goroutine.
func (o *office) dialFrom(t *testing.T, l *calltest.Leg, ext, number string) {
	go o.e.Handle(t.Context(), l, Inbound{CallID: "c-" + l.ID(), From: call.Party{Number: ext}, To: number, Extension: ext})
}

// TestConferencePIN: the right PIN joins the room (a join tone to all);
// three wrong ones are told invalid and end with goodbye, never joining;
// a third caller finds the room of two full and gets the busy tone.
func TestConferencePIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, f := confOffice(t)
		alice := calltest.NewLeg("alice")
		bob := calltest.NewLeg("bob")
		mallory := calltest.NewLeg("mallory")
		late := calltest.NewLeg("late")
		o.dialFrom(t, alice, "101", "800")
		alice.PressAfter(time.Second, "4321#")
		o.dialFrom(t, mallory, "103", "800")
		mallory.PressAfter(time.Second, "1111#")
		mallory.PressAfter(3*time.Second, "2222#")
		time.Sleep(5 * time.Second)
		mallory.Press("43") // then a pause: the PIN is "43"
		time.Sleep(20 * time.Second)
		synctest.Wait()

		if ended, cause, _ := mallory.Ended(); !ended || cause != call.Forbidden {
			t.Errorf("three wrong PINs: ended %v cause %v, want hung up (forbidden)", ended, cause)
		}
		asked := o.prompts.asked()
		if n := countOf(asked, "invalid-option"); n != 2 {
			t.Errorf("invalid-option said %d times, want 2 (after the first two wrong PINs): %v", n, asked)
		}
		if n := countOf(asked, "goodbye"); n != 1 {
			t.Errorf("goodbye said %d times, want 1: %v", n, asked)
		}
		confs := f.all()
		if len(confs) != 1 {
			t.Fatalf("%d conferences opened, want 1", len(confs))
		}
		if s := confs[0].snapshot(); !slices.Equal(s.members, []string{alice.ID()}) || !slices.Equal(s.announce, []string{"all"}) {
			t.Fatalf("room: members %v announces %v, want alice, who joined with a tone to all", s.members, s.announce)
		}
		if ended, _, _ := alice.Ended(); ended {
			t.Fatal("alice's call ended in the room")
		}
		if live := o.e.LiveCalls(); len(live) != 1 || live[0].State != LiveTalking || live[0].AnsweredBy != "conference:sales" {
			t.Errorf("live calls %+v, want alice talking in conference:sales", live)
		}
		if !o.pres.Busy("ext:101") {
			t.Error("extension 101 in the room is not busy (its lamp, groups)")
		}

		o.dialFrom(t, bob, "102", "800")
		bob.PressAfter(time.Second, "4321#")
		time.Sleep(3 * time.Second)
		o.dialFrom(t, late, "104", "800")
		late.PressAfter(time.Second, "4321#")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if s := confs[0].snapshot(); !slices.Equal(s.members, []string{alice.ID(), bob.ID()}) {
			t.Errorf("members %v, want alice and bob", s.members)
		}
		if ended, cause, _ := late.Ended(); !ended || cause != call.Busy || late.Played() < int(fullTone/(20*time.Millisecond)) {
			t.Errorf("full room: ended %v cause %v after %d frames, want busy after the busy tone", ended, cause, late.Played())
		}

		// Both leave: the leave tone for the one who stays, and the
		// mixer closes with the last one.
		alice.Hangup(call.Normal)
		time.Sleep(time.Second)
		bob.Hangup(call.Normal)
		synctest.Wait()
		s := confs[0].snapshot()
		if !s.closed || len(s.members) != 0 {
			t.Errorf("after everyone left: closed %v members %v, want closed, empty", s.closed, s.members)
		}
		if !slices.Equal(s.announce, []string{"all", "all", "all"}) {
			t.Errorf("announces %v, want join, join, leave (none when the last leaves)", s.announce)
		}
		if o.pres.Busy("ext:101") {
			t.Error("extension 101 still busy after leaving the room")
		}
		if n := o.e.rooms.members("sales"); n != 0 {
			t.Errorf("room still counts %d members", n)
		}
		o.e.Wait(t.Context())
		if r := o.cdr.find("c-" + alice.ID()); r.AnsweredBy != "conference:sales" || r.Direction != "internal" {
			t.Errorf("CDR answered by %q direction %q, want conference:sales internal", r.AnsweredBy, r.Direction)
		}
	})
}

// TestConferenceMuteKeyAndDestination: a caller sent to conference:ID by
// an inbound route joins without a PIN; the room's mute key toggles the
// member's mute, each toggle confirmed to that member alone; a room
// with announce: none gives no join tones.
func TestConferenceMuteKeyAndDestination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, f := confOffice(t)
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		go func() {
			time.Sleep(2 * time.Second)
			caller.Press("#9")
			time.Sleep(2 * time.Second)
			caller.Press("1#9") // a stray key, then the mute key again
			time.Sleep(2 * time.Second)
			caller.Hangup(call.Normal)
		}()
		o.inbound(t, caller, "+15551230009")
		confs := f.all()
		if len(confs) != 1 {
			t.Fatalf("%d conferences opened, want 1", len(confs))
		}
		s := confs[0].snapshot()
		if !slices.Equal(s.joined, []string{caller.ID()}) {
			t.Errorf("joined %v, want the caller", s.joined)
		}
		if !slices.Equal(s.mutes, []bool{true, false}) {
			t.Errorf("mute toggles %v, want muted then unmuted", s.mutes)
		}
		if !slices.Equal(s.announce, []string{caller.ID(), caller.ID()}) {
			t.Errorf("announces %v, want the two confirmations to the caller only", s.announce)
		}
		if ok, _ := caller.Answered(); !ok {
			t.Error("the caller was not answered")
		}
	})
}

// TestConferenceWithoutMixer: a box without a mixer refuses the room
// rather than answering into silence.
func TestConferenceWithoutMixer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, _ := confOffice(t)
		o.e.Conferences = nil
		caller := calltest.NewLeg("caller")
		if cause := o.dest(t, caller, "conference:all"); cause != call.Unavailable {
			t.Errorf("cause %v, want unavailable", cause)
		}
	})
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// find is the CDR of call id (zero when none).
func (c *cdrs) find(id string) cdr.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.all {
		if r.CallID == id {
			return r
		}
	}
	return cdr.Record{}
}

// TestThreeWay: during a *2 consultation Steve types *3: the caller,
// Steve and Sue are mixed together; Steve hanging up leaves the caller
// and Sue talking; the caller hanging up then ends it (Sue is hung up),
// and the record keeps the consult as a three-way transfer.
func TestThreeWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, xd := newXferOffice(t)
		f := &fakeConfs{}
		o.e.Conferences = f
		o.d.Add("102", func() *calltest.Leg { return calltest.NewLeg("steve", calltest.AnswerAfter(time.Second)) })
		o.d.Add("103", func() *calltest.Leg { return calltest.NewLeg("sue", calltest.AnswerAfter(2*time.Second)) })
		caller := calltest.NewLeg("caller", calltest.From("+15550100", "Carol"))
		var during, afterSteve fakeConf
		go func() {
			time.Sleep(5 * time.Second)
			steve := xd.phone("102", 0)
			steve.Press("*2103#")
			time.Sleep(5 * time.Second)
			steve.Press("*3")
			time.Sleep(5 * time.Second)
			if confs := f.all(); len(confs) == 1 {
				during = confs[0].snapshot()
			}
			steve.Hangup(call.Normal)
			time.Sleep(5 * time.Second)
			if confs := f.all(); len(confs) == 1 {
				afterSteve = confs[0].snapshot()
			}
			caller.Hangup(call.Normal)
		}()
		o.dest(t, caller, "extension:102")
		steve, sue := xd.phone("102", 0), xd.phone("103", 0)
		if sue == nil {
			t.Fatal("*2 103 # did not ring Sue")
		}
		if len(during.members) != 3 || !slices.Contains(during.members, caller.ID()) ||
			!slices.Contains(during.members, steve.ID()) || !slices.Contains(during.members, sue.ID()) {
			t.Fatalf("after *3 members %v, want the caller, steve and sue", during.members)
		}
		if len(afterSteve.members) != 2 || slices.Contains(afterSteve.members, steve.ID()) {
			t.Errorf("after steve hung up members %v, want the caller and sue still together", afterSteve.members)
		}
		if ended, _, _ := sue.Ended(); !ended {
			t.Error("sue's leg still up after the three-way ended")
		}
		if s := f.all()[0].snapshot(); !s.closed {
			t.Error("the three-way's mixer was not closed")
		}
		rec := o.cdr.last(t)
		if len(rec.Transfers) != 1 || rec.Transfers[0].Result != "three-way" || rec.Transfers[0].To != "103" || rec.Transfers[0].Leg != sue.ID() {
			t.Fatalf("cdr transfers = %+v", rec.Transfers)
		}
	})
}
