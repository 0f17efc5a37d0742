package presence

// Busy lamps: what a phone's BLF key shows for an extension, an agent or
// a queue. The SIP edge serves them as the dialog event package (RFC
// 4235); this file decides the state and when it changes, from the typed
// events of the call path and the ACD.

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/events"
)

// Lamp is what a busy lamp shows. The three states are the three a
// phone's BLF LED can show: off, blinking and steady.
type Lamp uint8

const (
	// LampOff: idle; no dialog (a terminated one in dialog-info).
	LampOff Lamp = iota
	// LampRinging: blinking; an early dialog. For an extension it rings
	// (direction recipient, so phones offer pickup).
	LampRinging
	// LampBusy: steady; a confirmed dialog.
	LampBusy
)

func (l Lamp) String() string {
	switch l {
	case LampRinging:
		return "ringing"
	case LampBusy:
		return "busy"
	}
	return "off"
}

// Presence keys the lamps read besides "ext:N" (on a call).
const (
	// RingingExtPrefix + N is marked while extension N rings (package
	// ring marks it).
	RingingExtPrefix = "ringing:ext:"
	// CallingExtPrefix + N is marked while extension N places a call
	// that is not answered yet, or goes to no other party (an IVR,
	// voicemail, a feature code); package flow marks it.
	CallingExtPrefix = "calling:ext:"
)

// Resource names: what a lamp watches.
const (
	ExtResource   = "ext:"   // + extension number
	AgentResource = "agent:" // + agent id
	QueueResource = "queue:" // + queue id
)

// DefaultSettle is how long an extension's lamp waits before it goes
// off: a ringing phone that answers stops ringing a moment before the
// call marks it busy, and a transfer moves a call's mark from one party
// to the next, so a lamp going off is held this long in case it comes
// straight back on. Lamps coming on are shown at once.
const DefaultSettle = 30 * time.Millisecond

// Lamps follows the events that move busy lamps and tells Notify which
// resource's lamp changed. Extension lamps come from the Tracker's marks;
// agent and queue lamps from Agent and Queue, asked again on each agent
// and queue event (the same state as the box's LEDs).
type Lamps struct {
	Bus     *events.Bus
	Tracker *Tracker
	// Agent returns agent id's lamp; nil: agents have no lamps.
	Agent func(ctx context.Context, id string) (Lamp, error)
	// Queue returns queue id's lamp; nil: queues have no lamps.
	Queue func(ctx context.Context, id string) (Lamp, error)
	// Notify is told that resource's lamp changed; Lamp gives the new
	// state. It must not block long: it runs on Run's goroutine.
	Notify func(resource string)
	// Settle: 0 is DefaultSettle.
	Settle time.Duration
	// QueueTick is how often queue lamps are asked again while callers
	// wait (crossing a queue's service level has no event); 0: 1s.
	QueueTick time.Duration
	Logger    *slog.Logger

	startOnce sync.Once
	started   chan struct{}
}

// Started is closed once Run follows the events: changes before then are
// not seen.
func (l *Lamps) Started() <-chan struct{} {
	l.startOnce.Do(func() { l.started = make(chan struct{}) })
	return l.started
}

// Lamp returns resource's lamp now ("ext:101", "agent:bob",
// "queue:sales"). An unknown kind of resource is off.
func (l *Lamps) Lamp(ctx context.Context, resource string) Lamp {
	kind, id, _ := strings.Cut(resource, ":")
	switch kind + ":" {
	case ExtResource:
		return l.extLamp(id)
	case AgentResource:
		if l.Agent != nil {
			if s, err := l.Agent(ctx, id); err == nil {
				return s
			}
		}
	case QueueResource:
		if l.Queue != nil {
			if s, err := l.Queue(ctx, id); err == nil {
				return s
			}
		}
	}
	return LampOff
}

func (l *Lamps) extLamp(ext string) Lamp {
	if l.Tracker == nil {
		return LampOff
	}
	switch {
	case l.Tracker.Busy("ext:"+ext, CallingExtPrefix+ext):
		return LampBusy
	case l.Tracker.Busy(RingingExtPrefix + ext):
		return LampRinging
	}
	return LampOff
}

// RingingCaller is who rings extension ext: the caller that has rung it
// longest (whom a pickup takes), when it rings.
func (l *Lamps) RingingCaller(ext string) (Caller, bool) {
	if l.Tracker == nil {
		return Caller{}, false
	}
	return l.Tracker.Caller(RingingExtPrefix + ext)
}

// extOf is the extension a presence key's lamp is about, if any.
func extOf(key string) (string, bool) {
	for _, p := range []string{"ext:", RingingExtPrefix, CallingExtPrefix} {
		if n, ok := strings.CutPrefix(key, p); ok {
			return n, true
		}
	}
	return "", false
}

// Run follows the events until ctx ends.
func (l *Lamps) Run(ctx context.Context) error {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("pkg", "presence")
	settle := l.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	tickEvery := l.QueueTick
	if tickEvery <= 0 {
		tickEvery = time.Second
	}
	notify := l.Notify
	if notify == nil {
		notify = func(string) {}
	}
	sub := l.Bus.Subscribe(1024, events.Filter("presence.", "agent.", "queue.", "config.changed"))
	defer sub.Close()
	l.Started()
	close(l.started)

	// shown is each resource's lamp as last notified; a resource not in
	// it is off.
	shown := map[string]Lamp{}
	show := func(res string, s Lamp) {
		if shown[res] == s {
			return
		}
		if s == LampOff {
			delete(shown, res)
		} else {
			shown[res] = s
		}
		notify(res)
	}
	// Extensions whose lamp is to go off once settled, and when.
	offAt := map[string]time.Time{}
	settleTimer := time.NewTimer(time.Hour)
	settleTimer.Stop()
	defer settleTimer.Stop()
	armSettle := func() {
		var next time.Time
		for _, t := range offAt {
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
		if !next.IsZero() {
			settleTimer.Reset(time.Until(next))
		}
	}
	ext := func(n string) {
		res := ExtResource + n
		s := l.extLamp(n)
		if s < shown[res] {
			// Going down (busy to ringing or off, ringing to off):
			// wait in case it comes straight back.
			if _, ok := offAt[res]; !ok {
				offAt[res] = time.Now().Add(settle)
				armSettle()
			}
			return
		}
		delete(offAt, res)
		show(res, s)
	}
	agent := func(id string) {
		if l.Agent != nil {
			show(AgentResource+id, l.Lamp(ctx, AgentResource+id))
		}
	}
	// Queue lamps are asked again every tickEvery while any is lit.
	var tick <-chan time.Time
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	queue := func(id string) {
		if l.Queue == nil {
			return
		}
		show(QueueResource+id, l.Lamp(ctx, QueueResource+id))
		lit := false
		for res := range shown {
			lit = lit || strings.HasPrefix(res, QueueResource)
		}
		switch {
		case lit && ticker == nil:
			ticker = time.NewTicker(tickEvery)
			tick = ticker.C
		case !lit && ticker != nil:
			ticker.Stop()
			ticker, tick = nil, nil
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-sub.C():
			if !ok {
				return nil
			}
			switch d := ev.Data.(type) {
			case events.PresenceChanged:
				if n, ok := extOf(d.Key); ok {
					ext(n)
				}
			case events.AgentStatus:
				agent(d.Agent)
			case events.AgentState:
				agent(d.Agent)
			case events.AgentQueue:
				agent(d.Agent)
			case events.QueueCaller:
				queue(d.Queue)
			case events.QueueEmptyWarning:
				queue(d.Queue)
			case events.ConfigChanged:
				// Agents and queues may have come or gone: a lamp of one
				// that went goes off.
				for res := range shown {
					kind, id, _ := strings.Cut(res, ":")
					switch kind + ":" {
					case AgentResource:
						agent(id)
					case QueueResource:
						queue(id)
					}
				}
			}
		case <-tick:
			for res := range shown {
				if id, ok := strings.CutPrefix(res, QueueResource); ok {
					queue(id)
				}
			}
		case <-settleTimer.C:
			now := time.Now()
			for res, at := range offAt {
				if at.After(now) {
					continue
				}
				delete(offAt, res)
				show(res, l.extLamp(strings.TrimPrefix(res, ExtResource)))
			}
			armSettle()
		}
	}
}
