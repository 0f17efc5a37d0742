-- 0015: issue 14's SIP and conference settings get columns of their own.
-- A trunk's reliable provisional responses mode (trunks[].prack:
-- supported | required | off; '' for the default).
ALTER TABLE trunks ADD COLUMN prack TEXT NOT NULL DEFAULT '';
-- Meet-me rooms (conferences:). No foreign keys: destinations name rooms
-- by id in text, as they name every other kind.
CREATE TABLE conferences (
	id          TEXT PRIMARY KEY,
	pos         INTEGER NOT NULL,
	number      TEXT NOT NULL,
	pin         TEXT NOT NULL,
	max_members INTEGER NOT NULL,
	announce    TEXT NOT NULL,
	mute_key    TEXT NOT NULL
) STRICT;
