-- Manual schedule overrides (the *28 feature code and the API) survive a
-- restart: one row per overridden schedule, removed when cleared or when
-- the schedule changes state by itself.
CREATE TABLE schedule_overrides (
	schedule TEXT PRIMARY KEY,
	open     INTEGER NOT NULL,
	until_ms INTEGER,          -- NULL: until cleared
	set_ms   INTEGER NOT NULL,
	set_by   TEXT NOT NULL DEFAULT ''
) STRICT;
