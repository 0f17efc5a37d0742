-- 0012: voicemail the way people use it (issue 14 part 10).
-- The PIN of an extension's own mailbox ('' : none, the box is reached by
-- *97 from the extension only), and whether *97 asks it from the owner's
-- own phone too.
ALTER TABLE extensions ADD COLUMN voicemail_pin TEXT NOT NULL DEFAULT '';
ALTER TABLE system ADD COLUMN voicemail_pin_required INTEGER NOT NULL DEFAULT 0 CHECK (voicemail_pin_required IN (0, 1));

-- The e-mail outbox: one row per message to e-mail, kept until it is sent
-- or given up on, so that delivery survives a relay being down and the box
-- restarting. The audio stays in the message's WAV file; a row that
-- outlives its message (deleted by its owner) is given up on.
CREATE TABLE voicemail_outbox (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL,
	box          TEXT NOT NULL,
	box_name     TEXT NOT NULL,
	recipient    TEXT NOT NULL,
	caller       TEXT NOT NULL,
	caller_name  TEXT NOT NULL,
	call_id      TEXT NOT NULL,
	time_ms      INTEGER NOT NULL,
	duration_ns  INTEGER NOT NULL,
	file         TEXT NOT NULL, -- relative to the data directory
	state        TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_ms      INTEGER NOT NULL, -- when the next try is due (pending)
	last_error   TEXT NOT NULL DEFAULT '',
	created_ms   INTEGER NOT NULL,
	done_ms      INTEGER NOT NULL DEFAULT 0 -- when sent or given up
) STRICT;
CREATE INDEX voicemail_outbox_due ON voicemail_outbox (state, next_ms);
