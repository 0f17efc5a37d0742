package voicemail

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ringbox/audio/prompts"
	"ringbox/audio/wav"
	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// A mailbox by phone: logging in with the box's PIN, the options menu
// (greetings, name, PIN) and the greeting files.

// Greeting files in a box's directory (DataDir/voicemail/BOX/), recorded
// by phone from the options menu. They are kept with the messages, so
// backups that hold voicemail hold them.
const (
	GreetingFile     = "greeting.wav"      // unavailable (no answer)
	BusyGreetingFile = "greeting-busy.wav" // the owner was busy or in DND
	NameFile         = "name.wav"          // the owner's name, in the built-in greetings
)

// Limits of logging in and recording by phone.
const (
	// LoginTries is how many wrong logins one call gets before it is
	// hung up.
	LoginTries = 3
	// MaxPINFailures wrong PINs for one box within PINFailureWindow lock
	// the box against logins by PIN until the oldest leaves the window:
	// a caller cannot try PINs faster by calling again.
	MaxPINFailures   = 6
	PINFailureWindow = 15 * time.Minute
	// MaxGreeting is the longest greeting or name take.
	MaxGreeting = 2 * time.Minute
	// MinGreeting is the shortest take kept: shorter is a slip.
	MinGreeting = 500 * time.Millisecond
	// DigitWait is how long a caller has for each digit of a box number
	// or PIN.
	DigitWait = 10 * time.Second
)

// PINStore changes a mailbox's PIN in the configuration; *store.Store
// implements it (SetMailboxPIN), recording a new configuration version
// with actor as its author.
type PINStore interface {
	SetMailboxPIN(ctx context.Context, box, pin, actor string) error
}

// Access is how a caller came to a mailbox by phone.
type Access struct {
	Site *site.Site
	// Box is the mailbox; "" asks the caller for its number.
	Box string
	// Owner: the call comes from the box's own extension (*97); ignored
	// unless Box is an extension's box. The PIN is then asked only under
	// system.voicemail_pin_required.
	Owner  bool
	Caller string // the caller's number or extension, for the log
	CallID string
}

// pinLimiter counts wrong PINs per box.
type pinLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

// locked reports whether box takes no more PINs now.
func (l *pinLimiter) locked(box string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pruneLocked(box, now)) >= MaxPINFailures
}

func (l *pinLimiter) fail(box string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	l.fails[box] = append(l.pruneLocked(box, now), now)
	// Keep the map small: a caller trying box numbers at random must
	// not grow it for ever.
	for b := range l.fails {
		l.pruneLocked(b, now)
	}
}

func (l *pinLimiter) pruneLocked(box string, now time.Time) []time.Time {
	f := l.fails[box]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= PINFailureWindow {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, box)
		return nil
	}
	l.fails[box] = f
	return f
}

// boxPIN is the PIN of box b in s: a group box's pin, an extension's
// voicemail_pin.
func boxPIN(s *site.Site, b Box) string {
	if b.Extension {
		for _, x := range s.Extensions {
			if x.Number == b.ID {
				return x.VoicemailPIN
			}
		}
		return ""
	}
	for _, m := range s.Voicemail {
		if m.Box == b.ID {
			return m.PIN
		}
	}
	return ""
}

// Main answers leg, logs the caller in to a mailbox and plays its
// messages with the listening menu (see Listen). The owner calling from
// the box's extension gets in without the PIN unless the site requires
// it; anyone else gives the PIN, and a box without a PIN is not opened to
// them. LoginTries wrong logins (box or PIN) hang up, logged; so does a
// box locked by the PIN limiter.
func (s *Service) Main(ctx context.Context, leg call.Leg, a Access) call.Cause {
	if err := leg.Answer(ctx); err != nil {
		return call.CauseOf(err)
	}
	log := s.logger().With("call", a.CallID, "caller", a.Caller)
	// Only an extension's own box has an owner phone: a group box always
	// takes its PIN.
	if b, ok := Lookup(a.Site, a.Box); a.Owner && (!ok || !b.Extension) {
		a.Owner = false
	}
	if a.Owner && !a.Site.System.VoicemailPINRequired {
		return s.listen(ctx, leg, a.Site, a.Box)
	}
	m := leg.Media()
	rate, lang := rateOf(m), a.Site.System.Lang()
	box := a.Box
	for try := 1; try <= LoginTries; try++ {
		box = a.Box
		if box == "" {
			var err error
			if box, err = s.ask(ctx, leg, lang, rate, "vm-enter-box", 20); err != nil {
				return call.CauseOf(err)
			}
		}
		b, found := Lookup(a.Site, box)
		pin := ""
		if found {
			pin = boxPIN(a.Site, b)
		}
		// The owner of a box without a PIN is let in under
		// voicemail_pin_required, to set one (option 4).
		if found && a.Owner && b.ID == a.Box && pin == "" {
			return s.listen(ctx, leg, a.Site, b.ID)
		}
		if found && s.limiter.locked(b.ID, time.Now()) {
			log.Warn("mailbox login refused: too many wrong PINs lately", "box", b.ID,
				"max", MaxPINFailures, "window", PINFailureWindow)
			s.playAll(ctx, m, lang, rate, "vm-login-incorrect", "goodbye")
			return call.Forbidden
		}
		got, err := s.ask(ctx, leg, lang, rate, "vm-enter-pin", site.MaxMailboxPIN+1)
		if err != nil {
			return call.CauseOf(err)
		}
		// An unknown box or one without a PIN asks the PIN all the same,
		// so that a caller cannot tell which boxes exist.
		if found && pin != "" && subtle.ConstantTimeCompare([]byte(got), []byte(pin)) == 1 {
			log.Info("mailbox login", "box", b.ID)
			return s.listen(ctx, leg, a.Site, b.ID)
		}
		if found {
			s.limiter.fail(b.ID, time.Now())
		}
		log.Warn("mailbox login failed", "box", box, "known", found, "try", try)
		if err := s.playAll(ctx, m, lang, rate, "vm-login-incorrect"); err != nil {
			return call.CauseOf(err)
		}
	}
	log.Warn("mailbox login: wrong three times, hung up", "box", box, "tries", LoginTries)
	s.playAll(ctx, m, lang, rate, "goodbye")
	return call.Forbidden
}

// playAll plays prompts one after the other, a key ending each.
func (s *Service) playAll(ctx context.Context, m call.Media, lang string, rate int, ids ...string) error {
	for _, id := range ids {
		if src := s.prompt(lang, id, rate); src != nil {
			if err := m.Play(ctx, src, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// ask plays prompt id and reads digits up to '#', max digits, or a pause
// of DigitWait; a key during the prompt is the first digit.
func (s *Service) ask(ctx context.Context, leg call.Leg, lang string, rate int, id string, max int) (string, error) {
	m := leg.Media()
	if err := s.playAll(ctx, m, lang, rate, id); err != nil {
		return "", err
	}
	var got []byte
	t := time.NewTimer(DigitWait)
	defer t.Stop()
	for len(got) < max {
		select {
		case d := <-m.Digits():
			if d.Key == '#' {
				return string(got), nil
			}
			if d.Key >= '0' && d.Key <= '9' {
				got = append(got, d.Key)
			}
			t.Reset(DigitWait)
		case <-t.C:
			return string(got), nil
		case <-leg.Done():
			return "", leg.Err()
		case <-ctx.Done():
			return "", context.Cause(ctx)
		}
	}
	return string(got), nil
}

// waitKey waits MenuWait for one key; 0 when none came.
func waitKey(ctx context.Context, leg call.Leg) (byte, error) {
	t := time.NewTimer(MenuWait)
	defer t.Stop()
	select {
	case d := <-leg.Media().Digits():
		return d.Key, nil
	case <-t.C:
		return 0, nil
	case <-leg.Done():
		return 0, leg.Err()
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// options is the mailbox options menu: 1 the unavailable greeting, 2 the
// busy greeting, 3 the name, 4 the PIN; '*' or no key goes back.
func (s *Service) options(ctx context.Context, leg call.Leg, st *site.Site, b Box, lang string, rate int) error {
	m := leg.Media()
	for {
		if err := s.playAll(ctx, m, lang, rate, "vm-options"); err != nil {
			return err
		}
		key, err := waitKey(ctx, leg)
		if err != nil {
			return err
		}
		switch key {
		case '1':
			err = s.recordGreeting(ctx, leg, b, GreetingFile, lang, rate)
		case '2':
			err = s.recordGreeting(ctx, leg, b, BusyGreetingFile, lang, rate)
		case '3':
			err = s.recordGreeting(ctx, leg, b, NameFile, lang, rate)
		case '4':
			err = s.changePIN(ctx, leg, b, lang, rate)
		case '*', 0:
			return nil
		default:
			err = s.playAll(ctx, m, lang, rate, "invalid-option")
		}
		if err != nil {
			return err
		}
	}
}

// recordGreeting records file of box b: the beep, what the caller says
// until '#', the take played back, then 1 keeps it and 2 records again.
// Anything else (no key, the hang-up) keeps the greeting there was.
func (s *Service) recordGreeting(ctx context.Context, leg call.Leg, b Box, file, lang string, rate int) error {
	m := leg.Media()
	log := s.logger().With("box", b.ID, "file", file)
	for {
		if err := s.playAll(ctx, m, lang, rate, "vm-record-after-beep"); err != nil {
			return err
		}
		if beep := s.prompt(lang, "voicemail-beep", rate); beep != nil {
			if err := m.Play(ctx, beep, false); err != nil {
				return err
			}
		}
		pcm, _ := Record(ctx, leg, MaxGreeting, rate)
		select {
		case <-leg.Done():
			log.Info("greeting take abandoned: the caller hung up")
			return leg.Err()
		default:
		}
		if time.Duration(len(pcm))*time.Second/time.Duration(rate) < MinGreeting {
			continue // nothing said: record again
		}
		if err := m.Play(ctx, prompts.Source(pcm), true); err != nil {
			return err
		}
		if err := s.playAll(ctx, m, lang, rate, "vm-keep-rerecord"); err != nil {
			return err
		}
		key, err := waitKey(ctx, leg)
		if err != nil {
			return err
		}
		switch key {
		case '1':
			if err := s.saveGreeting(b.ID, file, pcm, rate); err != nil {
				log.Error("greeting not saved", "err", err)
				return s.playAll(ctx, m, lang, rate, "invalid-option")
			}
			log.Info("greeting recorded by phone", "length", time.Duration(len(pcm))*time.Second/time.Duration(rate))
			return s.playAll(ctx, m, lang, rate, "vm-saved")
		case '2':
			continue
		default:
			return nil
		}
	}
}

// saveGreeting writes a greeting file whole or not at all: a restart or a
// full disk mid-write must not leave callers a cut greeting.
func (s *Service) saveGreeting(box, file string, pcm []int16, rate int) error {
	var buf bytes.Buffer
	if err := wav.Write(&buf, rate, 1, pcm); err != nil {
		return fmt.Errorf("encode %s of %s: %w", file, box, err)
	}
	dir := s.boxDir(box)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	tmp, err := os.CreateTemp(dir, ".take-*")
	if err != nil {
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, file)); err != nil {
		return fmt.Errorf("save %s of %s: %w", file, box, err)
	}
	return nil
}

// changePIN asks the new PIN twice and stores it in the configuration.
func (s *Service) changePIN(ctx context.Context, leg call.Leg, b Box, lang string, rate int) error {
	m := leg.Media()
	if s.PINs == nil {
		return s.playAll(ctx, m, lang, rate, "vm-pin-mismatch")
	}
	first, err := s.ask(ctx, leg, lang, rate, "vm-new-pin", site.MaxMailboxPIN+1)
	if err != nil {
		return err
	}
	if len(first) < site.MinMailboxPIN || len(first) > site.MaxMailboxPIN {
		return s.playAll(ctx, m, lang, rate, "vm-pin-mismatch")
	}
	again, err := s.ask(ctx, leg, lang, rate, "vm-repeat-pin", site.MaxMailboxPIN+1)
	if err != nil {
		return err
	}
	if again != first {
		return s.playAll(ctx, m, lang, rate, "vm-pin-mismatch")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.PINs.SetMailboxPIN(sctx, b.ID, first, "phone:"+b.ID); err != nil {
		s.logger().Error("mailbox PIN not changed", "box", b.ID, "err", err)
		return s.playAll(ctx, m, lang, rate, "vm-pin-mismatch")
	}
	s.logger().Info("mailbox PIN changed by phone", "box", b.ID)
	return s.playAll(ctx, m, lang, rate, "vm-pin-changed")
}
