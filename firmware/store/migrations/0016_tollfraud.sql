-- 0016: toll fraud (issue 15 part 2): limits on outside calls per
-- extension and per trunk (0: the default), the schedule international
-- calls are allowed in and where alerts are mailed, and the routes that
-- let * and # through to the trunk.
ALTER TABLE extensions ADD COLUMN max_outside_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE extensions ADD COLUMN outside_calls_per_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trunks ADD COLUMN max_outbound_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trunks ADD COLUMN outbound_per_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system ADD COLUMN international_hours TEXT NOT NULL DEFAULT '';
ALTER TABLE system ADD COLUMN alert_email TEXT NOT NULL DEFAULT '';
ALTER TABLE outbound_routes ADD COLUMN allow_symbols INTEGER NOT NULL DEFAULT 0;
