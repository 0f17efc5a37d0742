-- 0008: the box's hardware in the site file: which queue LED shows which
-- queue, call waiting on analog phones, and the FXO silence disconnect.
ALTER TABLE queues ADD COLUMN led INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN call_waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trunks ADD COLUMN silence_timeout_ns INTEGER NOT NULL DEFAULT 0;
