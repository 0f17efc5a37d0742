-- 0013: the mobile as an office phone and queues per agent (issue 14
-- parts 5 and 6): an extension's listed mobile and DISA PIN (a secret), the
-- DISA rate limit, a queue's dialable number, and the queues a logged-in
-- agent logged out of alone (JSON list), so that a restart keeps them.
ALTER TABLE extensions ADD COLUMN mobile TEXT NOT NULL DEFAULT '';
ALTER TABLE extensions ADD COLUMN disa_pin TEXT NOT NULL DEFAULT '';
ALTER TABLE system ADD COLUMN disa_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN disa_window_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN number TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_status ADD COLUMN out_of TEXT NOT NULL DEFAULT '[]';
