package voicemail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Voicemail e-mail delivery: a new message to e-mail is written to the
// outbox (a table, so it survives a restart) and the Mailer's goroutine
// sends it. A try that fails is retried after FirstRetry, then twice as
// long each time up to MaxRetry apart; an e-mail still not sent GiveUpAfter
// its queueing is given up on (state failed, logged) until an operator
// retries it.
const (
	FirstRetry  = time.Minute
	MaxRetry    = time.Hour
	GiveUpAfter = 48 * time.Hour
	// SendTimeout bounds one try: a relay that accepts the connection and
	// then stalls must not hold the outbox.
	SendTimeout = time.Minute
	// outboxBatch is how many due e-mails one pass reads.
	outboxBatch = 20
)

// Outbox keeps the e-mails to send; *store.Store implements it.
type Outbox interface {
	EnqueueVoicemailMail(ctx context.Context, m store.VoicemailMail) (int64, error)
	DueVoicemailMail(ctx context.Context, now time.Time, limit int) ([]store.VoicemailMail, error)
	NextVoicemailMailDue(ctx context.Context) (time.Time, bool, error)
	VoicemailMailTried(ctx context.Context, id int64, state string, attempts int, next time.Time, errText string) error
	ListVoicemailOutbox(ctx context.Context, limit int) ([]store.VoicemailMail, error)
	RetryVoicemailMail(ctx context.Context, id int64) error
}

// Backoff is the wait after the attempts-th failed try: FirstRetry
// doubled each time, at most MaxRetry.
func Backoff(attempts int) time.Duration {
	d := FirstRetry
	for i := 1; i < attempts && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// Mailer sends the outbox's e-mails from one goroutine: [Mailer.Start]
// starts it, [Mailer.Close] stops it and waits for it.
type Mailer struct {
	Outbox  Outbox
	DataDir string // message files are relative to it
	// Site returns the site in use: its relay (system.smtp, with its
	// password) and time zone are read at each try, so fixing the relay in
	// the site file applies to the e-mails waiting.
	Site func() *site.Site
	// Send sends one e-mail; nil: SendMail.
	Send   func(ctx context.Context, relay site.SMTP, to string, m Message) error
	Logger *slog.Logger

	once   sync.Once
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func (m *Mailer) init() {
	m.once.Do(func() { m.wake = make(chan struct{}, 1) })
}

func (m *Mailer) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger.With("pkg", "voicemail", "part", "outbox")
	}
	return slog.Default().With("pkg", "voicemail", "part", "outbox")
}

// Start starts the sender. Its first pass tries every e-mail left pending
// by the previous run at once, even one whose back-off has not run out: a
// restart is often the end of what kept the relay away (a power cut, the
// network). Those that fail again wait their back-off.
func (m *Mailer) Start() {
	m.init()
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		m.run(ctx)
	}()
}

// Close stops the sender and waits for it; a try under way is abandoned
// and stays pending, to be made again after the next start.
func (m *Mailer) Close() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
}

// Wake makes the sender look at the outbox now.
func (m *Mailer) Wake() {
	m.init()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Enqueue queues an e-mail of message msg and wakes the sender.
func (m *Mailer) Enqueue(ctx context.Context, mail store.VoicemailMail) (int64, error) {
	id, err := m.Outbox.EnqueueVoicemailMail(ctx, mail)
	if err != nil {
		return 0, err
	}
	m.Wake()
	return id, nil
}

// List returns the outbox, newest first.
func (m *Mailer) List(ctx context.Context, limit int) ([]store.VoicemailMail, error) {
	return m.Outbox.ListVoicemailOutbox(ctx, limit)
}

// Retry puts a failed or waiting e-mail back to be tried now, with a new
// GiveUpAfter.
func (m *Mailer) Retry(ctx context.Context, id int64) error {
	if err := m.Outbox.RetryVoicemailMail(ctx, id); err != nil {
		return err
	}
	m.logger().Info("voicemail e-mail retried by hand", "id", id)
	m.Wake()
	return nil
}

// startBatch bounds the first pass: the rest wait their turn.
const startBatch = 1000

func (m *Mailer) run(ctx context.Context) {
	log := m.logger()
	// Every pending e-mail is due before now + MaxRetry.
	left, err := m.Outbox.DueVoicemailMail(ctx, time.Now().Add(MaxRetry), startBatch)
	if err != nil && ctx.Err() == nil {
		log.Error("read the outbox", "err", err)
	}
	if len(left) > 0 {
		log.Info("voicemail e-mails left from before the start", "pending", len(left))
	}
	for _, x := range left {
		if ctx.Err() != nil {
			return
		}
		m.try(ctx, x)
	}
	for {
		due, err := m.Outbox.DueVoicemailMail(ctx, time.Now(), outboxBatch)
		if err != nil && ctx.Err() == nil {
			log.Error("read the outbox", "err", err)
		}
		for _, x := range due {
			if ctx.Err() != nil {
				return
			}
			m.try(ctx, x)
		}
		if len(due) == outboxBatch {
			continue
		}
		wait := MaxRetry // nothing pending: only Wake starts a pass early
		if next, ok, err := m.Outbox.NextVoicemailMailDue(ctx); err != nil {
			if ctx.Err() == nil {
				log.Error("read the outbox", "err", err)
			}
			wait = FirstRetry
		} else if ok {
			wait = max(0, time.Until(next))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-m.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

var errMessageGone = errors.New("the message was deleted before it was e-mailed")

// try makes one delivery try of x and records how it went.
func (m *Mailer) try(ctx context.Context, x store.VoicemailMail) {
	log := m.logger().With("id", x.ID, "box", x.Box, "to", x.To, "attempt", x.Attempts+1)
	err := m.send(ctx, x)
	if ctx.Err() != nil {
		return // shutting down: the try did not count, it is made again after the start
	}
	attempts := x.Attempts + 1
	// Recording the outcome must not fail because the sender is stopping.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := time.Now()
	state, next, text := store.MailSent, now, ""
	switch {
	case err == nil:
		log.Info("voicemail e-mailed")
	case errors.Is(err, errMessageGone) || now.Sub(x.Created) >= GiveUpAfter:
		state, text = store.MailFailed, err.Error()
		log.Error("voicemail e-mail given up", "err", err, "queued", x.Created)
	default:
		state, next, text = store.MailPending, now.Add(Backoff(attempts)), err.Error()
		log.Warn("voicemail e-mail not sent, will retry", "err", err, "next", next)
	}
	if err := m.Outbox.VoicemailMailTried(sctx, x.ID, state, attempts, next, text); err != nil {
		log.Error("record the e-mail's try", "err", err)
	}
}

func (m *Mailer) send(ctx context.Context, x store.VoicemailMail) error {
	b, err := os.ReadFile(filepath.Join(m.DataDir, x.File))
	if errors.Is(err, os.ErrNotExist) {
		return errMessageGone
	}
	if err != nil {
		return fmt.Errorf("read message %s: %w", x.File, err)
	}
	var st *site.Site
	if m.Site != nil {
		st = m.Site()
	}
	if st == nil || st.System.SMTP == nil {
		return errors.New("the site has no mail relay (system.smtp)")
	}
	relay := st.System.SMTP
	send := m.Send
	if send == nil {
		send = SendMail
	}
	sctx, cancel := context.WithTimeout(ctx, SendTimeout)
	defer cancel()
	return send(sctx, *relay, x.To, Message{Box: x.Box, BoxName: x.BoxName, Caller: x.Caller, CallerName: x.CallerName,
		CallID: x.CallID, Time: x.Time.In(st.Location()), Duration: x.Duration, WAV: b})
}
