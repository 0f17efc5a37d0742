// Package voicemail takes and plays back voicemail messages: per-extension
// boxes (an extension with voicemail: true, box named after its number) and
// group boxes (the site's voicemail: list).
//
// A message is a mono 16-bit WAV file under DataDir/voicemail/BOX/ and a
// row in the store. Leaving a message plays the box's greeting and a beep,
// records what the caller says until '#', the maximum length or the hang-up,
// and discards messages shorter than the box's minimum. New messages light
// the message-waiting indicator of the box's extension ([MWI]) and are
// e-mailed with the WAV attached when the box has an address: queued in the
// outbox and sent, retried with back-off, by the [Mailer].
//
// By phone ([Service.Main]) a caller logs in to a box (its owner from the
// box's extension, anyone else with the PIN), listens to the messages and
// records the box's greetings and name or changes its PIN (phone.go).
//
// # Concurrency
//
// Leave, Main and Listen run on the call's goroutine. The Mailer sends
// from one goroutine of its own ([Mailer.Start], [Mailer.Close]); without
// a Mailer, e-mails are sent once from goroutines the Service owns, and
// [Service.Close] waits for them.
package voicemail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ringbox/audio/prompts"
	"ringbox/audio/resample"
	"ringbox/audio/wav"
	"ringbox/firmware/call"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// MWI lights message-waiting indicators. The SIP layer implements it with
// NOTIFY (RFC 3842); analog lines with a stutter dial tone.
type MWI interface {
	Notify(ext string, newMsgs, oldMsgs int)
}

// Store keeps the message rows; *store.Store implements it.
type Store interface {
	InsertVoicemail(ctx context.Context, m store.VoicemailMessage) (int64, error)
	ListVoicemail(ctx context.Context, box string) ([]store.VoicemailMessage, error)
	MarkVoicemailHeard(ctx context.Context, id int64) error
	DeleteVoicemail(ctx context.Context, id int64) error
	CountVoicemail(ctx context.Context, box string) (newMsgs, oldMsgs int, err error)
}

// MenuWait is how long Listen waits for a key after the message menu.
const MenuWait = 10 * time.Second

// Service leaves and plays back messages.
type Service struct {
	Store   Store
	DataDir string // messages go to DataDir/voicemail/BOX/
	MWI     MWI    // nil: no indicators
	// Prompts returns an uploaded prompt; nil or false: the built-in one.
	Prompts func(id string, rate int) (call.Source, bool)
	// Outbox queues messages to e-mail and sends them, retried until they
	// go (see Mailer); the web's outbox page reads it. nil: each e-mail
	// is sent once, directly, with Mail.
	Outbox *Mailer
	// Mail sends a message by e-mail when there is no Outbox; nil:
	// SendMail through the site's SMTP relay.
	Mail   func(ctx context.Context, relay site.SMTP, to string, m Message) error
	Logger *slog.Logger
	// PINs stores a PIN changed by phone (option 0 4); nil: the option
	// says the PIN was not changed.
	PINs PINStore

	wg      sync.WaitGroup
	limiter pinLimiter
}

// Close waits for e-mails still being sent.
func (s *Service) Close() { s.wg.Wait() }

// Box is a mailbox resolved from the site.
type Box struct {
	ID        string
	Extension bool // owned by the extension numbered ID
	Name      string
	Email     string
	Greeting  string // prompt id; "" the built-in greeting
	MaxLen    time.Duration
	MinLen    time.Duration
}

// Lookup finds box id: a group box, or an extension with voicemail.
func Lookup(s *site.Site, id string) (Box, bool) {
	for i := range s.Voicemail {
		if m := &s.Voicemail[i]; m.Box == id {
			return Box{ID: id, Name: m.Name, Email: m.Email, Greeting: m.Greeting, MaxLen: m.MaxLen(), MinLen: m.MinLen()}, true
		}
	}
	for _, x := range s.Extensions {
		if x.Number == id && x.Voicemail {
			var def site.Mailbox
			return Box{ID: id, Extension: true, Name: x.Name, Email: x.Email, MaxLen: def.MaxLen(), MinLen: def.MinLen()}, true
		}
	}
	return Box{}, false
}

// Message is one message as e-mailed.
type Message struct {
	Box        string
	BoxName    string
	Caller     string
	CallerName string
	CallID     string
	Time       time.Time // in the site's time zone
	Duration   time.Duration
	WAV        []byte
}

// Leave is one caller leaving a message.
type Leave struct {
	Site   *site.Site
	Box    string
	From   call.Party
	CallID string
	Busy   bool // the box's owner was busy: the busy greeting plays
}

var errNoBox = errors.New("voicemail: no such box")

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger.With("pkg", "voicemail")
	}
	return slog.Default().With("pkg", "voicemail")
}

func rateOf(m call.Media) int {
	if m.Codec() == "G722" {
		return 16000
	}
	return 8000
}

// prompt returns prompt id: uploaded first, then built in; nil when none.
func (s *Service) prompt(lang, id string, rate int) call.Source {
	if s.Prompts != nil {
		if src, ok := s.Prompts(id, rate); ok {
			return src
		}
	}
	if pcm, ok := prompts.Get(lang, id, rate); ok {
		return prompts.Source(pcm)
	}
	return nil
}

func (s *Service) boxDir(box string) string {
	return filepath.Join(s.DataDir, "voicemail", box)
}

// greeting is the recorded greeting of the box (greeting-busy.wav when
// busy and recorded, else greeting.wav), the box's greeting prompt, the
// recorded name followed by "is on the phone" (busy) or "is not
// available", or the built-in greeting.
func (s *Service) greeting(b Box, lang string, busy bool, rate int) call.Source {
	names := []string{GreetingFile}
	if busy {
		names = []string{BusyGreetingFile, GreetingFile}
	}
	for _, n := range names {
		if pcm, err := readWAV(filepath.Join(s.boxDir(b.ID), n), rate); err == nil {
			return prompts.Source(pcm)
		}
	}
	if b.Greeting != "" {
		if src := s.prompt(lang, b.Greeting, rate); src != nil {
			return src
		}
	}
	if name, err := readWAV(filepath.Join(s.boxDir(b.ID), NameFile), rate); err == nil {
		tail := "vm-is-unavailable"
		if busy {
			tail = "vm-is-busy"
		}
		if src := s.prompt(lang, tail, rate); src != nil {
			return &then{a: prompts.Source(name), b: src}
		}
	}
	return s.prompt(lang, "voicemail-greeting", rate)
}

// readWAV reads a WAV file as mono PCM at rate.
func readWAV(path string, rate int) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if f.Rate != rate {
		r := resample.New(f.Rate, rate)
		pcm = r.Flush(r.Process(nil, pcm))
	}
	return pcm, nil
}

// Leave answers leg, plays the greeting and the beep, and records a
// message. It returns the cause the call ends with (Normal after a
// message). The leg is not hung up.
func (s *Service) Leave(ctx context.Context, leg call.Leg, l Leave) (call.Cause, error) {
	b, ok := Lookup(l.Site, l.Box)
	if !ok {
		return call.NotFound, fmt.Errorf("leave message in %s: %w", l.Box, errNoBox)
	}
	if err := leg.Answer(ctx); err != nil {
		return call.CauseOf(err), nil
	}
	m := leg.Media()
	rate, lang := rateOf(m), l.Site.System.Lang()
	// '#' during the greeting skips it, as callers expect from any
	// voicemail; '*' is the box's owner calling in from outside, who logs
	// in with the PIN; other keys are ignored.
	if g := s.greeting(b, lang, l.Busy, rate); g != nil {
		key, err := playSkipping(ctx, m, g)
		if err != nil {
			return call.CauseOf(err), nil
		}
		if key == '*' {
			return s.Main(ctx, leg, Access{Site: l.Site, Box: b.ID, Caller: l.From.Number, CallID: l.CallID}), nil
		}
	}
	if beep := s.prompt(lang, "voicemail-beep", rate); beep != nil {
		if err := m.Play(ctx, beep, false); err != nil {
			return call.CauseOf(err), nil
		}
	}
	pcm, byKey := Record(ctx, leg, b.MaxLen, rate)
	d := time.Duration(len(pcm)) * time.Second / time.Duration(rate)
	log := s.logger().With("box", b.ID, "call", l.CallID)
	if d < b.MinLen {
		log.Info("message too short, discarded", "length", d, "min", b.MinLen)
		return call.Normal, nil
	}
	now := time.Now()
	var buf bytes.Buffer
	if err := wav.Write(&buf, rate, 1, pcm); err != nil {
		return call.Failure, fmt.Errorf("encode message for %s: %w", b.ID, err)
	}
	name := fmt.Sprintf("%s-%s.wav", now.UTC().Format("20060102T150405.000"), safeName(l.CallID))
	rel := filepath.Join("voicemail", b.ID, name)
	if err := os.MkdirAll(s.boxDir(b.ID), 0o750); err != nil {
		return call.Failure, fmt.Errorf("save message for %s: %w", b.ID, err)
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, rel), buf.Bytes(), 0o640); err != nil {
		return call.Failure, fmt.Errorf("save message for %s: %w", b.ID, err)
	}
	// The caller is done talking; the row and the e-mail must not depend on
	// the call still being up.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	id, err := s.Store.InsertVoicemail(sctx, store.VoicemailMessage{Box: b.ID, Time: now, Caller: l.From.Number,
		CallerName: l.From.Name, Duration: d, File: rel, CallID: l.CallID})
	if err != nil {
		return call.Failure, fmt.Errorf("save message for %s: %w", b.ID, err)
	}
	log.Info("message left", "id", id, "length", d, "file", rel)
	s.notify(sctx, b)
	if byKey {
		if bye := s.prompt(lang, "goodbye", rate); bye != nil {
			m.Play(ctx, bye, false)
		}
	}
	if b.Email != "" && s.Outbox != nil {
		// Queued even without a relay: the e-mail goes once one is set.
		if _, err := s.Outbox.Enqueue(sctx, store.VoicemailMail{MessageID: id, Box: b.ID, BoxName: b.Name, To: b.Email,
			Caller: l.From.Number, CallerName: l.From.Name, CallID: l.CallID, Time: now, Duration: d, File: rel}); err != nil {
			log.Error("queue voicemail e-mail", "to", b.Email, "err", err)
		}
	} else if b.Email != "" && l.Site.System.SMTP != nil {
		relay := *l.Site.System.SMTP
		msg := Message{Box: b.ID, BoxName: b.Name, Caller: l.From.Number, CallerName: l.From.Name, CallID: l.CallID,
			Time: now.In(l.Site.Location()), Duration: d, WAV: buf.Bytes()}
		send := s.Mail
		if send == nil {
			send = SendMail
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			mctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := send(mctx, relay, b.Email, msg); err != nil {
				log.Error("voicemail e-mail", "to", b.Email, "err", err)
			}
		}()
	}
	return call.Normal, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// playSkipping plays src; a '#' or '*' ends it early and is returned,
// other keys are dropped.
func playSkipping(ctx context.Context, m call.Media, src call.Source) (byte, error) {
	for {
		if err := m.Play(ctx, src, true); err != nil {
			return 0, err
		}
		select {
		case d := <-m.Digits():
			if d.Key == '#' || d.Key == '*' {
				return d.Key, nil
			}
			continue // the rest of the greeting plays on
		default:
			return 0, nil
		}
	}
}

// Record hears the leg until '#', max, the leg's end or ctx. It reports
// whether '#' ended it.
func Record(ctx context.Context, leg call.Leg, maxLen time.Duration, rate int) ([]int16, bool) {
	h, ok := leg.Media().(call.Hearer)
	if !ok {
		return nil, false
	}
	rctx, cancel := context.WithTimeout(ctx, maxLen)
	defer cancel()
	var mu sync.Mutex
	var pcm []int16
	maxSamples := int(maxLen.Seconds() * float64(rate))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Hear(rctx, func(f []int16) {
			mu.Lock()
			if len(pcm) < maxSamples {
				pcm = append(pcm, f[:min(len(f), maxSamples-len(pcm))]...)
			}
			mu.Unlock()
		})
	}()
	byKey := false
loop:
	for {
		select {
		case d := <-leg.Media().Digits():
			if d.Key == '#' {
				byKey = true
				break loop
			}
		case <-rctx.Done():
			break loop
		case <-leg.Done():
			break loop
		case <-done:
			break loop
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return pcm, byKey
}

// notify lights the indicator of an extension's box.
func (s *Service) notify(ctx context.Context, b Box) {
	if s.MWI == nil || !b.Extension {
		return
	}
	n, o, err := s.Store.CountVoicemail(ctx, b.ID)
	if err != nil {
		s.logger().Error("count messages", "box", b.ID, "err", err)
		return
	}
	s.MWI.Notify(b.ID, n, o)
}

// Listen answers leg and plays box's messages to it, no PIN asked (Main
// is the way in by phone): the count of new messages, "options: 0", then
// each message, new ones first, each followed by the menu of the built-in
// vm-menu prompt: 1 next, 2 again, 3 delete; 0 opens the mailbox options
// (greetings, name, PIN). A message played to its end moves to the old
// ones.
func (s *Service) Listen(ctx context.Context, leg call.Leg, st *site.Site, box string) call.Cause {
	if _, ok := Lookup(st, box); !ok {
		return call.NotFound
	}
	if err := leg.Answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	return s.listen(ctx, leg, st, box)
}

// listen is Listen on an answered leg.
func (s *Service) listen(ctx context.Context, leg call.Leg, st *site.Site, box string) call.Cause {
	b, ok := Lookup(st, box)
	if !ok {
		return call.NotFound
	}
	defer s.notify(context.WithoutCancel(ctx), b)
	m := leg.Media()
	rate, lang := rateOf(m), st.System.Lang()
	msgs, err := s.Store.ListVoicemail(ctx, b.ID)
	if err != nil {
		s.logger().Error("list messages", "box", b.ID, "err", err)
		return call.Failure
	}
	fresh := 0
	for _, msg := range msgs {
		if !msg.Heard {
			fresh++
		}
	}
	if clips, ok := prompts.NewMessages(lang, min(fresh, prompts.MaxNumber), rate); ok {
		if err := m.Play(ctx, prompts.Source(clips...), true); err != nil {
			return call.CauseOf(err)
		}
	}
	if err := s.playAll(ctx, m, lang, rate, "vm-options-hint"); err != nil {
		return call.CauseOf(err)
	}
	if len(msgs) == 0 {
		// Nothing to hear: a moment for 0, the options (a new box's
		// owner records the greetings before any message comes).
		key, err := waitKey(ctx, leg)
		if err != nil {
			return call.CauseOf(err)
		}
		if key == '0' {
			if err := s.options(ctx, leg, st, b, lang, rate); err != nil {
				return call.CauseOf(err)
			}
		}
	}
	for i := 0; i < len(msgs); {
		msg := msgs[i]
		pcm, err := readWAV(filepath.Join(s.DataDir, msg.File), rate)
		if err != nil {
			s.logger().Error("read message", "box", b.ID, "id", msg.ID, "err", err)
			i++
			continue
		}
		if err := m.Play(ctx, prompts.Source(pcm), true); err != nil {
			return call.CauseOf(err)
		}
		if !msg.Heard {
			if err := s.Store.MarkVoicemailHeard(ctx, msg.ID); err != nil {
				s.logger().Error("mark heard", "id", msg.ID, "err", err)
			}
			msgs[i].Heard = true
		}
		key, err := s.menu(ctx, leg, lang, rate)
		if err != nil {
			return call.CauseOf(err)
		}
		switch key {
		case '1':
			i++
		case '2':
			// play it again
		case '0':
			if err := s.options(ctx, leg, st, b, lang, rate); err != nil {
				return call.CauseOf(err)
			}
			// then the same message again
		case '3':
			if err := s.Store.DeleteVoicemail(ctx, msg.ID); err != nil {
				s.logger().Error("delete message", "id", msg.ID, "err", err)
			} else {
				os.Remove(filepath.Join(s.DataDir, msg.File))
			}
			if src := s.prompt(lang, "message-deleted", rate); src != nil {
				m.Play(ctx, src, true)
			}
			i++
		default: // no key: the caller is done
			i = len(msgs)
		}
	}
	for _, id := range []string{"no-more-messages", "goodbye"} {
		if src := s.prompt(lang, id, rate); src != nil {
			if err := m.Play(ctx, src, false); err != nil {
				return call.CauseOf(err)
			}
		}
	}
	return call.Normal
}

// menu plays vm-menu and waits for 1, 2, 3 or 0 (options); the zero
// byte when none came in time.
func (s *Service) menu(ctx context.Context, leg call.Leg, lang string, rate int) (byte, error) {
	m := leg.Media()
	for tries := 0; tries < 3; tries++ {
		if src := s.prompt(lang, "vm-menu", rate); src != nil {
			if err := m.Play(ctx, src, true); err != nil {
				return 0, err
			}
		}
		t := time.NewTimer(MenuWait)
		select {
		case d := <-m.Digits():
			t.Stop()
			if d.Key >= '0' && d.Key <= '3' {
				return d.Key, nil
			}
		case <-t.C:
			return 0, nil
		case <-leg.Done():
			t.Stop()
			return 0, leg.Err()
		case <-ctx.Done():
			t.Stop()
			return 0, context.Cause(ctx)
		}
	}
	return 0, nil
}

// then plays a, then b.
type then struct{ a, b call.Source }

func (t *then) ReadFrame(f []int16) bool {
	if t.a != nil {
		if t.a.ReadFrame(f) {
			return true
		}
		t.a = nil
	}
	return t.b.ReadFrame(f)
}
