package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// VoicemailMessage is one message left in a mailbox.
type VoicemailMessage struct {
	ID         int64
	Box        string
	Time       time.Time
	Caller     string
	CallerName string
	Duration   time.Duration
	File       string // the WAV file, relative to the data directory
	Heard      bool   // heard messages are "old"
	CallID     string
}

// InsertVoicemail stores a new (unheard) message and returns its id.
func (s *Store) InsertVoicemail(ctx context.Context, m VoicemailMessage) (int64, error) {
	if m.Time.IsZero() {
		m.Time = s.now()
	}
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO voicemail_messages
		(box, time_ms, caller, caller_name, duration_ns, file, heard, call_id)
		VALUES (?,?,?,?,?,?,?,?) RETURNING id`,
		m.Box, m.Time.UnixMilli(), m.Caller, m.CallerName, int64(m.Duration), m.File, b2i(m.Heard), m.CallID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: insert voicemail for %s into %s: %w", m.Box, s.path, err)
	}
	return id, nil
}

// ListVoicemail returns the messages of box, new ones first, each group
// oldest first (the order a caller listens in).
func (s *Store) ListVoicemail(ctx context.Context, box string) ([]VoicemailMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, box, time_ms, caller, caller_name, duration_ns, file, heard, call_id
		FROM voicemail_messages WHERE box = ? ORDER BY heard, time_ms, id`, box)
	if err != nil {
		return nil, fmt.Errorf("store: list voicemail of %s: %w", box, err)
	}
	defer rows.Close()
	var out []VoicemailMessage
	for rows.Next() {
		var m VoicemailMessage
		var t, d int64
		var heard int
		if err := rows.Scan(&m.ID, &m.Box, &t, &m.Caller, &m.CallerName, &d, &m.File, &heard, &m.CallID); err != nil {
			return nil, fmt.Errorf("store: list voicemail of %s: %w", box, err)
		}
		m.Time, m.Duration, m.Heard = time.UnixMilli(t), time.Duration(d), heard == 1
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list voicemail of %s: %w", box, err)
	}
	return out, nil
}

// MarkVoicemailHeard moves a message to the old ones.
func (s *Store) MarkVoicemailHeard(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE voicemail_messages SET heard = 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: mark voicemail %d heard: %w", id, err)
	}
	return nil
}

// DeleteVoicemail removes a message's row; the caller removes its file.
func (s *Store) DeleteVoicemail(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM voicemail_messages WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete voicemail %d: %w", id, err)
	}
	return nil
}

// CountVoicemail returns the numbers of new and old messages in box.
func (s *Store) CountVoicemail(ctx context.Context, box string) (newMsgs, oldMsgs int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT coalesce(sum(heard = 0), 0), coalesce(sum(heard = 1), 0)
		FROM voicemail_messages WHERE box = ?`, box).Scan(&newMsgs, &oldMsgs)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count voicemail of %s: %w", box, err)
	}
	return newMsgs, oldMsgs, nil
}

// VoicemailByID returns message id, or ErrNotFound.
func (s *Store) VoicemailByID(ctx context.Context, id int64) (VoicemailMessage, error) {
	var m VoicemailMessage
	var t, d int64
	var heard int
	err := s.r.QueryRowContext(ctx, `SELECT id, box, time_ms, caller, caller_name, duration_ns, file, heard, call_id
		FROM voicemail_messages WHERE id = ?`, id).Scan(&m.ID, &m.Box, &t, &m.Caller, &m.CallerName, &d, &m.File, &heard, &m.CallID)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("store: voicemail %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("store: voicemail %d: %w", id, err)
	}
	m.Time, m.Duration, m.Heard = time.UnixMilli(t), time.Duration(d), heard == 1
	return m, nil
}

// Outbox states of a voicemail e-mail.
const (
	MailPending = "pending" // to be sent at Next
	MailSent    = "sent"
	MailFailed  = "failed" // given up on; a retry puts it back to pending
)

// VoicemailMail is a message to e-mail, in the outbox: what the e-mail
// says and where the audio is, and how delivery went. It holds no relay
// credentials: the relay is read from the site when a try is made.
type VoicemailMail struct {
	ID         int64
	MessageID  int64
	Box        string
	BoxName    string
	To         string
	Caller     string
	CallerName string
	CallID     string
	Time       time.Time
	Duration   time.Duration
	File       string // the message's WAV file, relative to the data directory
	State      string // MailPending, MailSent or MailFailed
	Attempts   int
	Next       time.Time // the next try (pending)
	LastError  string
	Created    time.Time // queued, or retried by hand: the 48 h before giving up count from it
	Done       time.Time // sent or given up; zero while pending
}

const mailCols = `id, message_id, box, box_name, recipient, caller, caller_name, call_id, time_ms, duration_ns, file,
	state, attempts, next_ms, last_error, created_ms, done_ms`

func scanMail(r interface{ Scan(...any) error }) (VoicemailMail, error) {
	var m VoicemailMail
	var t, d, next, created, done int64
	err := r.Scan(&m.ID, &m.MessageID, &m.Box, &m.BoxName, &m.To, &m.Caller, &m.CallerName, &m.CallID, &t, &d, &m.File,
		&m.State, &m.Attempts, &next, &m.LastError, &created, &done)
	m.Time, m.Duration, m.Next, m.Created = time.UnixMilli(t), time.Duration(d), time.UnixMilli(next), time.UnixMilli(created)
	if done != 0 {
		m.Done = time.UnixMilli(done)
	}
	return m, err
}

// EnqueueVoicemailMail adds a pending e-mail, due at m.Next (now when
// zero), and returns its id.
func (s *Store) EnqueueVoicemailMail(ctx context.Context, m VoicemailMail) (int64, error) {
	now := s.now()
	if m.Next.IsZero() {
		m.Next = now
	}
	if m.Created.IsZero() {
		m.Created = now
	}
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO voicemail_outbox (message_id, box, box_name, recipient, caller, caller_name,
		call_id, time_ms, duration_ns, file, state, attempts, next_ms, last_error, created_ms)
		VALUES (?,?,?,?,?,?,?,?,?,?,'pending',0,?,'',?) RETURNING id`,
		m.MessageID, m.Box, m.BoxName, m.To, m.Caller, m.CallerName, m.CallID, m.Time.UnixMilli(), int64(m.Duration), m.File,
		m.Next.UnixMilli(), m.Created.UnixMilli()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: queue voicemail e-mail for %s: %w", m.Box, err)
	}
	return id, nil
}

// DueVoicemailMail returns up to limit pending e-mails due at or before
// now, the most overdue first.
func (s *Store) DueVoicemailMail(ctx context.Context, now time.Time, limit int) ([]VoicemailMail, error) {
	return s.listMail(ctx, "due voicemail e-mail", `SELECT `+mailCols+` FROM voicemail_outbox
		WHERE state = 'pending' AND next_ms <= ? ORDER BY next_ms, id LIMIT ?`, now.UnixMilli(), limit)
}

// NextVoicemailMailDue returns when the next pending e-mail is due; ok is
// false when none is pending.
func (s *Store) NextVoicemailMailDue(ctx context.Context) (next time.Time, ok bool, err error) {
	var ms sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(next_ms) FROM voicemail_outbox WHERE state = 'pending'`).Scan(&ms); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next voicemail e-mail: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// ListVoicemailOutbox returns the outbox, newest first, at most limit rows.
func (s *Store) ListVoicemailOutbox(ctx context.Context, limit int) ([]VoicemailMail, error) {
	return s.listMail(ctx, "list voicemail outbox", `SELECT `+mailCols+` FROM voicemail_outbox ORDER BY id DESC LIMIT ?`, limit)
}

func (s *Store) listMail(ctx context.Context, what, query string, args ...any) ([]VoicemailMail, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []VoicemailMail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// VoicemailMailTried records a try of e-mail id: state is MailSent,
// MailFailed (given up) or MailPending (next is the next try); errText is
// the try's error ("" when sent).
func (s *Store) VoicemailMailTried(ctx context.Context, id int64, state string, attempts int, next time.Time, errText string) error {
	done := int64(0)
	if state != MailPending {
		done = s.now().UnixMilli()
	}
	res, err := s.w.ExecContext(ctx, `UPDATE voicemail_outbox SET state = ?, attempts = ?, next_ms = ?, last_error = ?, done_ms = ?
		WHERE id = ?`, state, attempts, next.UnixMilli(), errText, done, id)
	if err != nil {
		return fmt.Errorf("store: voicemail e-mail %d %s: %w", id, state, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: voicemail e-mail %d: %w", id, ErrNotFound)
	}
	return nil
}

// RetryVoicemailMail puts e-mail id back to pending, due now, keeping its
// attempts and last error: the operator's "try again" after the relay was
// fixed. A sent e-mail is not sent twice (ErrNotFound).
func (s *Store) RetryVoicemailMail(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE voicemail_outbox SET state = 'pending', next_ms = ?, created_ms = ?, done_ms = 0
		WHERE id = ? AND state != 'sent'`, s.now().UnixMilli(), s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: retry voicemail e-mail %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: retry voicemail e-mail %d (none pending or failed): %w", id, ErrNotFound)
	}
	return nil
}

// SetMailboxPIN changes the PIN of mailbox box (a group box's pin, or the
// voicemail_pin of the extension whose box it is) in the configuration, as
// its owner does by phone: a new configuration version by actor, so that
// an export with secrets gives the new PIN back and the history shows who
// changed it (the PIN itself masked). A change applied concurrently is
// kept: the edit is made again on top of it.
func (s *Store) SetMailboxPIN(ctx context.Context, box, pin, actor string) error {
	for range 5 {
		base, err := s.ConfigVersion(ctx)
		if err != nil {
			return fmt.Errorf("store: set PIN of mailbox %s: %w", box, err)
		}
		st, err := s.ExportSite(ctx)
		if err != nil {
			return fmt.Errorf("store: set PIN of mailbox %s: %w", box, err)
		}
		found := false
		for i := range st.Voicemail {
			if st.Voicemail[i].Box == box {
				st.Voicemail[i].PIN, found = pin, true
			}
		}
		for i := range st.Extensions {
			if x := &st.Extensions[i]; x.Number == box && x.Voicemail && !found {
				x.VoicemailPIN, found = pin, true
			}
		}
		if !found {
			return fmt.Errorf("store: set PIN of mailbox %s: %w", box, ErrNotFound)
		}
		_, err = s.ImportSiteWith(ctx, st, actor, ImportOptions{Base: base, Action: "voicemail.pin"})
		if errors.Is(err, ErrStale) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: set PIN of mailbox %s: %w", box, err)
		}
		return nil
	}
	return fmt.Errorf("store: set PIN of mailbox %s: %w", box, ErrStale)
}
