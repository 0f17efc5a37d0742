-- 0011: call park (issue 14 part 2): the site's park slots (a range such
-- as 701-709, '' for the default) and how long a call stays parked.
ALTER TABLE system ADD COLUMN park_slots TEXT NOT NULL DEFAULT '';
ALTER TABLE system ADD COLUMN park_timeout_ns INTEGER NOT NULL DEFAULT 0;
-- The pickup group of an extension ('' : the group of all without one).
ALTER TABLE extensions ADD COLUMN pickup_group TEXT NOT NULL DEFAULT '';
