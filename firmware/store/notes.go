package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ringbox/firmware/cdr"
)

// MaxNoteLen is the longest note, in characters: a note is a few lines an
// agent types after a call, not a document.
const MaxNoteLen = 2000

// Errors of InsertNote.
var (
	ErrNoteEmpty   = errors.New("store: the note is empty")
	ErrNoteTooLong = fmt.Errorf("store: the note is longer than %d characters", MaxNoteLen)
)

// Note is an agent's note on a call.
type Note struct {
	ID     int64     `json:"id"`
	CallID string    `json:"call_id"`
	Caller string    `json:"caller"`
	Author string    `json:"author"` // web login
	Agent  string    `json:"agent,omitempty"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time"`
}

// CleanNote trims text and checks it: not empty, valid UTF-8 (invalid
// bytes are replaced), at most MaxNoteLen characters.
func CleanNote(text string) (string, error) {
	// A NUL has no business in a note and some viewers stop at it.
	text = strings.ReplaceAll(text, "\x00", "")
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	switch {
	case text == "":
		return "", ErrNoteEmpty
	case utf8.RuneCountInString(text) > MaxNoteLen:
		return "", ErrNoteTooLong
	}
	return text, nil
}

// InsertNote appends a note (Time zero: now) and returns it as stored.
func (s *Store) InsertNote(ctx context.Context, n Note) (Note, error) {
	text, err := CleanNote(n.Text)
	if err != nil {
		return Note{}, err
	}
	if n.CallID == "" {
		return Note{}, errors.New("store: a note needs a call id")
	}
	n.Text = text
	if n.Time.IsZero() {
		n.Time = s.now()
	}
	n.Time = n.Time.UTC().Truncate(time.Millisecond)
	res, err := s.w.ExecContext(ctx, `INSERT INTO call_notes (call_id, caller, author, agent, text, time_ms) VALUES (?,?,?,?,?,?)`,
		n.CallID, n.Caller, n.Author, n.Agent, n.Text, n.Time.UnixMilli())
	if err != nil {
		return Note{}, fmt.Errorf("store: insert note on %s into %s: %w", n.CallID, s.path, err)
	}
	n.ID, _ = res.LastInsertId()
	return n, nil
}

// ListNotes returns the notes on the calls, oldest first, by call id.
func (s *Store) ListNotes(ctx context.Context, callIDs ...string) (map[string][]Note, error) {
	out := map[string][]Note{}
	if len(callIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(callIDs))
	for i, id := range callIDs {
		args[i] = id
	}
	q := `SELECT id, call_id, caller, author, agent, text, time_ms FROM call_notes WHERE call_id IN (` +
		strings.TrimSuffix(strings.Repeat("?,", len(callIDs)), ",") + `) ORDER BY time_ms, id`
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		n, err := scanNote(rows)
		if err != nil {
			return err
		}
		out[n.CallID] = append(out[n.CallID], n)
		return nil
	}, args...)
	if err != nil {
		return nil, s.errf("list notes", err)
	}
	return out, nil
}

func scanNote(rows *sql.Rows) (Note, error) {
	var n Note
	var t int64
	if err := rows.Scan(&n.ID, &n.CallID, &n.Caller, &n.Author, &n.Agent, &n.Text, &t); err != nil {
		return n, err
	}
	n.Time = time.UnixMilli(t).UTC()
	return n, nil
}

// CallerCall is one earlier call of a caller, with its notes.
type CallerCall struct {
	CallID     string    `json:"call_id"`
	Time       time.Time `json:"time"`
	CallerName string    `json:"caller_name,omitempty"`
	Callee     string    `json:"callee"`          // what was dialled
	Path       []string  `json:"path"`            // where it went
	Agent      string    `json:"agent,omitempty"` // who answered
	AnsweredBy string    `json:"answered_by,omitempty"`
	Outcome    string    `json:"outcome"` // answered | missed | voicemail
	Cause      string    `json:"cause"`
	Seconds    int       `json:"talk_seconds"`
	Notes      []Note    `json:"notes"`
}

// MaxHistory is how many earlier calls CallerHistory returns at most.
const MaxHistory = 20

// CallerHistory returns the calls from number, newest first (at most
// limit, 0 or more than MaxHistory: MaxHistory), each with its notes.
func (s *Store) CallerHistory(ctx context.Context, number string, limit int) ([]CallerCall, error) {
	if limit <= 0 || limit > MaxHistory {
		limit = MaxHistory
	}
	var recs []cdr.Record
	q := `SELECT call_id, caller_name, callee, path, start_ms, answer_ms, billable_ms, cause, agent, answered_by
		FROM cdr WHERE caller = ? ORDER BY start_ms DESC, id DESC LIMIT ?`
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var r cdr.Record
		var path string
		var start, billable int64
		var answer sql.NullInt64
		if err := rows.Scan(&r.CallID, &r.CallerName, &r.Callee, &path, &start, &answer, &billable, &r.Cause, &r.Agent, &r.AnsweredBy); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(path), &r.Path); err != nil {
			return fmt.Errorf("cdr %s: path: %w", r.CallID, err)
		}
		r.Start = time.UnixMilli(start).UTC()
		r.Answer = fromMS(answer)
		r.Billable = time.Duration(billable) * time.Millisecond
		recs = append(recs, r)
		return nil
	}, number, limit)
	if err != nil {
		return nil, s.errf("caller history", err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.CallID
	}
	notes, err := s.ListNotes(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]CallerCall, 0, len(recs))
	for _, r := range recs {
		if r.Path == nil {
			r.Path = []string{}
		}
		c := CallerCall{CallID: r.CallID, Time: r.Start, CallerName: r.CallerName, Callee: r.Callee, Path: r.Path,
			Agent: r.Agent, AnsweredBy: r.AnsweredBy, Cause: r.Cause, Seconds: int(r.Billable / time.Second), Notes: notes[r.CallID]}
		switch {
		case r.AnsweredBy != "":
			c.Outcome = "answered"
		case len(r.Path) > 0 && strings.HasPrefix(r.Path[len(r.Path)-1], "voicemail:"):
			c.Outcome = "voicemail"
		default:
			c.Outcome = "missed"
		}
		if c.Notes == nil {
			c.Notes = []Note{}
		}
		out = append(out, c)
	}
	return out, nil
}

// AnsweredFrom reports whether agent answered a call from number (the
// agent may read that caller's history), and whether agent answered call
// callID when it is not "".
func (s *Store) AnsweredFrom(ctx context.Context, agent, number, callID string) (bool, error) {
	if agent == "" {
		return false, nil
	}
	q, args := `SELECT 1 FROM cdr WHERE agent = ? AND caller = ? LIMIT 1`, []any{agent, number}
	if callID != "" {
		q, args = `SELECT 1 FROM cdr WHERE agent = ? AND call_id = ? LIMIT 1`, []any{agent, callID}
	}
	var one int
	err := s.r.QueryRowContext(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.errf("answered from", err)
	}
	return true, nil
}

// CallCaller returns the calling number of call callID from its CDR.
func (s *Store) CallCaller(ctx context.Context, callID string) (string, bool, error) {
	var caller string
	err := s.r.QueryRowContext(ctx, `SELECT caller FROM cdr WHERE call_id = ? ORDER BY id LIMIT 1`, callID).Scan(&caller)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, s.errf("call caller", err)
	}
	return caller, true, nil
}
