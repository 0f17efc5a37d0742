-- 0018: a call in progress keeps the trunk and the number it was sent to
-- once an outside leg answers (an outbound call, a forward to a mobile),
-- so that the CDR a restart writes for it names them as a finished call's
-- does (cdr.trunk, cdr.number_sent).
ALTER TABLE calls_in_progress ADD COLUMN number_sent TEXT NOT NULL DEFAULT '';
