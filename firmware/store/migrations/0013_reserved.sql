-- 0013: reserved for another branch of issue 14 (the skills branch needs
-- the numbers without a gap); replaced by that branch's 0013 when merged.
SELECT 1;
