package panel

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"ringbox/board"
	"ringbox/board/gpio/gpiotest"
	"ringbox/board/hw"
	"ringbox/board/profile"
	"ringbox/firmware/acd"
	"ringbox/firmware/backup"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

var quiet = slog.New(slog.DiscardHandler)

// memStore is the ACD's store, in memory.
type memStore struct {
	mu     sync.Mutex
	status map[string]store.AgentStatus
}

func (m *memStore) InsertQueueLog(context.Context, store.QueueLogEntry) error { return nil }
func (m *memStore) ListQueueLog(context.Context, time.Time, time.Time, string) ([]store.QueueLogEntry, error) {
	return nil, nil
}
func (m *memStore) InsertAgentActivity(context.Context, store.AgentActivity) error { return nil }
func (m *memStore) SaveAgentStatus(_ context.Context, a store.AgentStatus) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[a.Agent] = a
	return nil
}
func (m *memStore) LoadAgentStatuses(context.Context) ([]store.AgentStatus, error) { return nil, nil }

func testSite() *site.Site {
	return &site.Site{
		Version:    1,
		System:     site.System{Name: "test"},
		Extensions: []site.Extension{{Number: "101", Name: "Bob"}, {Number: "102", Name: "Sue"}},
		Agents: []site.Agent{
			{ID: "bob", Name: "Bob", Extension: "101", Button: 1},
			{ID: "sue", Name: "Sue", Extension: "102", Button: 2},
		},
		Queues: []site.Queue{
			{ID: "sales", Name: "Sales", Agents: []site.QueueAgent{{Agent: "bob"}}, LED: 2},
			{ID: "support", Name: "Support", Agents: []site.QueueAgent{{Agent: "sue"}}, LED: 1,
				ServiceLevel: site.Duration(30 * time.Second)},
		},
	}
}

// rig is a reference board on fake pins with the panel running.
type rig struct {
	pins map[string]*gpiotest.Pin
	brd  *hw.Board
	bus  *events.Bus
	cfg  *config.Store
}

// newRig opens the pbx-a profile (without its analog ports; status LED
// dropped unless withStatus) on fake pins and runs a panel on it.
func newRig(t *testing.T, agents func(*config.Store, *events.Bus) Agents, reset func(*events.Bus) *Reset, withStatus bool) *rig {
	t.Helper()
	p, err := profile.Load("pbx-a", "")
	if err != nil {
		t.Fatal(err)
	}
	p.Lines = nil
	if !withStatus {
		p.StatusLED = nil
	}
	r := &rig{pins: map[string]*gpiotest.Pin{}, bus: events.New()}
	open := func(name string) (gpio.PinIO, error) {
		if _, ok := r.pins[name]; !ok {
			r.pins[name] = gpiotest.New(name, gpio.High) // buttons released (active low); LEDs are set at once
		}
		return r.pins[name], nil
	}
	if r.brd, err = hw.Open(p, hw.Options{Pin: open, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if r.cfg, err = config.New(testSite(), 1); err != nil {
		t.Fatal(err)
	}
	pn := &Panel{Board: r.brd, Agents: agents(r.cfg, r.bus), Config: r.cfg, Bus: r.bus, Logger: quiet}
	if reset != nil {
		pn.Reset = reset(r.bus)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pn.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; r.brd.Close() })
	synctest.Wait()
	return r
}

// realACD runs an acd engine for the test.
func realACD(t *testing.T) func(*config.Store, *events.Bus) Agents {
	return func(cfg *config.Store, bus *events.Bus) Agents {
		e := acd.New(acd.Config{Config: cfg, Dialer: calltest.NewDialer(), Bus: bus,
			Store: &memStore{status: map[string]store.AgentStatus{}}, Logger: quiet})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return e
	}
}

// press holds a button's pin down for d.
func (r *rig) press(name string, d time.Duration) {
	r.pins[name].Set(gpio.Low)
	time.Sleep(d)
	r.pins[name].Set(gpio.High)
	time.Sleep(100 * time.Millisecond) // debounce, then the ACD
	synctest.Wait()
}

// lit reports an (active-high) LED's level.
func (r *rig) lit(name string) bool { return r.pins[name].Level() == gpio.High }

// changes returns the times an LED pin changed after start, as offsets.
func (r *rig) changes(name string, start time.Time) []time.Duration {
	var out []time.Duration
	for _, o := range r.pins[name].Outs() {
		if !o.At.Before(start) {
			out = append(out, o.At.Sub(start))
		}
	}
	return out
}

func TestButtonLogsAgentIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, realACD(t), nil, true)
		if r.lit("QLED1") {
			t.Fatal("Bob's LED lit while he is logged out")
		}
		r.press("QLOGIN1", 300*time.Millisecond)
		if !r.lit("QLED1") {
			t.Fatal("Bob's LED dark after a short press logged him in")
		}
		time.Sleep(5 * time.Second)
		if !r.lit("QLED1") || len(r.changes("QLED1", time.Now().Add(-4*time.Second))) != 0 {
			t.Error("Bob's LED is not steady on while he is available")
		}
		if r.lit("QLED2") {
			t.Error("Sue's LED lit though only Bob pressed")
		}

		// A long press: unavailable, a 500/500 ms blink.
		r.press("QLOGIN1", 2500*time.Millisecond)
		start := time.Now()
		time.Sleep(2*time.Second + time.Millisecond)
		got := r.changes("QLED1", start)
		if len(got) != 4 {
			t.Fatalf("unavailable for 2s: LED changed at %v, want 4 changes 500 ms apart", got)
		}
		for i := 1; i < len(got); i++ {
			if d := got[i] - got[i-1]; d != 500*time.Millisecond {
				t.Errorf("unavailable blink step %v, want 500ms (changes %v)", d, got)
			}
		}

		// Short again: logged out, dark.
		r.press("QLOGIN1", 300*time.Millisecond)
		time.Sleep(time.Second)
		if r.lit("QLED1") {
			t.Error("Bob's LED lit after logging out")
		}
	})
}

// fakeQueues is the ACD with callers that joined at set times.
type fakeQueues struct {
	mu     sync.Mutex
	joined map[string][]time.Time
	bus    *events.Bus
}

func (f *fakeQueues) Button(string, bool) error { return nil }
func (f *fakeQueues) Agent(_ context.Context, id string) (acd.AgentInfo, error) {
	return acd.AgentInfo{ID: id, Status: acd.LoggedOut}, nil
}
func (f *fakeQueues) Queues(context.Context) ([]acd.QueueInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []acd.QueueInfo
	for _, id := range []string{"sales", "support"} {
		qi := acd.QueueInfo{ID: id}
		for _, j := range f.joined[id] {
			qi.Callers = append(qi.Callers, acd.CallerInfo{Wait: time.Since(j).Seconds()})
		}
		out = append(out, qi)
	}
	return out, nil
}

func (f *fakeQueues) join(q string) {
	f.mu.Lock()
	f.joined[q] = append(f.joined[q], time.Now())
	f.mu.Unlock()
	f.bus.Publish(events.QueueCaller{Queue: q, Event: "joined"})
}

func (f *fakeQueues) leaveAll(q string) {
	f.mu.Lock()
	f.joined[q] = nil
	f.mu.Unlock()
	f.bus.Publish(events.QueueCaller{Queue: q, Event: "abandoned"})
}

func TestQueueLEDFollowsWaitingCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fq := &fakeQueues{joined: map[string][]time.Time{}}
		r := newRig(t, func(_ *config.Store, bus *events.Bus) Agents { fq.bus = bus; return fq }, nil, true)
		sales, support := r.brd.QueueLED(2), r.brd.QueueLED(1)
		if sales.Get() != board.Off || support.Get() != board.Off {
			t.Fatalf("queue LEDs %v, %v with nobody waiting, want off", sales.Get(), support.Get())
		}
		fq.join("sales")
		synctest.Wait()
		if sales.Get() != board.On || !r.lit("QUEUE2") {
			t.Fatalf("sales LED %v with a caller waiting, want on", sales.Get())
		}
		// The default service level is 20 s: within a tick of it the LED
		// blinks fast.
		time.Sleep(20*time.Second - time.Millisecond)
		synctest.Wait()
		if sales.Get() != board.On {
			t.Fatalf("sales LED %v before the service level, want on", sales.Get())
		}
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if sales.Get() != board.FastBlink {
			t.Fatalf("sales LED %v a second past the service level, want fast blink", sales.Get())
		}
		start := time.Now()
		time.Sleep(time.Second)
		synctest.Wait()
		got := r.changes("QUEUE2", start)
		for i := 1; i < len(got); i++ {
			if d := got[i] - got[i-1]; d != 100*time.Millisecond {
				t.Errorf("fast blink step %v, want 100ms (changes %v)", d, got)
			}
		}
		if len(got) < 10 {
			t.Errorf("fast blink changed %d times in a second, want 10", len(got))
		}
		// Support's service level is 30 s; its own caller joined later.
		fq.join("support")
		time.Sleep(25 * time.Second)
		synctest.Wait()
		if support.Get() != board.On {
			t.Errorf("support LED %v after 25 s of a 30 s service level, want on", support.Get())
		}
		fq.leaveAll("sales")
		synctest.Wait()
		if sales.Get() != board.Off || r.lit("QUEUE2") {
			t.Errorf("sales LED %v after its callers left, want off", sales.Get())
		}
		fq.leaveAll("support")
		synctest.Wait()
		if support.Get() != board.Off {
			t.Errorf("support LED %v after its callers left, want off", support.Get())
		}
	})
}

// resetRig is a data directory with the box's files and a Reset on it.
type resetRig struct {
	dir      string
	restarts int
	reset    *Reset
}

func newResetRig(t *testing.T) *resetRig {
	rr := &resetRig{dir: t.TempDir()}
	for _, f := range []string{store.FileName, "voicemail/101/msg1.wav", "prompts/welcome.wav"} {
		p := filepath.Join(rr.dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rr
}

func (rr *resetRig) make(bus *events.Bus) *Reset {
	rr.reset = NewReset(ResetConfig{Bus: bus,
		Erase:   func() error { return backup.RequestErase(rr.dir) },
		Restart: func() { rr.restarts++ }})
	return rr.reset
}

// untouched fails the test if the data directory lost a file.
func (rr *resetRig) untouched(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(rr.dir, "voicemail/101/msg1.wav")); err != nil {
		t.Fatalf("voicemail gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rr.dir, backup.EraseMarker)); err == nil {
		t.Fatal("the data is marked for erasing")
	}
}

func TestServiceHoldRequestsReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rr := newResetRig(t)
		var r *rig
		resets := make(chan events.FactoryReset, 8)
		r = newRig(t, realACD(t), func(bus *events.Bus) *Reset {
			sub := bus.Subscribe(8, events.Filter("board.factory_reset"))
			go func() {
				defer sub.Close()
				for ev := range sub.C() {
					resets <- ev.Data.(events.FactoryReset)
				}
			}()
			t.Cleanup(sub.Close)
			return rr.make(bus)
		}, true)
		status := r.brd.StatusLED()
		if status.Get() != board.On {
			t.Fatalf("status LED %v while the box runs, want on", status.Get())
		}
		// Held 9 s: nothing.
		r.press("SERVICE", 9*time.Second)
		if _, ok := rr.reset.Pending(); ok {
			t.Fatal("a 9 s press raised a factory reset")
		}
		r.pins["SERVICE"].Set(gpio.Low)
		time.Sleep(board.ServiceHold)
		synctest.Wait()
		since, ok := rr.reset.Pending()
		if !ok || time.Since(since) != 0 {
			t.Fatalf("after holding the service button 10 s: pending %v since %v", ok, since)
		}
		if status.Get() != board.DoubleBlink {
			t.Errorf("status LED %v with a reset pending, want double blink", status.Get())
		}
		start := time.Now()
		time.Sleep(2*time.Second - time.Millisecond)
		r.pins["SERVICE"].Set(gpio.High)
		time.Sleep(time.Second)
		want := []time.Duration{100, 200, 300, 1000, 1100, 1200, 1300, 2000, 2100, 2200, 2300}
		for i := range want {
			want[i] *= time.Millisecond
		}
		got := r.changes("STATUS", start)
		if len(got) > len(want) {
			got = got[:len(want)] // the blink goes on
		}
		if !slices.Equal(got, want) {
			t.Errorf("status LED changes %v, want %v", got, want)
		}
		rr.untouched(t)
		if ev := <-resets; ev.State != "requested" {
			t.Errorf("event %+v, want requested", ev)
		}

		rr.reset.Cancel("admin")
		synctest.Wait()
		if _, ok := rr.reset.Pending(); ok || status.Get() != board.On {
			t.Errorf("after Cancel: pending %v, status LED %v", ok, status.Get())
		}
		if ev := <-resets; ev.State != "cancelled" || ev.By != "admin" {
			t.Errorf("event %+v, want cancelled by admin", ev)
		}
		if err := rr.reset.Confirm("admin"); err != ErrNoReset {
			t.Errorf("Confirm after Cancel = %v, want ErrNoReset", err)
		}
		rr.untouched(t)

		// Raised again, then confirmed: marked for erasing, restarted.
		r.press("SERVICE", board.ServiceHold+time.Second)
		if err := rr.reset.Confirm("admin"); err != nil {
			t.Fatal(err)
		}
		if rr.restarts != 1 {
			t.Errorf("%d restarts, want 1", rr.restarts)
		}
		if _, err := os.Stat(filepath.Join(rr.dir, backup.EraseMarker)); err != nil {
			t.Errorf("confirmed, but the data is not marked for erasing: %v", err)
		}
	})
}

func TestResetExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rr := newResetRig(t)
		// No status LED: the button LEDs show the request.
		r := newRig(t, realACD(t), rr.make, false)
		r.press("SERVICE", board.ServiceHold+time.Second)
		for _, n := range []int{1, 2, 3, 4} {
			if got := r.brd.LED(n).Get(); got != board.DoubleBlink {
				t.Errorf("LED %d %v with a reset pending and no status LED, want double blink", n, got)
			}
		}
		time.Sleep(ResetTTL - 2*time.Second)
		if _, ok := rr.reset.Pending(); !ok {
			t.Fatal("request expired early")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, ok := rr.reset.Pending(); ok {
			t.Fatalf("request still pending after %v", ResetTTL)
		}
		if got := r.brd.LED(1).Get(); got != board.Off {
			t.Errorf("LED 1 %v after the request expired, want off (Bob is logged out)", got)
		}
		if err := rr.reset.Confirm("admin"); err != ErrNoReset {
			t.Errorf("Confirm after expiry = %v, want ErrNoReset", err)
		}
		rr.untouched(t)
	})
}
