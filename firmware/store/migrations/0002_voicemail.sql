-- 0002: voicemail messages. The audio is a WAV file under the data
-- directory (voicemail/BOX/); a row says who left it and whether it was heard.

CREATE TABLE voicemail_messages (
	id          INTEGER PRIMARY KEY,
	box         TEXT NOT NULL,
	time_ms     INTEGER NOT NULL,
	caller      TEXT NOT NULL,
	caller_name TEXT NOT NULL,
	duration_ns INTEGER NOT NULL,
	file        TEXT NOT NULL, -- relative to the data directory
	heard       INTEGER NOT NULL DEFAULT 0 CHECK (heard IN (0, 1)),
	call_id     TEXT NOT NULL
) STRICT;
CREATE INDEX voicemail_messages_box ON voicemail_messages (box, time_ms);
