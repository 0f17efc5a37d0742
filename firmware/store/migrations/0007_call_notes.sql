-- 0007: agents' notes on calls, shown in the caller's history when the
-- same number calls again (the agent page's screen pop).
--
-- call_id is the CDR's call id; a note may be written while the call still
-- rings or talks, before its CDR exists, so there is no foreign key.
-- Append-only like the CDR: a note is corrected by writing another.
CREATE TABLE call_notes (
	id         INTEGER PRIMARY KEY,
	call_id    TEXT NOT NULL,
	caller     TEXT NOT NULL, -- the calling number, so history finds notes of calls without a CDR yet
	author     TEXT NOT NULL, -- web login
	agent      TEXT NOT NULL, -- the author's agent id, "" for users bound to none
	text       TEXT NOT NULL,
	time_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX call_notes_call ON call_notes (call_id);
CREATE INDEX call_notes_caller ON call_notes (caller, time_ms);
CREATE TRIGGER call_notes_no_update BEFORE UPDATE ON call_notes
BEGIN SELECT RAISE(ABORT, 'call_notes is append-only'); END;
CREATE TRIGGER call_notes_no_delete BEFORE DELETE ON call_notes
BEGIN SELECT RAISE(ABORT, 'call_notes is append-only'); END;
