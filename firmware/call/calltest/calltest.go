// Package calltest provides an in-memory Leg and Dialer for tests of
// routing code. They work like real legs (ringing takes time, answers and
// hang-ups are observable) and record what was done to them, so tests check
// outcomes rather than call sequences. All timing uses ordinary Go time, so
// tests run them under testing/synctest.
package calltest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/firmware/call"
)

var ids atomic.Uint64

// ErrEnded is what Play returns when the leg ends while it plays.
var ErrEnded = errors.New("calltest: leg ended")

// Option configures a Leg.
type Option func(*Leg)

// AnswerAfter makes an outbound leg answer d after it starts ringing.
func AnswerAfter(d time.Duration) Option { return func(l *Leg) { l.answerAfter = d; l.answers = true } }

// RejectAfter makes an outbound leg end with c after d of ringing (busy,
// decline).
func RejectAfter(d time.Duration, c call.Cause) Option {
	return func(l *Leg) { l.rejectAfter = d; l.rejectCause = c; l.rejects = true }
}

// Codecs sets the codecs the leg offers (inbound) or answers with (the
// first, outbound); default PCMU.
func Codecs(names ...string) Option { return func(l *Leg) { l.codecs = names } }

// From sets the remote party of an inbound leg.
func From(number, name string) Option {
	return func(l *Leg) { l.remote = call.Party{Number: number, Name: name} }
}

// Leg is a fake call.Leg. An inbound leg is created with NewLeg and is
// answered by the code under test; an outbound leg is created by Dialer and
// answers on its own according to its options.
type Leg struct {
	id     string
	name   string
	remote call.Party

	answerAfter time.Duration
	answers     bool
	rejectAfter time.Duration
	rejectCause call.Cause
	rejects     bool

	codecs []string
	digits chan call.Digit
	done   chan struct{}

	mu        sync.Mutex // protects following
	answered  bool
	answerAt  time.Time
	progress  bool
	cause     call.Cause
	ended     bool
	endAt     time.Time
	played    int // frames played
	bridged   []string
	ringStart time.Time
	target    call.Target
}

// NewLeg returns a leg named name (used in test messages).
func NewLeg(name string, opts ...Option) *Leg {
	l := &Leg{
		id:     fmt.Sprintf("%s-%d", name, ids.Add(1)),
		name:   name,
		remote: call.Party{Number: name},
		digits: make(chan call.Digit, 64),
		done:   make(chan struct{}),
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *Leg) String() string        { return l.name }
func (l *Leg) ID() string            { return l.id }
func (l *Leg) Remote() call.Party    { return l.remote }
func (l *Leg) Done() <-chan struct{} { return l.done }
func (l *Leg) Media() call.Media     { return (*media)(l) }

// Target is the target this leg was dialled for (outbound legs).
func (l *Leg) Target() call.Target { l.mu.Lock(); defer l.mu.Unlock(); return l.target }

func (l *Leg) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		return nil
	}
	return l.cause
}

// start begins ringing an outbound leg: it answers or rejects on its own.
func (l *Leg) start() {
	l.mu.Lock()
	l.ringStart = time.Now()
	l.mu.Unlock()
	if l.rejects {
		time.AfterFunc(l.rejectAfter, func() { l.Hangup(l.rejectCause) })
	}
}

// Answer answers an inbound leg at once; for an outbound leg it waits until
// the leg answers (per AnswerAfter), ends, or ctx ends.
func (l *Leg) Answer(ctx context.Context) error {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return l.cause
	}
	if l.ringStart.IsZero() { // inbound
		l.answered, l.answerAt = true, time.Now()
		l.mu.Unlock()
		return nil
	}
	wait := l.answerAfter - time.Since(l.ringStart)
	answers := l.answers
	l.mu.Unlock()
	if !answers {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-l.done:
			return l.Err()
		}
	}
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-l.done:
		return l.Err()
	case <-t.C:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return l.cause
	}
	l.answered, l.answerAt = true, time.Now()
	return nil
}

func (l *Leg) Progress(ctx context.Context) error {
	l.mu.Lock()
	l.progress = true
	l.mu.Unlock()
	return nil
}

// Hangup ends the leg; only the first cause counts.
func (l *Leg) Hangup(c call.Cause) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.ended, l.cause, l.endAt = true, c, time.Now()
	close(l.done)
}

// Press queues DTMF keys as if the far end typed them.
func (l *Leg) Press(keys string) {
	for i := 0; i < len(keys); i++ {
		l.digits <- call.Digit{Key: keys[i]}
	}
}

// PressAfter presses keys after d, from its own goroutine.
func (l *Leg) PressAfter(d time.Duration, keys string) {
	time.AfterFunc(d, func() { l.Press(keys) })
}

// Answered reports whether the leg was answered, and when.
func (l *Leg) Answered() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered, l.answerAt
}

// Ended reports whether the leg ended, with its cause and time.
func (l *Leg) Ended() (bool, call.Cause, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended, l.cause, l.endAt
}

// HangupCause is the cause the leg ended with (Normal when still up).
func (l *Leg) HangupCause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// Played is the number of 20 ms frames played to the leg.
func (l *Leg) Played() int { l.mu.Lock(); defer l.mu.Unlock(); return l.played }

// HadProgress reports whether Progress was called.
func (l *Leg) HadProgress() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.progress }

// BridgedWith lists the legs this leg was bridged to.
func (l *Leg) BridgedWith() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bridged...)
}

type media Leg

// Play consumes src one 20 ms frame per 20 ms of time.
func (m *media) Play(ctx context.Context, src call.Source, bargeIn bool) error {
	l := (*Leg)(m)
	frame := make([]int16, 160)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if bargeIn && len(l.digits) > 0 {
			return nil
		}
		if !src.ReadFrame(frame) {
			return nil
		}
		l.mu.Lock()
		l.played++
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-l.done:
			// Like a real stream, playing to a leg that ended fails with an
			// error of its own, not the leg's cause.
			return ErrEnded
		case <-t.C:
		}
	}
}

func (m *media) Digits() <-chan call.Digit { return m.digits }
func (m *media) Codec() string {
	if len(m.codecs) > 0 {
		return m.codecs[0]
	}
	return "PCMU"
}

func (m *media) Codecs() []string {
	if len(m.codecs) > 0 {
		return append([]string(nil), m.codecs...)
	}
	return []string{"PCMU"}
}

// Dialer is a fake call.Dialer: Add says which leg a target number gets.
type Dialer struct {
	mu      sync.Mutex // protects following
	legs    map[string][]func() *Leg
	fail    map[string]call.Cause
	dials   []call.Target
	legsOut []*Leg
}

// NewDialer returns an empty dialer; unknown numbers fail with NotFound.
func NewDialer() *Dialer {
	return &Dialer{legs: map[string][]func() *Leg{}, fail: map[string]call.Cause{}}
}

// Add makes every Dial of number return a new leg made by mk.
func (d *Dialer) Add(number string, mk func() *Leg) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.legs[number] = append(d.legs[number], mk)
}

// Fail makes dialling number fail at once with c.
func (d *Dialer) Fail(number string, c call.Cause) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[number] = c
}

// Dial implements call.Dialer.
func (d *Dialer) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	d.mu.Lock()
	d.dials = append(d.dials, t)
	if c, ok := d.fail[t.Number]; ok {
		d.mu.Unlock()
		return nil, c
	}
	mks := d.legs[t.Number]
	if len(mks) == 0 {
		d.mu.Unlock()
		return nil, call.NotFound
	}
	l := mks[0]()
	if len(mks) > 1 {
		d.legs[t.Number] = mks[1:]
	}
	l.target = t
	d.legsOut = append(d.legsOut, l)
	d.mu.Unlock()
	l.start()
	go func() {
		select {
		case <-ctx.Done():
			if ok, _ := l.Answered(); !ok {
				l.Hangup(call.CauseOf(context.Cause(ctx)))
			}
		case <-l.done:
		}
	}()
	return l, nil
}

// Dials lists the targets dialled, in order.
func (d *Dialer) Dials() []call.Target {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]call.Target(nil), d.dials...)
}

// Legs lists the legs handed out, in order.
func (d *Dialer) Legs() []*Leg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*Leg(nil), d.legsOut...)
}

// Bridger is a fake call.Bridger that records the pair and waits.
type Bridger struct{}

// Bridge waits until either leg ends or ctx ends.
func (Bridger) Bridge(ctx context.Context, a, b call.Leg) error {
	a, b = call.Unwrap(a), call.Unwrap(b)
	for _, p := range [][2]call.Leg{{a, b}, {b, a}} {
		if l, ok := p[0].(*Leg); ok {
			l.mu.Lock()
			l.bridged = append(l.bridged, p[1].ID())
			l.mu.Unlock()
		}
	}
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-a.Done():
	case <-b.Done():
	}
	return nil
}
