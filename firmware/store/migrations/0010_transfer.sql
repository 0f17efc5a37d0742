-- 0010: call transfer (issue 14 part 1): the site's transfer recall time,
-- the transfers a call went through (JSON, like path), the call a call was
-- split from when its caller transferred it, and the transferrer of a leg
-- a call was transferred to.
ALTER TABLE system ADD COLUMN transfer_recall_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cdr ADD COLUMN transfers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cdr ADD COLUMN transfer_of TEXT NOT NULL DEFAULT '';
ALTER TABLE cdr_legs ADD COLUMN transfer_by TEXT NOT NULL DEFAULT '';
