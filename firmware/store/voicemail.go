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
