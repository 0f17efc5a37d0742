package voicemail

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call/calltest"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail/smtptest"
)

// memOutbox is an in-memory Outbox with the store's semantics.
type memOutbox struct {
	mu    sync.Mutex
	next  int64
	mails []store.VoicemailMail
}

func (o *memOutbox) EnqueueVoicemailMail(ctx context.Context, m store.VoicemailMail) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	m.ID, m.State = o.next, store.MailPending
	if m.Next.IsZero() {
		m.Next = time.Now()
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	o.mails = append(o.mails, m)
	return m.ID, nil
}

func (o *memOutbox) DueVoicemailMail(ctx context.Context, now time.Time, limit int) ([]store.VoicemailMail, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []store.VoicemailMail
	for _, m := range o.mails {
		if m.State == store.MailPending && !m.Next.After(now) && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

func (o *memOutbox) NextVoicemailMailDue(ctx context.Context) (time.Time, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var next time.Time
	ok := false
	for _, m := range o.mails {
		if m.State == store.MailPending && (!ok || m.Next.Before(next)) {
			next, ok = m.Next, true
		}
	}
	return next, ok, nil
}

func (o *memOutbox) VoicemailMailTried(ctx context.Context, id int64, state string, attempts int, next time.Time, errText string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.mails {
		if m := &o.mails[i]; m.ID == id {
			m.State, m.Attempts, m.Next, m.LastError = state, attempts, next, errText
			if state != store.MailPending {
				m.Done = time.Now()
			}
			return nil
		}
	}
	return store.ErrNotFound
}

func (o *memOutbox) ListVoicemailOutbox(ctx context.Context, limit int) ([]store.VoicemailMail, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := slices.Clone(o.mails)
	slices.Reverse(out)
	return out[:min(limit, len(out))], nil
}

func (o *memOutbox) RetryVoicemailMail(ctx context.Context, id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.mails {
		if m := &o.mails[i]; m.ID == id && m.State != store.MailSent {
			m.State, m.Next, m.Created, m.Done = store.MailPending, time.Now(), time.Now(), time.Time{}
			return nil
		}
	}
	return store.ErrNotFound
}

func (o *memOutbox) get(id int64) store.VoicemailMail {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.mails {
		if m.ID == id {
			return m
		}
	}
	return store.VoicemailMail{}
}

// flakyRelay fails every try until up is set, noting when each try came.
type flakyRelay struct {
	mu    sync.Mutex
	up    bool
	start time.Time
	tries []time.Duration
	sent  []Message
}

func (r *flakyRelay) send(ctx context.Context, relay site.SMTP, to string, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries = append(r.tries, time.Since(r.start))
	if !r.up {
		return errors.New("dial mail.example.com:587: connection refused")
	}
	r.sent = append(r.sent, m)
	return nil
}

func (r *flakyRelay) setUp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up = true
}

func (r *flakyRelay) log() ([]time.Duration, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tries), len(r.sent)
}

// outboxFixture: one message file in a data directory and a site with a
// relay.
func outboxFixture(t *testing.T) (dir string, st *site.Site, mail store.VoicemailMail) {
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "voicemail", "101"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "voicemail", "101", "m.wav"), []byte("RIFF-not-checked"), 0o640); err != nil {
		t.Fatal(err)
	}
	st = testSite()
	return dir, st, store.VoicemailMail{Box: "101", BoxName: "Bob", To: "bob@example.com", Caller: "+15557770000",
		Time: time.Now(), Duration: 4 * time.Second, File: filepath.Join("voicemail", "101", "m.wav")}
}

func TestBackoffDoublesToAnHour(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := Backoff(1000); got != time.Hour {
		t.Errorf("Backoff(1000) = %v, want the 1h cap", got)
	}
}

// TestOutboxRetriesWithBackoffThenGivesUp: with the relay down, tries come
// at 0, 1, 3, 7, 15, 31, 63 minutes, then hourly; the first failure 48 h
// after queueing gives the e-mail up; an operator's retry then sends it.
func TestOutboxRetriesWithBackoffThenGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, st, mail := outboxFixture(t)
		ob := &memOutbox{}
		relay := &flakyRelay{start: time.Now()}
		m := &Mailer{Outbox: ob, DataDir: dir, Site: func() *site.Site { return st }, Send: relay.send}
		m.Start()
		defer m.Close()
		id, err := m.Enqueue(t.Context(), mail)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(49 * time.Hour)
		synctest.Wait()
		tries, _ := relay.log()
		want := []time.Duration{0, 1, 3, 7, 15, 31, 63}
		for i, w := range want {
			if i >= len(tries) || tries[i] != w*time.Minute {
				t.Fatalf("tries at %v, want the first at %v minutes", tries, want)
			}
		}
		// Hourly from 63 min: the last try at or past 48 h gives up.
		last := tries[len(tries)-1]
		if last < GiveUpAfter || last >= GiveUpAfter+time.Hour || tries[len(tries)-2] >= GiveUpAfter {
			t.Errorf("last tries at %v, %v: want the give-up at the first try from 48h", tries[len(tries)-2], last)
		}
		got := ob.get(id)
		if got.State != store.MailFailed || got.Attempts != len(tries) || !strings.Contains(got.LastError, "connection refused") {
			t.Errorf("after 49h: %+v, want failed after %d attempts with the relay's error", got, len(tries))
		}
		// Nothing more is tried once given up.
		time.Sleep(10 * time.Hour)
		if n, _ := relay.log(); len(n) != len(tries) {
			t.Errorf("%d tries after giving up, want none", len(n)-len(tries))
		}

		relay.setUp()
		if err := m.Retry(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := ob.get(id); got.State != store.MailSent || got.Attempts != len(tries)+1 || got.Done.IsZero() {
			t.Errorf("after the retry: %+v, want sent", got)
		}
		if err := m.Retry(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("retrying a sent e-mail: %v, want ErrNotFound (never sent twice)", err)
		}
	})
}

// TestOutboxSurvivesRestart: an e-mail that failed before the box
// stopped is sent by the next run as it starts.
func TestOutboxSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, st, mail := outboxFixture(t)
		ob := &memOutbox{}
		relay := &flakyRelay{start: time.Now()}
		m := &Mailer{Outbox: ob, DataDir: dir, Site: func() *site.Site { return st }, Send: relay.send}
		m.Start()
		id, _ := m.Enqueue(t.Context(), mail)
		time.Sleep(30 * time.Second)
		m.Close() // the box stops; the e-mail is pending, due at 1 min
		relay.setUp()
		time.Sleep(10 * time.Second) // down for ten seconds: the retry was not due yet

		m2 := &Mailer{Outbox: ob, DataDir: dir, Site: func() *site.Site { return st }, Send: relay.send}
		m2.Start()
		defer m2.Close()
		synctest.Wait()
		tries, sent := relay.log()
		if sent != 1 || len(tries) != 2 || tries[1] != 40*time.Second {
			t.Errorf("tries at %v, %d sent; want the e-mail sent as the box starts again", tries, sent)
		}
		if got := ob.get(id); got.State != store.MailSent || got.Attempts != 2 {
			t.Errorf("%+v, want sent at the second attempt", got)
		}
	})
}

// TestOutboxGivesUpOnDeletedMessage: a message deleted before it could be
// e-mailed is given up on at once, not retried for two days.
func TestOutboxGivesUpOnDeletedMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, st, mail := outboxFixture(t)
		os.Remove(filepath.Join(dir, mail.File))
		ob := &memOutbox{}
		relay := &flakyRelay{start: time.Now(), up: true}
		m := &Mailer{Outbox: ob, DataDir: dir, Site: func() *site.Site { return st }, Send: relay.send}
		m.Start()
		defer m.Close()
		id, _ := m.Enqueue(t.Context(), mail)
		synctest.Wait()
		if got := ob.get(id); got.State != store.MailFailed || !strings.Contains(got.LastError, "deleted") {
			t.Errorf("%+v, want failed: the message was deleted", got)
		}
		if tries, _ := relay.log(); len(tries) != 0 {
			t.Errorf("%d tries of a deleted message", len(tries))
		}
	})
}

// TestOutboxRealRelayDownThenUp: a real SMTP exchange on loopback. The
// relay's port refuses the first try; the relay comes up and the retry a
// minute later delivers the message with its audio.
func TestOutboxRealRelayDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: the port refuses connections
	// The relay is started from outside the bubble: a listener's goroutine
	// inside it would keep the fake clock from moving.
	start, started := make(chan struct{}), make(chan (<-chan string), 1)
	go func() {
		<-start
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			started <- nil
			return
		}
		started <- smtptest.Serve(t, ln)
	}()
	synctest.Test(t, func(t *testing.T) {
		dir, st, mail := outboxFixture(t)
		st.System.SMTP = &site.SMTP{Host: addr, From: "pbx@example.com"}
		ob := &memOutbox{}
		m := &Mailer{Outbox: ob, DataDir: dir, Site: func() *site.Site { return st }}
		m.Start()
		defer m.Close()
		id, _ := m.Enqueue(t.Context(), mail)
		time.Sleep(time.Second)
		if got := ob.get(id); got.State != store.MailPending || got.Attempts != 1 || got.LastError == "" {
			t.Fatalf("relay down: %+v, want pending after one failed try", got)
		}
		close(start)
		got := <-started // not a bubble channel: the clock waits for the relay
		if got == nil {
			t.FailNow()
		}
		time.Sleep(time.Minute)
		var data string
		select {
		case data = <-got:
		case <-time.After(time.Minute):
			t.Fatalf("nothing arrived: %+v", ob.get(id))
		}
		if !strings.Contains(data, "To: bob@example.com") || !strings.Contains(data, "filename=\"voicemail-101.wav\"") {
			t.Errorf("the relay got:\n%.400s", data)
		}
		synctest.Wait()
		if got := ob.get(id); got.State != store.MailSent || got.Attempts != 2 {
			t.Errorf("%+v, want sent at the second try", got)
		}
	})
}

// TestLeaveQueuesTheEmail: with an outbox, a new message of a box with an
// address is queued (and sent by the Mailer), not sent from the call.
func TestLeaveQueuesTheEmail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ob := &memOutbox{}
		relay := &flakyRelay{start: time.Now(), up: true}
		f.s.Outbox = &Mailer{Outbox: ob, DataDir: f.s.DataDir, Site: testSite, Send: relay.send}
		f.s.Outbox.Start()
		defer f.s.Outbox.Close()
		caller := calltest.NewLeg("caller", calltest.From("+15557770000", "Alice"), calltest.Speaks(1234))
		caller.PressAfter(7*time.Second+10*time.Millisecond, "#") // between two frames: TestLeaveMessageFinishedByHash
		if _, err := f.s.Leave(t.Context(), caller, Leave{Site: testSite(), Box: "101", From: caller.Remote(), CallID: "c1"}); err != nil {
			t.Fatal(err)
		}
		f.s.Close()
		synctest.Wait()
		if len(f.mail.msgs) != 0 {
			t.Error("the call sent the e-mail itself")
		}
		m := ob.get(1)
		if m.MessageID != 1 || m.To != "bob@example.com" || m.File != f.st.msgs[0].File || m.State != store.MailSent || m.CallerName != "Alice" {
			t.Errorf("outbox %+v, want the message's e-mail, sent", m)
		}
		if _, n := relay.log(); n != 1 {
			t.Errorf("%d e-mails sent, want 1", n)
		}
		if relay.sent[0].Time.Location().String() != "America/New_York" || relay.sent[0].Duration != 5*time.Second {
			t.Errorf("e-mail time %v (want the site's zone), duration %v", relay.sent[0].Time, relay.sent[0].Duration)
		}
	})
}
